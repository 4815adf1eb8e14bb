#!/usr/bin/env bash
# make bench-agent: issue 17's must-show. Builds cusax (release flags, as
# make build), starts the real test bed, logs in three accounts, starts
# `cusax agent run`, then times one message, whole process, alternating run
# by run, N runs each:
#   cusax chat bob hi              (through the agent's live session)
#   cusax --no-agent chat bob hi   (plugin start, login, send, logout)
#   cusax version                  (the start-up floor: a process that does nothing)
#   go-sendxmpp                    (the same message, the bed's CA)
# and prints median, p90, min and max (ms), then the agent's RSS (agent +
# plugin processes) with the three accounts logged in. Figures, not
# assertions: docs/benchmarks.md keeps the last ones.
#
#   make bench-agent          # N=31
#   make bench-agent N=15
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-31}
(( N >= 15 )) || { echo "N must be at least 15" >&2; exit 2; }
go test -run '^$' -bench ChatViaAgent -benchtime "${N}x" -timeout 15m ./cmd/cusax/internal/cli |
	grep -E '^(==|  |cusax|go-sendxmpp|Benchmark)' | grep -v '^Benchmark.*-[0-9]*$' || true
