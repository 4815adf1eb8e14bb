// Package testbed runs real XMPP and SIP servers on loopback for cusax's integration tests.
//
// A Bed is one Prosody (XMPP, RFC 6120) and one Kamailio (SIP registrar and proxy, RFC 3261)
// started from the Debian packages that scripts/testbed/install.sh installs, each with
// configuration, certificates, data and logs in a throwaway per-run directory:
//
//   - a per-run CA (and a second, unrelated CA that no server uses, for "unknown CA" tests);
//   - Prosody with VirtualHosts example.test and biloxi.test (STARTTLS required, plus XEP-0368
//     direct TLS, MUC components conference.*) and notls.test (no certificate, no STARTTLS,
//     PLAIN in the clear: the insecure server a client must refuse);
//   - Kamailio on UDP, TCP and TLS with digest authentication (SHA-256 by default, MD5 on
//     request) for alice, bob and carol of example.test, the same passwords as in Prosody.
//
// Every port is picked free at run time, never fixed, because other services already listen on
// some loopback ports of the machines this runs on. Nothing leaves 127.0.0.1: Kamailio refuses
// to relay to foreign domains and Prosody has s2s disabled.
//
// Start gives a test its own bed; Shared gives every test of a binary one bed (stop it with
// StopShared from TestMain). A missing server skips the test locally but fails it when CI=true,
// so that CI cannot turn green without running the integration tests; -short skips them.
// Install the servers with scripts/testbed/install.sh. A bed starts in about 0.6–1.2 s.
//
// Proxy sits between a client and a server to play an RFC 7457 STARTTLS-stripping attacker and
// to record what the client sent in the clear.
//
// # Encrypted media (issue 16)
//
// StartBaresipSRTP runs baresip 1.0 as an SRTP peer: it registers its own user through
// Kamailio's TLS listener (sip_cafile: the bed's CA, loaded but not enforced by baresip 1.0;
// MD5 digest, so a bed started with SIPDigestAlgorithm "MD5"), auto-answers and can dial (ctrl_tcp), with mediaenc srtp-mand,
// srtp, dtls_srtp or none. Its Media reads the log: the suite ("SRTP is Enabled
// (cryptosuite=…)" for SDES, "DTLS-SRTP complete … Profile=…" for DTLS), the end of each call,
// a refusal (488 from srtp-mand offered no crypto); Speaker measures the decrypted audio it
// received (sndfile's dump). StartUDPCapture records the loopback UDP datagrams between given
// ports with a packet socket (root), and PlainAudio says whether any of them carries G.711
// frames that were played, i.e. whether the audio was plain RTP on the wire. SippUAS.Invites
// returns the INVITEs a sipp callee received, so a test can read the SDP offer (SDPBody).
//
// StartWithDir and (*Bed).Stop are the same machinery without testing.TB, for the
// cusax-testbed command (make demo).
//
// # Data
//
// A bed starts with accounts and nothing else. Seed puts rosters (with real both-way
// subscriptions where asked), vCards (XEP-0292 vCard4 and XEP-0054 vcard-temp) and XEP-0152
// reachability addresses into Prosody through XMPP, with the package's own small client on
// mellium.im/xmpp, never with the code under test; about 0.3 s for a few users. AddUsers adds
// accounts while the bed runs (SIP users too, on Domain: Kamailio's user table is changed over
// its JSON-RPC socket). SeedLargeRoster gives a user 1,000 contacts with vCards in about a
// second (0.15 s with TMPDIR on tmpfs) by writing Prosody's storage files directly; prosodystore.go
// describes that layout.
//
// Prosody 0.12's mod_vcard_legacy keeps one vCard per user, as vCard4 in PEP: a vcard-temp
// set is converted to it, and vcard-temp is served from it. The conversion keeps TEL types
// HOME and WORK only (VOICE, VIDEO, CELL… are dropped), turns a NUMBER into a "tel:" URI
// (so "sip:bob@…" becomes "tel:sip:bob@…") and strips "tel:" again on the way back; an empty
// <N/> structure is added. TestSeed pins this behaviour.
package testbed
