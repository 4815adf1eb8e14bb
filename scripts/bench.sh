#!/usr/bin/env bash
# make bench: the figures the issues ask for, on this machine.
#  1. plugin launch cost: start + go-plugin handshake (AutoMTLS) + first call,
#     median ms per plugin kind (BenchmarkPluginLaunch)
#  2. call set-up (first INVITE to 200) of `cusax call --duration 0` vs sipp's
#     own UAC, alternating, N calls each to the same sipp UAS through the bed's
#     Kamailio, plus cusax's whole-command wall time and where it goes
#     (BenchmarkCallSetupVsSipp; it starts its own test bed)
#  3. `cusax whois-caller --message FILE --json` on a 1,000-contact roster
#     with vCards: hint path and scan path, cold and warm vCard cache, median
#     wall ms and elapsed_ms, vCards fetched on cold runs
#     (BenchmarkWhoisCaller1000; it starts its own test bed)
#  4. wall time of `cusax login` (SIP register + XMPP login + logout, plugins
#     included) against the real test bed, median of N runs
#  5. the same login set up by the provider instead (WebFinger + fetch of the
#     provisioning document from the bed's portal, then the login), and
#     `cusax login --refresh` of an unchanged document, median of N runs
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
BIN=${BIN:-bin}

echo "== plugin launch (go test -bench PluginLaunch -benchtime ${N}x)"
go test -run '^$' -bench PluginLaunch -benchtime "${N}x" ./cmd/cusax/internal/builtin | grep -E 'Benchmark|median'

echo "== call set-up vs sipp UAC (go test -bench CallSetupVsSipp -benchtime ${N}x)"
# -v keeps the phase table whole; go test runs the benchmark with b.N=1
# before b.N=N, so only the last table and the result line are shown.
go test -run '^$' -bench CallSetupVsSipp -benchtime "${N}x" -v ./cmd/cusax/internal/cli |
	awk '/phases, ms/ { table = "" } /phases, ms/, /setup_ms/ { table = table $0 "\n" }
		/UAS counted/ { uas = $0 } /^Benchmark.*ns\/op/ { result = $0 }
		END { printf "%s", table; if (uas) print uas; print result }'

echo "== whois-caller, 1,000 contacts (go test -bench WhoisCaller1000 -benchtime ${N}x)"
go test -run '^$' -bench WhoisCaller1000 -benchtime "${N}x" ./cmd/cusax/internal/cli | grep -E '^Benchmark'

make -s build
go build -o "$BIN/cusax-testbed" ./internal/testbed/cmd/cusax-testbed
dir=$(mktemp -d /tmp/cusax-bench.XXXXXX); chmod 755 "$dir"
"$BIN/cusax-testbed" up --dir "$dir/bed" 2>/dev/null &
bed=$!
trap 'kill $bed 2>/dev/null; wait $bed 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 300); do [[ -f $dir/bed/bed.env ]] && break; sleep 0.1; done
set -a; . "$dir/bed/bed.env"; set +a
export CUSAX_CONFIG=$dir/config.toml CUSAX_SECRETS=file

echo "== cusax login wall time, $N runs (TLS on both aspects)"
times=()
for i in $(seq 1 "$N"); do
	start=$(date +%s%N)
	printf '%s\n' "$CUSAX_BED_ALICE_PASSWORD" | "$BIN/cusax" login --name bench \
		--jid "$CUSAX_BED_ALICE_JID" --xmpp-server "$CUSAX_BED_XMPP_ADDR" \
		--aor "sip:alice@$CUSAX_BED_SIP_DOMAIN" --sip-proxy "sip:$CUSAX_BED_SIP_TLS_ADDR;transport=tls" \
		--ca-file "$CUSAX_BED_CA" --password-stdin --json >/dev/null 2>&1
	times+=($(( ($(date +%s%N) - start) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(( (N + 1) / 2 ))p")
p90=$(echo "$sorted" | sed -n "$(( (N * 9 + 9) / 10 ))p")
echo "login wall ms: median $median, p90 $p90, min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"

# summary NAME TIMES…: median, p90, min and max of wall times in ms.
summary() {
	local name=$1; shift
	local sorted n
	sorted=$(printf '%s\n' "$@" | sort -n); n=$#
	echo "$name wall ms: median $(echo "$sorted" | sed -n "$(( (n + 1) / 2 ))p"), p90 $(echo "$sorted" | sed -n "$(( (n * 9 + 9) / 10 ))p"), min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"
}

echo "== provisioned login (WebFinger + document + login) and unchanged --refresh, $N runs each"
prov=() refresh=()
for i in $(seq 1 "$N"); do
	rm -f "$CUSAX_CONFIG" "$(dirname "$CUSAX_CONFIG")/secrets.toml"
	start=$(date +%s%N)
	printf '%s\n' "$CUSAX_BED_ALICE_PASSWORD" | "$BIN/cusax" login --name prov \
		--discover "$CUSAX_BED_ALICE_JID" --webfinger-addr "$CUSAX_BED_PORTAL_ADDR" \
		--ca-file "$CUSAX_BED_CA" --password-stdin --json >/dev/null 2>&1
	prov+=($(( ($(date +%s%N) - start) / 1000000 )))
	start=$(date +%s%N)
	"$BIN/cusax" login --name prov --refresh >/dev/null 2>&1
	refresh+=($(( ($(date +%s%N) - start) / 1000000 )))
done
summary "provisioned login" "${prov[@]}"
summary "refresh, unchanged" "${refresh[@]}"
