#!/usr/bin/env bash
# make demo: start a throwaway Prosody (XMPP) and Kamailio (SIP) on loopback
# with their own CA, and baresip as an auto-answering SIP callee, then run the
# main cusax flow against them, saying what each step does. Everything lives in a temp dir and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}

bold() { if [[ -t 2 && -z ${NO_COLOR+x} ]]; then printf '\n\033[1m%s\033[0m\n' "$*" >&2; else printf '\n%s\n' "$*" >&2; fi; }
# run echoes a command, quoting the words a shell would split, then runs it.
run() {
	local a q words=()
	for a; do
		if [[ $a =~ ^[A-Za-z0-9@%+=:,./_-]+$ ]]; then words+=("$a"); else q=${a//"'"/"'\\''"}; words+=("'$q'"); fi
	done
	printf '$ %s\n' "${words[*]}" >&2
	"$@"
}

demo=$(mktemp -d /tmp/cusax-demo.XXXXXX)
chmod 755 "$demo"
go build -o "$BIN/cusax-testbed" ./internal/testbed/cmd/cusax-testbed

bold "Starting the test bed: Prosody and Kamailio on free loopback ports, with a CA made for this run,
   and baresip answering every call to frank"
"$BIN/cusax-testbed" up --seed-demo --callee frank --dir "$demo/bed" &
bed_pid=$!
whois_pid= answer_pid= phone_pid=
cleanup() {
	local p
	for p in $whois_pid $answer_pid $phone_pid; do kill "$p" 2>/dev/null || true; done
	kill "$bed_pid" 2>/dev/null || true
	wait "$bed_pid" 2>/dev/null || true
	rm -rf "$demo"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
	[[ -f $demo/bed/bed.env ]] && break
	kill -0 "$bed_pid" 2>/dev/null || { echo "demo: the test bed did not start" >&2; exit 1; }
	sleep 0.1
done
[[ -f $demo/bed/bed.env ]] || { echo "demo: the test bed did not start in 30 s" >&2; exit 1; }
set -a; . "$demo/bed/bed.env"; set +a

# A private config, secrets file and plugin dir for the demo user.
export CUSAX_CONFIG=$demo/home/config.toml CUSAX_SECRETS=file XDG_DATA_HOME=$demo/home/data
cusax=("$BIN/cusax")

bold "1. cusax login --discover: WebFinger (RFC 7033) on example.test finds the provider's provisioning
   document (HTTPS, certificate checked against this run's CA); from alice's address and password it sets
   up both aspects: servers, transports, the CUSAX relationship, calling over XMPP and IM over SIP off,
   Call-Info on, the cost gate (docs/provisioning.md). Then SIP registers over TLS first and XMPP logs in
   after it (RFC 7081 §2); nothing is saved unless both work"
printf '%s\n' "$CUSAX_BED_ALICE_PASSWORD" | run "${cusax[@]}" login --name demo \
	--discover "$CUSAX_BED_ALICE_JID" --webfinger-addr "$CUSAX_BED_PORTAL_ADDR" \
	--ca-file "$CUSAX_BED_CA" --password-stdin

bold "1b. cusax login --refresh: fetch the provider's document again; nothing changed, so nothing to do"
run "${cusax[@]}" login --name demo --refresh

bold "2. cusax status --check --json: the saved account, proved live again from the stored password"
run "${cusax[@]}" status --check --json | head -c 1200; echo '…'

bold "3. Security parity (RFC 7081 §7): bob's SIP over UDP while XMPP uses TLS gets a warning and the fix"
printf '%s\n' "$CUSAX_BED_BOB_PASSWORD" | run "${cusax[@]}" login --name bob-udp \
	--jid "$CUSAX_BED_BOB_JID" --xmpp-server "$CUSAX_BED_XMPP_ADDR" \
	--aor "sip:bob@$CUSAX_BED_SIP_DOMAIN" --sip-proxy "sip:$CUSAX_BED_SIP_UDP_ADDR;transport=udp" \
	--ca-file "$CUSAX_BED_CA" --password-stdin >/dev/null

bold "4. A certificate from a CA you do not trust is refused (exit 8), with a hint"
printf '%s\n' "$CUSAX_BED_ALICE_PASSWORD" | run "${cusax[@]}" login --name bad-ca \
	--jid "$CUSAX_BED_ALICE_JID" --xmpp-server "$CUSAX_BED_XMPP_ADDR" \
	--ca-file "$CUSAX_BED_OTHER_CA" --password-stdin || echo "(exit $?)" >&2

bold "5. cusax plugins: built-ins served by cusax itself, plus the example policy from a plugin dir"
mkdir -p "$XDG_DATA_HOME/cusax/plugins"
cp "$BIN/cusax-plugin-policy-example" "$XDG_DATA_HOME/cusax/plugins/"
run "${cusax[@]}" plugins

bold "6. cusax status: the accounts now configured"
run "${cusax[@]}" status

bold "7. cusax roster: alice's contacts with the calling data of their vCards (RFC 7081 §3.3, §5):
   bob has a SIP URI with TYPE=video and a reachability hint his vCard confirms; carol only a phone
   number (pstn); dave lives on another domain (inter_domain); Frank is a desk phone (baresip)"
run "${cusax[@]}" roster --account demo --json | head -c 1500; echo '…'
run "${cusax[@]}" roster --account demo

bold "8. cusax roster show bob: his full vCard"
run "${cusax[@]}" roster --account demo show bob

bold "9. cusax chat: bob listens with cusax, alice sends him a message from a one-liner"
# bob's own cusax (both aspects over TLS): he chats here and calls alice's voicemail in step 15.
export CUSAX_CONFIG_BOB=$demo/bob/config.toml
printf '%s\n' "$CUSAX_BED_BOB_PASSWORD" | CUSAX_CONFIG=$CUSAX_CONFIG_BOB "${cusax[@]}" login --name bob \
	--jid "$CUSAX_BED_BOB_JID" --xmpp-server "$CUSAX_BED_XMPP_ADDR" \
	--aor "sip:bob@$CUSAX_BED_SIP_DOMAIN" --sip-proxy "sip:$CUSAX_BED_SIP_TLS_ADDR;transport=tls" \
	--ca-file "$CUSAX_BED_CA" --password-stdin >/dev/null 2>&1
CUSAX_CONFIG=$CUSAX_CONFIG_BOB "${cusax[@]}" chat --listen --count 1 --listen-for 20s &
listener=$!
sleep 1.5
echo "the build is green" | run "${cusax[@]}" chat --account demo Bob
wait "$listener"

bold "10. A multi-user chat room (XEP-0045) and its disco#info (RFC 7081 §4)"
CUSAX_CONFIG=$CUSAX_CONFIG_BOB "${cusax[@]}" chat --room "demo@$CUSAX_BED_MUC_DOMAIN" --listen --count 1 --listen-for 20s &
listener=$!
# The room exists once bob has joined: wait for it rather than guess.
for _ in $(seq 1 50); do
	"${cusax[@]}" chat --account demo --room "demo@$CUSAX_BED_MUC_DOMAIN" --info >/dev/null 2>&1 && break
	sleep 0.2
done
run "${cusax[@]}" chat --account demo --room "demo@$CUSAX_BED_MUC_DOMAIN" --info
run "${cusax[@]}" chat --account demo --room "demo@$CUSAX_BED_MUC_DOMAIN" "hello, room"
wait "$listener"

bold "11. cusax call --dry-run: what calling Frank would do: the account the policy picks (RFC 7081 §3.4),
   the SIP URI from his vCard (§3.3) and the Call-Info header that lets him find alice for chat (RFC 6993)"
run "${cusax[@]}" call --account demo "$CUSAX_BED_CALLEE_NAME" --dry-run

bold "12. A real call through Kamailio over TLS: baresip answers; alice sends a 1 s 440 Hz tone and the
   digits 42 (RFC 4733) and records baresip's own tone; then baresip's side: the digits it received.
   Over TLS cusax calls with SRTP or not at all; this baresip does plain RTP only (it answers the SRTP
   offer 488), so the call says --media-encryption optional: cusax calls again with plain RTP and warns
   that the media went in clear (step 15 is SRTP)"
run "$BIN/cusax-testbed" tone --out "$demo/tone.wav" --freq 440 --duration 1s
run "${cusax[@]}" call --account demo "$CUSAX_BED_CALLEE_NAME" --play "$demo/tone.wav" --dtmf 42 --record "$demo/heard.wav" \
	--media-encryption optional
run "$BIN/cusax-testbed" callee --dir "$demo/bed"

bold "13. A call to a user Kamailio does not know: 404 Not Found is exit code 13 (10 busy, 11 declined,
   12 no answer), for scripts to act on"
run "${cusax[@]}" call --via demo "sip:nobody@$CUSAX_BED_SIP_DOMAIN" || echo "(exit $?)" >&2

bold "13b. A third-party policy chained after the default: the toll guard (plugins/tollguard, its own executable
   in the plugin dir) classifies the number with libphonenumber. --yes satisfies the default's cost gate
   (RFC 7081 §5), but a premium-rate number is refused all the same (exit 5); --json shows who decided what"
cp "$BIN/cusax-plugin-policy-tollguard" "$XDG_DATA_HOME/cusax/plugins/"
printf '%s\n' "$CUSAX_BED_ALICE_PASSWORD" | run "${cusax[@]}" login --name demo --policy tollguard --password-stdin >/dev/null
run "${cusax[@]}" call --via demo "tel:+49 900 1234567" --yes --dry-run --json | grep -A 20 '"cost_decision"' | head -24
run "${cusax[@]}" call --via demo "tel:+49 900 1234567" --yes || echo "(exit $?)" >&2

bold "14. cusax whois-caller --listen: who is calling, proven by alice's roster, never by the caller's word.
   A Call-Info header with purpose=impp only says which contact to look at (RFC 7081 §3.5): that
   contact's vCard must list the caller's SIP address, as anyone can write the header (RFC 6993 §4).
   alice listens and answers every call 486 Busy Here; sipp places two calls through Kamailio"
printf '$ %s whois-caller --listen --account demo --on-call busy >%s &\n' "${cusax[*]}" "$demo/whois.out" >&2
"${cusax[@]}" whois-caller --listen --account demo --on-call busy >"$demo/whois.out" 2>"$demo/whois.err" &
whois_pid=$!
# wait_for PATTERN FILE [PID ERRFILE]: until the listener (default whois-caller) has written
# a line matching PATTERN to FILE; 15 s at most, and no longer than the listener lives.
wait_for() {
	local pid=${3:-$whois_pid} err=${4:-$demo/whois.err}
	for _ in $(seq 1 150); do
		grep -q "$1" "$2" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo: $2 has no line matching '$1'" >&2
	cat "$err" >&2
	exit 1
}
wait_for 'listening for calls' "$demo/whois.err"
alice_aor="sip:alice@$CUSAX_BED_SIP_DOMAIN"

bold "14a. bob calls alice and names himself in Call-Info: his vCard lists sip:bob@$CUSAX_BED_SIP_DOMAIN, so verified"
run "$BIN/cusax-testbed" invite --dir "$demo/bed" --from bob --to "$alice_aor" \
	--header "Call-Info: <xmpp:$CUSAX_BED_BOB_JID>;purpose=impp" --expect 486
wait_for '^verified' "$demo/whois.out"

bold "14b. carol calls alice with the same header, claiming to be bob: bob's vCard does not list her
   address, so mismatch, and a warning on stderr"
run "$BIN/cusax-testbed" invite --dir "$demo/bed" --from carol --to "$alice_aor" \
	--header "Call-Info: <xmpp:$CUSAX_BED_BOB_JID>;purpose=impp" --expect 486
wait_for '^mismatch' "$demo/whois.out"

bold "14c. Ctrl-C stops the listener; what it printed: one result per call on stdout, the rest on stderr"
kill -INT "$whois_pid"
rc=0
wait "$whois_pid" || rc=$?
whois_pid=
run cat "$demo/whois.out"
run cat "$demo/whois.err" >&2
# 130: interrupted, as the exit-code table says (cusax help exit-codes).
[[ $rc == 130 ]] || { echo "demo: whois-caller exited $rc after Ctrl-C, want 130" >&2; exit 1; }

bold "15. cusax answer: alice's voicemail. alice picks up calls from verified callers (the same judging as
   whois-caller, then her policy chain), plays a 1 s greeting (660 Hz), records the caller for up to
   8 s and, after the call, tells her own address by chat (RFC 7081 §3.5: chat is the call's side
   channel), so her other devices see it. bob calls with his own cusax, leaves a 3 s message (330 Hz)
   and records what he hears. Both are over TLS: the media is SRTP, keyed by SDES in the TLS-protected
   SDP (RFC 4568), as bob's 'media:' line and alice's media_protection say"
run "$BIN/cusax-testbed" tone --out "$demo/greeting.wav" --freq 660 --duration 1s
run "$BIN/cusax-testbed" tone --out "$demo/message.wav" --freq 330 --duration 3s
mkdir -p "$demo/vm"
# alice's phone: another session of hers (its own resource) waits for the notification.
printf '$ %s chat --account demo --listen --count 1 --listen-for 30s >%s &\n' "${cusax[*]}" "$demo/phone.out" >&2
"${cusax[@]}" chat --account demo --listen --count 1 --listen-for 30s >"$demo/phone.out" 2>"$demo/phone.err" &
phone_pid=$!
printf '$ %s answer --account demo --max-calls 1 --play %s --duration 8s --record %s --notify %s --json >%s &\n' \
	"${cusax[*]}" "$demo/greeting.wav" "'$demo/vm/{time}-{caller}.wav'" "$CUSAX_BED_ALICE_JID" "$demo/answer.out" >&2
"${cusax[@]}" answer --account demo --max-calls 1 --play "$demo/greeting.wav" --duration 8s \
	--record "$demo/vm/{time}-{caller}.wav" --notify "$CUSAX_BED_ALICE_JID" --json \
	>"$demo/answer.out" 2>"$demo/answer.err" &
answer_pid=$!
wait_for 'answering calls' "$demo/answer.err" "$answer_pid" "$demo/answer.err"
CUSAX_CONFIG=$CUSAX_CONFIG_BOB run "${cusax[@]}" call --account bob "sip:alice@$CUSAX_BED_SIP_DOMAIN" \
	--play "$demo/message.wav" --record "$demo/bob-heard.wav" --ring-timeout 20s
# --max-calls 1: alice's answer exits once the call is reported (and notified).
wait_for '"call_id"' "$demo/answer.out" "$answer_pid" "$demo/answer.err"
rc=0
for _ in $(seq 1 150); do kill -0 "$answer_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$answer_pid" 2>/dev/null && { cat "$demo/answer.err" >&2; echo "demo: cusax answer still runs 15 s after the call" >&2; exit 1; }
wait "$answer_pid" || rc=$?
answer_pid=
[[ $rc == 0 ]] || { cat "$demo/answer.err" >&2; echo "demo: cusax answer exited $rc, want 0" >&2; exit 1; }
run cat "$demo/answer.err" >&2
run cat "$demo/answer.out"
grep -q '"media_keying":"sdes"' "$demo/answer.out" || { echo "demo: the voicemail call over TLS was not SRTP" >&2; exit 1; }
bold "15a. the voicemail alice kept (bob's 330 Hz) and what bob heard (alice's 660 Hz greeting)"
run "$BIN/cusax-testbed" wav "$demo"/vm/*.wav "$demo/bob-heard.wav"
bold "15b. alice's phone got the notification"
rc=0
wait "$phone_pid" || rc=$?
phone_pid=
run cat "$demo/phone.out"
[[ $rc == 0 ]] && grep -q 'voicemail from Bob' "$demo/phone.out" ||
	{ cat "$demo/phone.err" >&2; echo "demo: alice's chat listener (exit $rc) got no notification" >&2; exit 1; }

bold "16. cusax audit-tls: the TLS and authentication posture of both aspects of the demo account, for
   operators (RFC 7590 §3, BCP 195, RFC 7081 §7). Exit codes follow the monitoring-plugin convention:
   0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. The bed's throwaway certificates expire within a day,
   so expect a WARNING for that"
run "${cusax[@]}" audit-tls demo --state "$demo/audit-state.json" || echo "(exit $?)" >&2

bold "Done. Stopping the test bed and the callee."
