"""Go's profile.proto (google/pprof, Apache 2.0) and the code protoc generates from it."""
