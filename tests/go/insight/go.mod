module goprobe.test/insight

go 1.19
