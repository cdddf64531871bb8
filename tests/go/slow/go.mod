module goprobe.test/slow

go 1.19
