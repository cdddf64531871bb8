module goprobe.test/spawn

go 1.19
