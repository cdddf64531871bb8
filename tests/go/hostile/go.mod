module goprobe.test/hostile

go 1.19
