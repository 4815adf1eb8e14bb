package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// dtlsPeer is an in-test SIP-over-TLS callee built on callmedia's
// DTLS-SRTP layer: it answers our UDP/TLS/RTP/SAVP offer with the
// fingerprint of one certificate and, in mode "mismatch", runs the DTLS
// handshake with another (someone other than the signalled peer, RFC
// 5763 §5). In mode "good" it uses the announced one and sends a second
// of a tone over the keyed SRTP.
type dtlsPeer struct {
	addr string
	done chan dtlsPeerResult
	bye  chan struct{}
}

type dtlsPeerResult struct {
	handshake error
	// rtpFromUs counts RTP-shaped datagrams (RFC 7983 §7: first byte
	// 128-191) from us after the handshake ended, good or bad.
	rtpFromUs int64
}

func startDTLSPeer(t *testing.T, cert *tls.Certificate, mode string) *dtlsPeer {
	t.Helper()
	p := &dtlsPeer{done: make(chan dtlsPeerResult, 1)}
	announced, err := callmedia.NewDTLSCertificate()
	if err != nil {
		t.Fatal(err)
	}
	used := announced
	if mode == "mismatch" {
		if used, err = callmedia.NewDTLSCertificate(); err != nil {
			t.Fatal(err)
		}
	}
	type plan struct {
		offer callmedia.Answer
		peer  callmedia.DTLSPeer
	}
	planned := make(chan plan, 1)
	u := startTLSUAS(t, cert, func(req *gosip.Request, rtpPort int) ([]byte, int) {
		offer, peer, err := callmedia.ParseDTLSOffer(req.Body())
		if err != nil {
			return nil, 488
		}
		body, err := callmedia.AnswerDTLS(offer, peer, 1, netip.MustParseAddr("127.0.0.1"), rtpPort, announced.Fingerprint())
		if err != nil {
			return nil, 500
		}
		select {
		case planned <- plan{offer, peer}:
		default:
		}
		return body, 200
	})
	p.addr, p.bye = u.addr, u.bye
	conn := u.rtp
	go func() {
		var r dtlsPeerResult
		defer func() { p.done <- r }()
		var pl plan
		select {
		case pl = <-planned:
		case <-time.After(20 * time.Second):
			r.handshake = errors.New("no INVITE")
			return
		}
		ds, err := callmedia.DTLSHandshake(context.Background(), callmedia.DTLSConfig{
			Conn: conn, Remote: pl.offer.Remote, Setup: pl.peer.Setup, Certificate: used,
			PeerFingerprints: pl.peer.Fingerprints, Timeout: 5 * time.Second,
		})
		r.handshake = err
		if err == nil {
			defer ds.Close()
			tone := make([]int16, 8000)
			for i := range tone {
				tone[i] = int16(16000 * math.Sin(2*math.Pi*440*float64(i)/8000))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			st, _ := callmedia.Run(ctx, callmedia.SessionConfig{Conn: conn, Remote: pl.offer.Remote, PayloadType: pl.offer.PayloadType,
				Play: tone, SRTP: ds.Keys(), OnDTLS: ds.HandlePacket})
			cancel()
			r.rtpFromUs = st.Received + st.AuthFailures
			return
		}
		// The handshake failed: listen a while for any RTP from us.
		buf := make([]byte, 2048)
		deadline := time.Now().Add(1500 * time.Millisecond)
		for time.Now().Before(deadline) {
			_ = conn.SetReadDeadline(deadline)
			n, _, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				break
			}
			if n > 12 && buf[0] >= 128 && buf[0] <= 191 {
				r.rtpFromUs++
			}
		}
	}()
	return p
}

// TestDialDTLSFingerprintMismatch: a callee whose DTLS certificate does
// not match the a=fingerprint of its SDP answer (RFC 5763 §5: someone
// else answers the handshake) gets no call: the handshake fails, we send
// BYE, Dial ends with ErrMediaInsecure naming the mismatch, no RTP leaves
// us and nothing is recorded, under "srtp" and "optional" alike (no plain
// fallback once DTLS-SRTP was agreed). The same peer with a matching
// certificate is heard and hears us, so the failure is the certificate's.
func TestDialDTLSFingerprintMismatch(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.issue(t, []string{"example.test"}, nil, time.Now().Add(time.Hour))
	for _, tc := range []struct{ mode, enc string }{{"good", "srtp"}, {"mismatch", "srtp"}, {"mismatch", "optional"}} {
		t.Run(tc.mode+"/"+tc.enc, func(t *testing.T) {
			t.Parallel()
			peer := startDTLSPeer(t, cert, tc.mode)
			var logs syncBuffer
			sess, err := New(hclog.New(&hclog.LoggerOptions{Name: "sip", Level: hclog.Trace, Output: &logs})).Connect(context.Background(), protocol.ConnectRequest{
				Address: "sip:alice@example.test", Password: "secret", Server: "sip:" + peer.addr + ";transport=tls",
				CAPEM: ca.pem, Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			t.Cleanup(func() { _ = sess.Close(context.Background()) })
			rec := filepath.Join(t.TempDir(), "rec.wav")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var used *callmedia.SRTPKeys
			ctx = context.WithValue(ctx, keysKey{}, func(_ []callmedia.Crypto, k *callmedia.SRTPKeys) { used = k })
			evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: "sip:peer@example.test",
				Media: protocol.MediaOptions{Duration: 1500 * time.Millisecond, RecordFile: rec, Encryption: tc.enc, Keying: protocol.KeyingDTLS}})
			var r dtlsPeerResult
			select {
			case r = <-peer.done:
			case <-time.After(20 * time.Second):
				t.Fatal("the peer did not finish")
			}
			t.Logf("dial: %v; peer: handshake %v, %d RTP from us", err, r.handshake, r.rtpFromUs)
			if tc.mode == "good" {
				if err != nil || r.handshake != nil {
					t.Fatalf("good peer: dial %v, peer handshake %v", err, r.handshake)
				}
				ev := lastEvent(t, evs)
				if ev.MediaKeying != protocol.KeyingDTLS || ev.RTPRecv < 20 || ev.SRTPAuthFailures != 0 || r.rtpFromUs < 20 {
					t.Errorf("good peer: final %+v, peer got %d of our packets; want DTLS-SRTP both ways", ev, r.rtpFromUs)
				}
				checkNoDTLSKeys(t, logs.String(), "a=fingerprint:", used, ev.Note)
				return
			}
			if !errors.Is(err, protocol.ErrMediaInsecure) || !strings.Contains(err.Error(), "does not match the fingerprint") {
				t.Fatalf("dial: %v (%+v); want ErrMediaInsecure naming the fingerprint mismatch", err, evs)
			}
			select {
			case <-peer.bye:
			case <-time.After(5 * time.Second):
				t.Error("the peer got no BYE")
			}
			for _, ev := range evs {
				if ev.RTPSent > 0 || ev.RTPRecv > 0 {
					t.Errorf("media flowed: %+v", ev)
				}
			}
			if r.rtpFromUs != 0 {
				t.Errorf("the peer received %d RTP packets from us after the failed handshake", r.rtpFromUs)
			}
			if _, err := os.Stat(rec); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("recording %s: %v, want none", rec, err)
			}
			if used != nil {
				t.Errorf("keys were exported from a failed handshake")
			}
		})
	}
}
