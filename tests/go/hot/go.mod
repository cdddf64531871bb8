module goprobe.test/hot

go 1.19
