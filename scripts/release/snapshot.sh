#!/bin/sh
# snapshot.sh [OUT]: the linux/amd64 release artefacts of .goreleaser.yaml
# (archives, deb, rpm, SBOMs, checksums.txt) without goreleaser; see
# scripts/release/snapshot/main.go. VERSION sets the version.
set -eu
cd "$(dirname "$0")/../.."
exec "${GO:-go}" run ./scripts/release/snapshot -out "${1:-dist/snapshot}" ${VERSION:+-version "$VERSION"}
