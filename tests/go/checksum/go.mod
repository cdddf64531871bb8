module goprobe.test/checksum

go 1.19
