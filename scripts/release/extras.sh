#!/bin/sh
# extras.sh DIR: the files a release ships beside the binaries, generated
# from the command tree so they never drift from --help: gzipped man pages
# (DIR/man/*.1.gz) and shell completions (DIR/completions/cusax.{bash,zsh,fish}).
# Run by .goreleaser.yaml's before hook and by scripts/release/snapshot.
set -eu
out=${1:?usage: extras.sh DIR}
go=${GO:-go}
rm -rf "$out"
mkdir -p "$out/man" "$out/completions"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$go" run ./cmd/cusax/internal/gendocs "$tmp/md" "$out/man"
gzip -9n "$out"/man/*.1
CGO_ENABLED=0 "$go" build -trimpath -o "$tmp/cusax" ./cmd/cusax
for sh in bash zsh fish; do
	# No config or home is read: completion scripts are static text.
	HOME="$tmp" XDG_CONFIG_HOME="$tmp" "$tmp/cusax" completion "$sh" > "$out/completions/cusax.$sh"
done
