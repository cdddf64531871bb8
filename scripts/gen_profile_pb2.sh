#!/bin/sh
# Regenerate goprobe_tui/events/formats/pprof_proto/profile_pb2.py from profile.proto (Go's,
# from github.com/google/pprof/proto) with protoc as PyPI's grpcio-tools ships it. Run when the
# .proto or the protobuf runtime's major version changes; the output is committed.
set -e
venv=$(mktemp -d)
python3 -m venv "$venv"
"$venv/bin/pip" install -q grpcio-tools==1.85.1
cd "$(dirname "$0")/../goprobe_tui/events/formats/pprof_proto"
"$venv/bin/python" -m grpc_tools.protoc -I. --python_out=. profile.proto
rm -rf "$venv"
