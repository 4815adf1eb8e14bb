#!/usr/bin/env bash
# make bench-answer: the load figures of `cusax answer` (issue 15), on this
# machine. Runs TestAnswerLoad (cmd/cusax/internal/cli; it starts its own
# test bed: Kamailio, Prosody, sipp) RUNS times, without -race so that the
# test's RTP receiver timestamps packets as promptly as it can, and prints
# its BENCH lines:
#  - outcomes: 50 calls from sipp at 2 calls/s to `cusax answer --json
#    --concurrency 4 --max-calls 50 --play 3s-greeting`: answered / 486
#  - INVITE→200 (the authenticated INVITE, after Kamailio's 407) median,
#    p99 and max as sipp measured them (-trace_rtt, ms resolution)
#  - RFC 3550 §6.4.1 interarrival jitter of the RTP cusax sent, computed by
#    the receiver the offers name as their media address: median and max
#    over the calls of each stream's final J
# The test asserts only correctness (every call answered or 486, matched by
# Call-ID with the JSON lines); the figures are for docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1}
for i in $(seq "$RUNS"); do
	echo "== TestAnswerLoad run $i/$RUNS ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg))"
	out=$(CI=${CI:-true} go test -count=1 -timeout 5m -run '^TestAnswerLoad$' -v ./cmd/cusax/internal/cli 2>&1) || {
		printf '%s\n' "$out" | tail -40
		exit 1
	}
	printf '%s\n' "$out" | grep -o 'BENCH answer-load.*' | sed 's/^BENCH answer-load //'
done
