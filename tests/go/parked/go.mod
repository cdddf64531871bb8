module goprobe.test/parked

go 1.19
