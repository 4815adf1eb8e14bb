#!/usr/bin/env bash
# make bench-startup: is this tree slower to start than BASE? Whole-process
# wall time of `cusax version` and of the one-liner `cusax chat bob hi`
# (log in, send, log out; plugins included) against the real test bed,
# the two builds alternating run by run so that load hits both alike, and
# the binary sizes. Issue 14 asks for it ("no slower").
#
#   make bench-startup                  # BASE=b48cd5f, N=15
#   make bench-startup BASE=v0.3.0 N=31
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${BASE:-b48cd5f}
N=${N:-15}

dir=$(mktemp -d /tmp/cusax-bench-startup.XXXXXX); chmod 755 "$dir"
bed=
cleanup() {
	[[ -n $bed ]] && { kill "$bed" 2>/dev/null; wait "$bed" 2>/dev/null || true; }
	git worktree remove --force "$dir/base-src" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

build() { # build SRC OUT: the release build (as make build), from SRC
	(cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$2" ./cmd/cusax)
}
echo "== building $BASE and this tree ($(git rev-parse --short HEAD)$(git diff --quiet || echo +changes))"
git worktree add --quiet --detach "$dir/base-src" "$BASE"
build "$dir/base-src" "$dir/cusax-base"
build . "$dir/cusax-head"
go build -o "$dir/cusax-testbed" ./internal/testbed/cmd/cusax-testbed

"$dir/cusax-testbed" up --dir "$dir/bed" 2>/dev/null &
bed=$!
for _ in $(seq 1 300); do [[ -f $dir/bed/bed.env ]] && break; sleep 0.1; done
set -a; . "$dir/bed/bed.env"; set +a
export CUSAX_SECRETS=file

# Each build gets its own config and secrets, made by its own login.
for b in base head; do
	mkdir -p "$dir/home-$b"
	printf '%s\n' "$CUSAX_BED_ALICE_PASSWORD" | XDG_CONFIG_HOME=$dir/home-$b XDG_DATA_HOME=$dir/home-$b/data \
		CUSAX_CONFIG=$dir/home-$b/config.toml "$dir/cusax-$b" login --name bench \
		--jid "$CUSAX_BED_ALICE_JID" --xmpp-server "$CUSAX_BED_XMPP_ADDR" --ca-file "$CUSAX_BED_CA" \
		--password-stdin >/dev/null 2>&1 || { echo "login with the $b build failed" >&2; exit 1; }
done

# wall B ARGS…: one run's wall time in ms.
wall() {
	local b=$1; shift
	local start; start=$(date +%s%N)
	XDG_CONFIG_HOME=$dir/home-$b XDG_DATA_HOME=$dir/home-$b/data CUSAX_CONFIG=$dir/home-$b/config.toml \
		"$dir/cusax-$b" "$@" >/dev/null 2>&1 || { echo "cusax-$b $* failed" >&2; exit 1; }
	echo $(( ($(date +%s%N) - start) / 1000000 ))
}
# stats TIMES…: median, p90, min, max.
stats() {
	local sorted n=$#
	sorted=$(printf '%s\n' "$@" | sort -n)
	echo "median $(echo "$sorted" | sed -n "$(( (n + 1) / 2 ))p") ms, p90 $(echo "$sorted" | sed -n "$(( (n * 9 + 9) / 10 ))p"), min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"
}

for cmd in "version" "chat $CUSAX_BED_BOB_JID hi"; do
	base=() head=()
	# shellcheck disable=SC2086 # cmd is words on purpose
	for _ in $(seq 1 "$N"); do
		base+=("$(wall base $cmd)")
		head+=("$(wall head $cmd)")
	done
	echo "== cusax ${cmd%% *}, $N runs each, alternating"
	echo "  $BASE: $(stats "${base[@]}")"
	echo "  this tree: $(stats "${head[@]}")"
done
echo "== binary size (-trimpath -s -w)"
echo "  $BASE: $(stat -c %s "$dir/cusax-base") bytes"
echo "  this tree: $(stat -c %s "$dir/cusax-head") bytes"
