package callmedia

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v4"
	"github.com/pion/dtls/v4/pkg/protocol"

	"github.com/cusax/cusax/pkg/media"
)

func mustCert(t testing.TB) *DTLSCertificate {
	t.Helper()
	c, err := NewDTLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type hsResult struct {
	s   *DTLSSession
	err error
}

// handshakeAsync runs DTLSHandshake in a goroutine; the session, if
// any, is closed at the end of the test.
func handshakeAsync(t *testing.T, cfg DTLSConfig) <-chan hsResult {
	ch := make(chan hsResult, 1)
	go func() {
		s, err := DTLSHandshake(t.Context(), cfg)
		ch <- hsResult{s, err}
	}()
	return ch
}

func wait(t *testing.T, ch <-chan hsResult) hsResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.s != nil {
			t.Cleanup(func() { r.s.Close() })
		}
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("DTLSHandshake did not return within 30 s")
		return hsResult{}
	}
}

// dtlsPair handshakes a (active) on ca with b (passive) on cb; remoteA
// and remoteB are where each sends (the other, or a tap).
func dtlsPair(t *testing.T, ca, cb *net.UDPConn, remoteA, remoteB netip.AddrPort, maxA, maxB protocol.Version) (a, b *DTLSSession) {
	t.Helper()
	certA, certB := mustCert(t), mustCert(t)
	ra := handshakeAsync(t, DTLSConfig{Conn: ca, Remote: remoteA, Setup: SetupActive, Certificate: certA,
		PeerFingerprints: []Fingerprint{certB.Fingerprint()}, maxVersion: maxA})
	rb := handshakeAsync(t, DTLSConfig{Conn: cb, Remote: remoteB, Setup: SetupPassive, Certificate: certB,
		PeerFingerprints: []Fingerprint{certA.Fingerprint()}, maxVersion: maxB})
	resA, resB := wait(t, ra), wait(t, rb)
	if resA.err != nil || resB.err != nil {
		t.Fatalf("handshake: active %v, passive %v", resA.err, resB.err)
	}
	return resA.s, resB.s
}

// TestDTLSSRTPCall: two ends key a call over loopback with DTLS-SRTP
// through a tap, then exchange tones with callmedia.Run: keys agree
// (each side's local key is the other's remote key), each records the
// other's whole tone, and the tap sees no plain PCMU frame.
// Run with DTLS 1.3 (both ends' default) and with a DTLS 1.2-only peer.
func TestDTLSSRTPCall(t *testing.T) {
	const amp = 8000
	toneA := sine(1000, amp, media.TelephonyRate/2) // 25 frames
	toneB := sine(500, amp, media.TelephonyRate/2)
	var frames [][]byte
	for _, tone := range [][]int16{toneA, toneB} {
		for _, f := range Frames(tone) {
			b, _ := Encode(PayloadTypePCMU, f)
			frames = append(frames, b)
		}
	}
	for _, tc := range []struct {
		name string
		maxB protocol.Version
	}{{"dtls1.3", 0}, {"dtls1.2-peer", protocol.Version1_2}} {
		t.Run(tc.name, func(t *testing.T) {
			ca, cb := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
			tap := startTap(t, addrOf(ca), addrOf(cb))
			da, db := dtlsPair(t, ca, cb, addrOf(tap.conn), addrOf(tap.conn), 0, tc.maxB)
			ka, kb := da.Keys(), db.Keys()
			if ka.Suite != SuiteAEADAES128GCM || kb.Suite != ka.Suite {
				t.Fatalf("suites %q / %q, want %s on both", ka.Suite, kb.Suite, SuiteAEADAES128GCM)
			}
			if !bytes.Equal(ka.LocalKey, kb.RemoteKey) || !bytes.Equal(ka.RemoteKey, kb.LocalKey) || bytes.Equal(ka.LocalKey, ka.RemoteKey) {
				t.Fatal("exported keys do not pair up")
			}
			if n, _ := keyLen(ka.Suite); len(ka.LocalKey) != n {
				t.Fatalf("key length %d, want %d", len(ka.LocalKey), n)
			}
			var gotA, gotB, dtlsA, dtlsB atomic.Int64
			a := SessionConfig{Conn: ca, Remote: addrOf(tap.conn), PayloadType: PayloadTypePCMU, Play: toneA, Record: true,
				OnAudio: func([]int16) { gotA.Add(1) }, SRTP: ka,
				OnDTLS: func(b []byte) { dtlsA.Add(1); da.HandlePacket(b) }}
			b := SessionConfig{Conn: cb, Remote: addrOf(tap.conn), PayloadType: PayloadTypePCMU, Play: toneB, Record: true,
				OnAudio: func([]int16) { gotB.Add(1) }, SRTP: kb,
				OnDTLS: func(b []byte) { dtlsB.Add(1); db.HandlePacket(b) }}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			ra, rb := runAsync(ctx, a), runAsync(ctx, b)
			// A stray DTLS record in mid-call (a late retransmission)
			// goes to the DTLS session, not into the audio.
			stray := append([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1}, make([]byte, 20)...)
			if _, err := ca.WriteToUDPAddrPort(stray, addrOf(cb)); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(15 * time.Second)
			for gotA.Load() < 50 || gotB.Load() < 50 || dtlsB.Load() < 1 {
				if time.Now().After(deadline) {
					t.Fatalf("timed out: a received %d, b %d audio packets; b got %d DTLS datagrams", gotA.Load(), gotB.Load(), dtlsB.Load())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			resA, resB := <-ra, <-rb
			if resA.err != nil || resB.err != nil {
				t.Fatalf("Run: %v / %v", resA.err, resB.err)
			}
			sa, sb := resA.st, resB.st
			t.Logf("%s: a sent %d received %d authfail %d; b sent %d received %d authfail %d ignored %d",
				tc.name, sa.Sent, sa.Received, sa.AuthFailures, sb.Sent, sb.Received, sb.AuthFailures, sb.Ignored)
			if sa.AuthFailures != 0 || sb.AuthFailures != 0 {
				t.Errorf("auth failures with DTLS keys: %d, %d", sa.AuthFailures, sb.AuthFailures)
			}
			for _, c := range []struct {
				name string
				rec  []int16
			}{{"a", sa.Recorded}, {"b", sb.Recorded}} {
				if len(c.rec) < len(toneA) {
					t.Fatalf("%s recorded %d samples, want ≥ %d", c.name, len(c.rec), len(toneA))
				}
				// The whole tone arrived decrypted: its energy is in the
				// recording. (Summed over all of it, so a sender stalled
				// by a loaded machine, which leaves a gap, still counts.)
				var e float64
				for _, v := range c.rec {
					e += float64(v) * float64(v)
				}
				if got, want := e, float64(len(toneA))*amp*amp/2; math.Abs(got-want) > want/10 {
					t.Errorf("%s: recorded energy %.3g, want ≈ %.3g (the whole tone)", c.name, got, want)
				}
			}
			if plain := tap.plainFrames(frames); plain != 0 {
				t.Errorf("the tap saw %d datagrams carrying a plain PCMU frame", plain)
			}
			if err := da.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
}

// rawPeer is a pion/dtls end configured by the test, not by
// DTLSHandshake: an independent peer, a MITM or a broken one.
func rawPeer(t *testing.T, conn *net.UDPConn, remote netip.AddrPort, client bool, cert *DTLSCertificate, opts ...dtls.Option) <-chan error {
	t.Helper()
	all := append([]dtls.Option{dtls.WithCertificates(cert.cert), dtls.WithInsecureSkipVerify(true)}, opts...)
	var c *dtls.Conn
	var err error
	if client {
		c, err = dtls.Client(conn, net.UDPAddrFromAddrPort(remote), toClient(all)...)
	} else {
		c, err = dtls.Server(conn, net.UDPAddrFromAddrPort(remote), append(toServer(all), dtls.WithClientAuth(dtls.RequireAnyClientCert))...)
	}
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	go func() {
		defer cancel()
		err := c.HandshakeContext(ctx)
		if err == nil {
			err = checkRawKeys(c)
		}
		done <- err
	}()
	t.Cleanup(func() { c.Close() })
	return done
}

var lastRawExport atomic.Pointer[rawExport]

type rawExport struct {
	client     bool
	profile    dtls.SRTPProtectionProfile
	material   []byte
	keyLen     int
	saltLength int
}

// checkRawKeys keeps what an independent implementation exports, for the
// RFC 5764 §4.2 layout check.
func checkRawKeys(c *dtls.Conn) error {
	st, ok := c.ConnectionState()
	if !ok {
		return errors.New("no state")
	}
	p, ok := c.SelectedSRTPProtectionProfile()
	if !ok {
		lastRawExport.Store(&rawExport{client: st.Role() == dtls.RoleClient})
		return nil
	}
	kl, sl := 16, 14
	if p == dtls.SRTP_AEAD_AES_128_GCM {
		sl = 12
	}
	m, err := st.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", nil, 2*(kl+sl))
	if err != nil {
		return err
	}
	lastRawExport.Store(&rawExport{client: st.Role() == dtls.RoleClient, profile: p, material: m, keyLen: kl, saltLength: sl})
	return nil
}

// TestDTLSKeyLayout: against a plain pion/dtls peer, in both roles and
// for both profiles, our keys are the RFC 5764 §4.2 slices of the
// peer's exporter output: client_write_key | server_write_key |
// client_write_salt | server_write_salt, each side sending with its own.
func TestDTLSKeyLayout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   Setup
		profile dtls.SRTPProtectionProfile
		suite   string
	}{
		{"active-gcm", SetupActive, dtls.SRTP_AEAD_AES_128_GCM, SuiteAEADAES128GCM},
		{"passive-gcm", SetupPassive, dtls.SRTP_AEAD_AES_128_GCM, SuiteAEADAES128GCM},
		{"active-sha1_80", SetupActive, dtls.SRTP_AES128_CM_HMAC_SHA1_80, SuiteAESCM128SHA1_80},
		{"passive-sha1_80-dtls1.2", SetupPassive, dtls.SRTP_AES128_CM_HMAC_SHA1_80, SuiteAESCM128SHA1_80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ours, theirs := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
			certO, certT := mustCert(t), mustCert(t)
			opts := []dtls.Option{dtls.WithSRTPProtectionProfiles(tc.profile)}
			if tc.name == "passive-sha1_80-dtls1.2" {
				opts = append(opts, dtls.WithMaxVersion(protocol.Version1_2))
			}
			peer := rawPeer(t, theirs, addrOf(ours), tc.setup == SetupPassive, certT, opts...)
			r := wait(t, handshakeAsync(t, DTLSConfig{Conn: ours, Remote: addrOf(theirs), Setup: tc.setup, Certificate: certO,
				PeerFingerprints: []Fingerprint{certT.Fingerprint()}}))
			if r.err != nil {
				t.Fatal(r.err)
			}
			if err := <-peer; err != nil {
				t.Fatalf("peer: %v", err)
			}
			k, x := r.s.Keys(), lastRawExport.Load()
			if k.Suite != tc.suite || x.profile != tc.profile {
				t.Fatalf("suite %s, peer profile %v; want %s", k.Suite, x.profile, tc.suite)
			}
			m, kl, sl := x.material, x.keyLen, x.saltLength
			clientKey := append(append([]byte{}, m[:kl]...), m[2*kl:2*kl+sl]...)
			serverKey := append(append([]byte{}, m[kl:2*kl]...), m[2*kl+sl:]...)
			wantLocal, wantRemote := clientKey, serverKey
			if tc.setup == SetupPassive {
				wantLocal, wantRemote = serverKey, clientKey
			}
			if !bytes.Equal(k.LocalKey, wantLocal) || !bytes.Equal(k.RemoteKey, wantRemote) {
				t.Fatal("keys are not the RFC 5764 §4.2 slices for our role")
			}
		})
	}
}

// TestDTLSRefusesWrongFingerprint: the peer's certificate is not the
// one its SDP announced (the SDP was tampered with), on either side of
// the handshake: the handshake fails with ErrFingerprintMismatch, no
// keys. Both ends return.
func TestDTLSRefusesWrongFingerprint(t *testing.T) {
	for _, verifier := range []Setup{SetupActive, SetupPassive} {
		t.Run("checked-by-"+string(verifier), func(t *testing.T) {
			ca, cb := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
			certA, certB, other := mustCert(t), mustCert(t), mustCert(t)
			fpA, fpB := certA.Fingerprint(), certB.Fingerprint()
			if verifier == SetupActive {
				fpB = other.Fingerprint()
			} else {
				fpA = other.Fingerprint()
			}
			ra := handshakeAsync(t, DTLSConfig{Conn: ca, Remote: addrOf(cb), Setup: SetupActive, Certificate: certA,
				PeerFingerprints: []Fingerprint{fpB}, Timeout: 5 * time.Second})
			rb := handshakeAsync(t, DTLSConfig{Conn: cb, Remote: addrOf(ca), Setup: SetupPassive, Certificate: certB,
				PeerFingerprints: []Fingerprint{fpA}, Timeout: 5 * time.Second})
			resA, resB := wait(t, ra), wait(t, rb)
			checker, other2 := resA, resB
			if verifier == SetupPassive {
				checker, other2 = resB, resA
			}
			if !errors.Is(checker.err, ErrFingerprintMismatch) || checker.s != nil {
				t.Fatalf("the checking side: %v, want ErrFingerprintMismatch", checker.err)
			}
			if other2.err == nil {
				// The side that was not lied to may finish first (DTLS
				// 1.3: the client is done before the server checks its
				// certificate); it gets no media, since the other
				// side's keys never exist.
				t.Logf("the other side finished: %v", other2.s.Keys())
			}
			t.Logf("checking side: %v; other side: %v", checker.err, other2.err)
		})
	}
}

// TestDTLSRefusesMITM: a relay between the two ends terminates DTLS
// with its own certificate, while the SDP (not the relay's to change
// here) carries the real fingerprints: each end refuses the relay.
func TestDTLSRefusesMITM(t *testing.T) {
	for _, victim := range []Setup{SetupActive, SetupPassive} {
		t.Run("victim-"+string(victim), func(t *testing.T) {
			cv, cm := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
			certV, certReal, certMITM := mustCert(t), mustCert(t), mustCert(t)
			// The MITM plays the victim's peer; it accepts any certificate.
			mitm := rawPeer(t, cm, addrOf(cv), victim == SetupPassive, certMITM,
				dtls.WithSRTPProtectionProfiles(dtlsProfiles...))
			r := wait(t, handshakeAsync(t, DTLSConfig{Conn: cv, Remote: addrOf(cm), Setup: victim, Certificate: certV,
				PeerFingerprints: []Fingerprint{certReal.Fingerprint()}, Timeout: 5 * time.Second}))
			if !errors.Is(r.err, ErrFingerprintMismatch) {
				t.Fatalf("victim: %v, want ErrFingerprintMismatch", r.err)
			}
			select {
			case err := <-mitm:
				t.Logf("mitm: %v", err)
			case <-time.After(25 * time.Second):
				t.Fatal("mitm handshake did not end")
			}
		})
	}
}

// TestDTLSNoAnswerIsBounded: a peer that never answers the handshake
// (in either role) makes DTLSHandshake fail after the timeout with
// context.DeadlineExceeded; afterwards nothing reads the socket (a
// datagram sent to it is there to read) and it has no read deadline.
func TestDTLSNoAnswerIsBounded(t *testing.T) {
	for _, setup := range []Setup{SetupActive, SetupPassive} {
		t.Run(string(setup), func(t *testing.T) {
			ca, silent := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
			start := time.Now()
			r := wait(t, handshakeAsync(t, DTLSConfig{Conn: ca, Remote: addrOf(silent), Setup: setup, Certificate: mustCert(t),
				PeerFingerprints: []Fingerprint{mustCert(t).Fingerprint()}, Timeout: 2 * time.Second}))
			took := time.Since(start)
			if !errors.Is(r.err, context.DeadlineExceeded) || r.s != nil {
				t.Fatalf("got %v, want a deadline error", r.err)
			}
			t.Logf("%s: failed after %v: %v", setup, took.Round(time.Millisecond), r.err)
			if setup == SetupActive {
				// The ClientHello went out (and was retransmitted).
				_ = silent.SetReadDeadline(time.Now().Add(time.Second))
				buf := make([]byte, 2048)
				if n, _, err := silent.ReadFromUDPAddrPort(buf); err != nil || n == 0 || buf[0] != 22 {
					t.Fatalf("no ClientHello reached the peer: %v", err)
				}
			}
			if _, err := silent.WriteToUDPAddrPort([]byte("after"), addrOf(ca)); err != nil {
				t.Fatal(err)
			}
			// No deadline is left on the socket: without one this
			// read would fail at once; the test's own bound is a
			// goroutine watchdog, not a deadline on ca.
			got := make(chan string, 1)
			go func() {
				buf := make([]byte, 100)
				n, _, err := ca.ReadFromUDPAddrPort(buf)
				if err != nil {
					got <- err.Error()
					return
				}
				got <- string(buf[:n])
			}()
			select {
			case s := <-got:
				if s != "after" {
					t.Fatalf("read %q, want \"after\"", s)
				}
			case <-time.After(10 * time.Second):
				ca.Close()
				t.Fatal("the datagram never reached a reader of the socket")
			}
			if err := ca.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		})
	}
}

// TestDTLSSurvivesGarbage: during the handshake a third socket on the
// peer's IP sprays both ends with garbage, DTLS-looking and not; the
// handshake still completes with keys that pair up.
func TestDTLSSurvivesGarbage(t *testing.T) {
	ca, cb, noise := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
	stop := make(chan struct{})
	sprayed := make(chan int)
	go func() {
		n := 0
		defer func() { sprayed <- n }()
		junk := garbage()
		junk = append(junk,
			[]byte{22},
			[]byte{22, 0xfe, 0xfd},
			append([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff}, make([]byte, 40)...),
			append([]byte{23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 1, 0, 30}, make([]byte, 30)...),
			[]byte{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 2},     // truncated alert
			[]byte{21, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 0, 2, 2, 40}, // fatal alert, epoch 1, no MAC
			bytes.Repeat([]byte{63}, 1400),
			bytes.Repeat([]byte{0x2f}, 7),
		)
		for {
			for _, j := range junk {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = noise.WriteToUDPAddrPort(j, addrOf(ca))
				_, _ = noise.WriteToUDPAddrPort(j, addrOf(cb))
				n++
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	da, db := dtlsPair(t, ca, cb, addrOf(cb), addrOf(ca), 0, 0)
	close(stop)
	t.Logf("%d garbage datagrams sent to each end", <-sprayed)
	if !bytes.Equal(da.Keys().LocalKey, db.Keys().RemoteKey) {
		t.Fatal("keys do not pair up")
	}
}

// TestDTLSPeerWithoutSRTP: a peer that completes DTLS but does not
// negotiate use_srtp gives no keys.
func TestDTLSPeerWithoutSRTP(t *testing.T) {
	ours, theirs := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
	certT := mustCert(t)
	peer := rawPeer(t, theirs, addrOf(ours), false, certT)
	r := wait(t, handshakeAsync(t, DTLSConfig{Conn: ours, Remote: addrOf(theirs), Setup: SetupActive, Certificate: mustCert(t),
		PeerFingerprints: []Fingerprint{certT.Fingerprint()}, Timeout: 5 * time.Second}))
	if r.err == nil {
		t.Fatal("handshake without use_srtp succeeded")
	}
	t.Logf("ours: %v", r.err)
	select {
	case <-peer:
	case <-time.After(25 * time.Second):
		t.Fatal("peer did not return")
	}
}

func TestDTLSConfigErrors(t *testing.T) {
	c := listenUDP(t, "127.0.0.1")
	cert := mustCert(t)
	good := DTLSConfig{Conn: c, Remote: netip.MustParseAddrPort("127.0.0.1:9"), Setup: SetupActive, Certificate: cert,
		PeerFingerprints: []Fingerprint{cert.Fingerprint()}}
	for name, mod := range map[string]func(*DTLSConfig){
		"no socket":      func(c *DTLSConfig) { c.Conn = nil },
		"no remote":      func(c *DTLSConfig) { c.Remote = netip.AddrPort{} },
		"hold address":   func(c *DTLSConfig) { c.Remote = netip.MustParseAddrPort("0.0.0.0:9") },
		"no certificate": func(c *DTLSConfig) { c.Certificate = nil },
		"no fingerprint": func(c *DTLSConfig) { c.PeerFingerprints = nil },
		"actpass role":   func(c *DTLSConfig) { c.Setup = SetupActPass },
	} {
		cfg := good
		mod(&cfg)
		if s, err := DTLSHandshake(t.Context(), cfg); err == nil || s != nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestDTLSCertificate: a fresh ECDSA P-256 self-signed certificate per
// call, whose sha-256 fingerprint matches it and no other.
func TestDTLSCertificate(t *testing.T) {
	a, b := mustCert(t), mustCert(t)
	leaf, err := x509.ParseCertificate(a.cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA || leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) != nil {
		t.Fatalf("not a self-signed ECDSA certificate: %v", leaf.PublicKeyAlgorithm)
	}
	if !a.Fingerprint().Matches(a.cert.Certificate[0]) || a.Fingerprint().Matches(b.cert.Certificate[0]) {
		t.Fatal("fingerprint does not identify its certificate")
	}
	if _, ok := a.cert.PrivateKey.(crypto.Signer); !ok {
		t.Fatal("no private key")
	}
}

// dropTap relays between a and b like udpTap, but drops the first
// datagram from b for which drop is true.
type dropTap struct {
	conn    *net.UDPConn
	dropped atomic.Int64
}

func startDropTap(t *testing.T, a, b netip.AddrPort, drop func([]byte) bool) *dropTap {
	tap := &dropTap{conn: listenUDP(t, "127.0.0.1")}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1<<16)
		for {
			n, from, err := tap.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return // closed at cleanup
			}
			to := b
			if from == b {
				to = a
				if tap.dropped.Load() == 0 && drop(buf[:n]) {
					tap.dropped.Add(1)
					continue
				}
			}
			_, _ = tap.conn.WriteToUDPAddrPort(buf[:n], to)
		}
	}()
	t.Cleanup(func() { tap.conn.Close(); <-done })
	return tap
}

// TestDTLSLostLastFlight: the last flight of the handshake is lost, so
// its sender has its keys and starts the call while the other end still
// waits. DTLS 1.2 (the passive end's ChangeCipherSpec+Finished): only
// the waiting end retransmits (RFC 6347 §4.2.4), so the end in the call
// must answer from inside it: with SessionConfig.OnDTLS feeding the
// DTLS session the waiting end completes, and the control without
// OnDTLS times out. DTLS 1.3 (the active end's first encrypted
// datagram): the final flight is retransmitted by its sender until
// ACKed (RFC 9147 §5.8.1, §7), so it completes either way; OnDTLS
// delivers the peer's ACKs and retransmissions.
func TestDTLSLostLastFlight(t *testing.T) {
	for _, tc := range []struct {
		version protocol.Version
		lost    Setup // whose last flight is dropped
		drop    func([]byte) bool
	}{
		{protocol.Version1_2, SetupPassive, func(b []byte) bool { return len(b) > 0 && b[0] == 20 }},
		{protocol.Version1_3, SetupActive, func(b []byte) bool { return len(b) > 0 && b[0] >= 32 && b[0] <= 63 }},
	} {
		for _, feed := range []bool{true, false} {
			wantTimeout := !feed && tc.version == protocol.Version1_2
			name := "dtls1.2"
			if tc.version == protocol.Version1_3 {
				name = "dtls1.3"
			}
			t.Run(name+"/feed="+strconv.FormatBool(feed), func(t *testing.T) {
				cDone, cWait := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
				tap := startDropTap(t, addrOf(cWait), addrOf(cDone), tc.drop)
				waiting := SetupActive
				if tc.lost == SetupActive {
					waiting = SetupPassive
				}
				certD, certW := mustCert(t), mustCert(t)
				rw := handshakeAsync(t, DTLSConfig{Conn: cWait, Remote: addrOf(tap.conn), Setup: waiting, Certificate: certW,
					PeerFingerprints: []Fingerprint{certD.Fingerprint()}, Timeout: 6 * time.Second, maxVersion: tc.version})
				rd := handshakeAsync(t, DTLSConfig{Conn: cDone, Remote: addrOf(tap.conn), Setup: tc.lost, Certificate: certD,
					PeerFingerprints: []Fingerprint{certW.Fingerprint()}, Timeout: 6 * time.Second, maxVersion: tc.version})
				resD := wait(t, rd)
				if resD.err != nil {
					t.Fatalf("%s end: %v", tc.lost, resD.err)
				}
				var fed atomic.Int64
				cfg := SessionConfig{Conn: cDone, Remote: addrOf(tap.conn), PayloadType: PayloadTypePCMU, SRTP: resD.s.Keys()}
				if feed {
					cfg.OnDTLS = func(b []byte) { fed.Add(1); resD.s.HandlePacket(b) }
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				run := runAsync(ctx, cfg)
				resW := wait(t, rw)
				cancel()
				if r := <-run; r.err != nil {
					t.Fatalf("Run: %v", r.err)
				}
				if tap.dropped.Load() != 1 {
					t.Fatalf("the tap dropped %d datagrams, want the last flight", tap.dropped.Load())
				}
				t.Logf("%s feed=%v: %s end: %v; %d DTLS datagrams fed to the %s end during its call", name, feed, waiting, resW.err, fed.Load(), tc.lost)
				if wantTimeout {
					if !errors.Is(resW.err, context.DeadlineExceeded) {
						t.Fatalf("control: %s end got %v, want a timeout", waiting, resW.err)
					}
					return
				}
				if resW.err != nil {
					t.Fatalf("%s end: %v", waiting, resW.err)
				}
				if !bytes.Equal(resW.s.Keys().LocalKey, resD.s.Keys().RemoteKey) {
					t.Fatal("keys do not pair up")
				}
			})
		}
	}
}

// TestDTLSForgedAlertIsBounded: someone on the peer's IP injects
// plaintext fatal alerts during the handshake. DTLS cannot tell them
// from the peer's before keys exist (RFC 6347 §4.1.2.7 drops only
// invalid records), so the handshake may fail: the promise is that both
// ends return within their timeout with a one-line error or with keys
// that pair up, and nothing panics.
func TestDTLSForgedAlertIsBounded(t *testing.T) {
	ca, cb, spoof := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		alert := []byte{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 5, 0, 2, 2, 40} // fatal handshake_failure, epoch 0
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			_, _ = spoof.WriteToUDPAddrPort(alert, addrOf(ca))
			_, _ = spoof.WriteToUDPAddrPort(alert, addrOf(cb))
		}
	}()
	certA, certB := mustCert(t), mustCert(t)
	ra := handshakeAsync(t, DTLSConfig{Conn: ca, Remote: addrOf(cb), Setup: SetupActive, Certificate: certA,
		PeerFingerprints: []Fingerprint{certB.Fingerprint()}, Timeout: 3 * time.Second})
	rb := handshakeAsync(t, DTLSConfig{Conn: cb, Remote: addrOf(ca), Setup: SetupPassive, Certificate: certB,
		PeerFingerprints: []Fingerprint{certA.Fingerprint()}, Timeout: 3 * time.Second})
	resA, resB := wait(t, ra), wait(t, rb)
	t.Logf("active: %v; passive: %v", resA.err, resB.err)
	for _, r := range []hsResult{resA, resB} {
		if r.err != nil && strings.Contains(r.err.Error(), "\n") {
			t.Errorf("multi-line error %q", r.err)
		}
	}
	if resA.err == nil && resB.err == nil && !bytes.Equal(resA.s.Keys().LocalKey, resB.s.Keys().RemoteKey) {
		t.Fatal("keys do not pair up")
	}
}

// TestDTLSHandshakeAborted: hanging up during the handshake (ctx
// cancelled) or the socket closed under it ends DTLSHandshake promptly
// with an error, well before its 20 s timeout, in either role (a
// passive end writes nothing that could fail; it must notice the dead
// socket itself).
func TestDTLSHandshakeAborted(t *testing.T) {
	for _, setup := range []Setup{SetupActive, SetupPassive} {
		for _, how := range []string{"cancel", "close"} {
			t.Run(string(setup)+"-"+how, func(t *testing.T) {
				c, silent := listenUDP(t, "127.0.0.1"), listenUDP(t, "127.0.0.1")
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				ch := make(chan hsResult, 1)
				go func() {
					s, err := DTLSHandshake(ctx, DTLSConfig{Conn: c, Remote: addrOf(silent), Setup: setup, Certificate: mustCert(t),
						PeerFingerprints: []Fingerprint{mustCert(t).Fingerprint()}, Timeout: 20 * time.Second})
					ch <- hsResult{s, err}
				}()
				if setup == SetupActive {
					// The ClientHello is out: the handshake is under way.
					_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
					if _, _, err := silent.ReadFromUDPAddrPort(make([]byte, 2048)); err != nil {
						t.Fatal(err)
					}
				}
				start := time.Now()
				if how == "cancel" {
					cancel()
				} else {
					c.Close()
				}
				select {
				case r := <-ch:
					t.Logf("%s %s: returned after %v: %v", setup, how, time.Since(start).Round(time.Millisecond), r.err)
					if r.err == nil || r.s != nil {
						t.Fatal("no error")
					}
					if how == "cancel" && !errors.Is(r.err, context.Canceled) {
						t.Fatalf("got %v, want context.Canceled", r.err)
					}
				case <-time.After(15 * time.Second):
					t.Fatal("DTLSHandshake did not return after the abort")
				}
			})
		}
	}
}
