module goprobe.test/goref

go 1.19
