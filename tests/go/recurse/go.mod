module goprobe.test/recurse

go 1.19
