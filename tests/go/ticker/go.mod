module goprobe.test/ticker

go 1.19
