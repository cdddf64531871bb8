module goprobe.test/inline

go 1.19
