#!/usr/bin/env bash
# Regenerates pkg/protocol/proto/cusax/v1/*.pb.go and
# pkg/core/agent/agentapi/*.pb.go. Installs pinned
# generators into .bin/ on first use (from the Go module proxy; no protoc).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/.bin"
mkdir -p "$BIN"
[ -x "$BIN/protoc-gen-go" ] || GOBIN="$BIN" go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
[ -x "$BIN/protoc-gen-go-grpc" ] || GOBIN="$BIN" go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
[ -x "$BIN/buf" ] || GOBIN="$BIN" go install github.com/bufbuild/buf/cmd/buf@v1.75.0
(cd pkg/protocol/proto && PATH="$BIN:$PATH" buf generate)
# The agent's control service (cusax agent; pkg/core/agent/agentapi).
(cd pkg/core/agent/agentapi && PATH="$BIN:$PATH" buf generate)
echo "generated: $(ls pkg/protocol/proto/cusax/v1/*.pb.go pkg/core/agent/agentapi/*.pb.go | tr '\n' ' ')"
