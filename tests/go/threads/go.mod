module goprobe.test/threads

go 1.19
