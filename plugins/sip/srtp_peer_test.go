package sip

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// srtpPeer is an in-test SIP-over-TLS callee that answers an SRTP offer
// correctly in SDP (RFC 4568 §7.1.2: one a=crypto with an offered tag and
// suite, a key of its own) and then sends SRTP that our side must judge:
// with the key it announced ("good"), with another key ("wrong-key"), or
// with the announced key and a flipped ciphertext byte ("tampered").
type srtpPeer struct {
	addr string
	sent chan int      // packets sent, once done
	bye  chan struct{} // our BYE arrived
}

// peerPackets is how many packets the peer sends: a second of audio.
const peerPackets = 50

func startSRTPPeer(t *testing.T, cert *tls.Certificate, mode string) *srtpPeer {
	t.Helper()
	p := &srtpPeer{sent: make(chan int, 1)}
	type plan struct {
		remote  netip.AddrPort
		suite   string
		pt      uint8
		sendKey []byte
	}
	planned := make(chan plan, 1)
	u := startTLSUAS(t, cert, func(req *gosip.Request, rtpPort int) ([]byte, int) {
		offer, _, answerLine, err := callmedia.ParseSRTPOffer(req.Body())
		if mode == "wrong-tag" {
			answerLine.Tag = 99 // RFC 4568 §7.1.3: no offered line has it
		}
		if err != nil {
			return nil, 488
		}
		body, err := callmedia.AnswerSRTP(offer, answerLine, 1, netip.MustParseAddr("127.0.0.1"), rtpPort)
		if err != nil {
			return nil, 500
		}
		pl := plan{remote: offer.Remote, suite: answerLine.Suite, pt: offer.PayloadType, sendKey: answerLine.Key}
		if mode == "wrong-key" {
			pl.sendKey = make([]byte, len(answerLine.Key))
			_, _ = rand.Read(pl.sendKey)
		}
		select {
		case planned <- pl:
		default:
		}
		return body, 200
	})
	p.addr, p.bye = u.addr, u.bye
	go func() {
		select {
		case <-u.acked:
		case <-time.After(20 * time.Second):
			p.sent <- 0
			return
		}
		pl := <-planned
		p.sent <- sendSRTP(u.rtp, pl.remote, pl.suite, pl.pt, pl.sendKey, mode == "tampered")
	}()
	return p
}

// sendSRTP sends peerPackets of a loud 440 Hz tone protected with key
// (RFC 3711 §3.3), flipping one ciphertext byte of each when tamper is
// set, and returns how many were sent.
func sendSRTP(conn *net.UDPConn, to netip.AddrPort, suite string, pt uint8, key []byte, tamper bool) int {
	c := callmedia.Crypto{Suite: suite}
	prof, err := c.Profile()
	if err != nil {
		return 0
	}
	kl, _ := prof.KeyLen()
	ctx, err := srtp.CreateContext(key[:kl], key[kl:], prof)
	if err != nil {
		return 0
	}
	tone := make([]int16, 160)
	for i := range tone {
		tone[i] = int16(16000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	payload, _ := callmedia.Encode(pt, tone)
	n := 0
	for i := range peerPackets {
		raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: uint16(1000 + i), Timestamp: uint32(i * 160), SSRC: 0x5eed}, Payload: payload}).Marshal()
		if err != nil {
			return n
		}
		pkt, err := ctx.EncryptRTP(nil, raw, nil)
		if err != nil {
			return n
		}
		if tamper {
			pkt[20] ^= 0x55 // in the encrypted payload, covered by the tag
		}
		if _, err := conn.WriteToUDPAddrPort(pkt, to); err == nil {
			n++
		}
		time.Sleep(20 * time.Millisecond) // paced like audio
	}
	return n
}

// TestDialSRTPBadPeer: a callee that keys SRTP correctly in SDP but sends
// packets that do not authenticate, with the wrong key or altered on the
// way, is never played: each packet is dropped and counted in
// SRTPAuthFailures (RFC 3711 §3.3 step 5), none reaches RTPRecv or the
// recording. The same peer sending with the key it announced is heard,
// so the failures are the packets' fault, not the peer's. An answer whose
// a=crypto tag matches no offered line ends the call before any media.
func TestDialSRTPBadPeer(t *testing.T) {
	ca := newTestCA(t)
	cert := ca.issue(t, []string{"example.test"}, nil, time.Now().Add(time.Hour))
	for _, mode := range []string{"good", "wrong-key", "tampered", "wrong-tag"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			peer := startSRTPPeer(t, cert, mode)
			sess, err := New(testLogger(t)).Connect(context.Background(), protocol.ConnectRequest{
				Address: "sip:alice@example.test", Password: "secret", Server: "sip:" + peer.addr + ";transport=tls",
				CAPEM: ca.pem, Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			t.Cleanup(func() { _ = sess.Close(context.Background()) })
			rec := filepath.Join(t.TempDir(), "rec.wav")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: "sip:peer@example.test",
				Media: protocol.MediaOptions{Duration: 1500 * time.Millisecond, RecordFile: rec, Encryption: protocol.MediaEncryptionSRTP}})
			if mode == "wrong-tag" {
				// An answer whose a=crypto matches no offered line is no
				// SRTP: ACK, BYE at once, no media, ErrMediaInsecure.
				if !errors.Is(err, protocol.ErrMediaInsecure) || !strings.Contains(err.Error(), "matches no offered line") {
					t.Fatalf("dial: %v (%+v); want ErrMediaInsecure naming the answer's line", err, evs)
				}
				select {
				case <-peer.bye:
				case <-time.After(5 * time.Second):
					t.Error("the peer got no BYE")
				}
				for _, ev := range evs {
					if ev.RTPSent > 0 {
						t.Errorf("media sent: %+v", ev)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			ev := lastEvent(t, evs)
			var sent int
			select {
			case sent = <-peer.sent:
			case <-time.After(10 * time.Second):
				t.Fatal("the peer did not finish sending")
			}
			var rms float64
			if f, err := os.Open(rec); err == nil {
				if pcm, err := media.ReadWAV(f); err == nil {
					rms = rmsOf(pcm.Mono8k())
				}
				f.Close()
			}
			t.Logf("%s: peer sent %d; received %d, auth failures %d, recording RMS %.0f (%s)", mode, sent, ev.RTPRecv, ev.SRTPAuthFailures, rms, ev.MediaProtection)
			if sent < peerPackets/2 || ev.MediaProtection != offerSuites[0] {
				t.Fatalf("peer sent %d packets, protection %q: the call did not go as planned (%+v)", sent, ev.MediaProtection, ev)
			}
			if mode == "good" {
				if ev.RTPRecv < int64(sent)/2 || ev.SRTPAuthFailures != 0 || rms < 1000 {
					t.Errorf("good peer: received %d of %d, %d auth failures, RMS %.0f: want its tone heard", ev.RTPRecv, sent, ev.SRTPAuthFailures, rms)
				}
				return
			}
			if ev.RTPRecv != 0 || rms > 1 {
				t.Errorf("%s: %d packets accepted, recording RMS %.0f: want none played", mode, ev.RTPRecv, rms)
			}
			if ev.SRTPAuthFailures < int64(sent)/2 {
				t.Errorf("%s: %d auth failures for %d packets sent", mode, ev.SRTPAuthFailures, sent)
			}
		})
	}
}
