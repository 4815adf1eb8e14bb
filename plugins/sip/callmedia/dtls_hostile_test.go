package callmedia

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v4"
	"github.com/pion/dtls/v4/pkg/protocol"
)

// Hostile cases of DTLS-SRTP keying: a lying SDP, a man in the middle,
// a silent or broken peer, garbage and forged records, lost flights, a
// call hung up during the handshake.

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
