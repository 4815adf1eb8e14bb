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
