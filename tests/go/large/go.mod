module goprobe.test/large

go 1.19
