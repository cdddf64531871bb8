module goprobe.test/values

go 1.19
