module goprobe.test/launched

go 1.19
