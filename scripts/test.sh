#!/usr/bin/env bash
# make test: every package under -race, against the real servers.
#
# cmd/cusax/internal/cli runs the real binary against Prosody, Kamailio,
# sipp and baresip: about two thirds of the run, most of it waiting on
# servers, calls and timeouts rather than on the CPU. Run alone it kept
# `make test` near 18 minutes on 2 cores, so it runs as two shards (each
# its own `go test` process with its own test bed, -run and -skip of one
# pattern, so every test runs exactly once) beside the other packages.
# Each part's output is printed whole when it ends; the run fails if any
# part failed.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
CLI=github.com/cusax/cusax/cmd/cusax/internal/cli
# Shard A: calls, answering, the agent and baresip (about half the time).
SHARD_A='^Test(Call|Answer|Agent|Baresip)'
flags=(-race -count=1 -timeout 30m)

logs=$(mktemp -d "${TMPDIR:-/tmp}/cusax-test.XXXXXX")
trap 'rm -rf "$logs"' EXIT
others=$($GO list ./... | grep -vx "$CLI")

# shellcheck disable=SC2086 # one word a package
$GO test "${flags[@]}" $others >"$logs/packages" 2>&1 &
pids=("$!"); names=(packages)
$GO test "${flags[@]}" -run "$SHARD_A" "$CLI" >"$logs/cli-a" 2>&1 &
pids+=("$!"); names+=(cli-a)
$GO test "${flags[@]}" -skip "$SHARD_A" "$CLI" >"$logs/cli-b" 2>&1 &
pids+=("$!"); names+=(cli-b)

rc=0
for i in "${!pids[@]}"; do
	if wait "${pids[$i]}"; then
		echo "== ${names[$i]}: ok"
	else
		echo "== ${names[$i]}: FAILED"
		rc=1
	fi
	cat "$logs/${names[$i]}"
done
exit $rc
