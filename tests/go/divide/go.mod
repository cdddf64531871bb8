module goprobe.test/divide

go 1.19
