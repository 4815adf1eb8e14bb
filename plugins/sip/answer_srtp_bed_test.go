package sip

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// keyLog keeps everything a session logged (at Trace, the most verbose
// level) so that a test can prove no SDES key reached it, and forwards it
// to t.Log.
type keyLog struct {
	mu sync.Mutex
	b  strings.Builder
	tw *testWriter
}

func (k *keyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	k.b.Write(p)
	k.mu.Unlock()
	return k.tw.Write(p)
}

func (k *keyLog) String() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.b.String()
}

// noKeys fails t when text holds an a=crypto key-param or one of keys (raw
// master key||salt, looked for in base64 and hex).
func noKeys(t *testing.T, what, text string, keys ...[]byte) {
	t.Helper()
	if strings.Contains(strings.ToLower(text), "inline:") {
		t.Errorf("%s holds an a=crypto inline: key-param", what)
	}
	for _, k := range keys {
		for _, enc := range []string{base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k), fmt.Sprintf("%x", k), fmt.Sprint(k)} {
			if strings.Contains(text, enc) {
				t.Errorf("%s holds an SRTP key (%d bytes)", what, len(k))
			}
		}
	}
}

// srtpAnswerer is a session registered at the bed that answers calls,
// logging at Trace into log.
type srtpAnswerer struct {
	sess   protocol.TelephonySession
	calls  protocol.Stream[protocol.IncomingCall]
	log    *keyLog
	target string
}

func newSRTPAnswerer(t *testing.T, bed *testbed.Bed, transport string) *srtpAnswerer {
	t.Helper()
	user := "srtp" + transport + randomToken(4)
	users, err := bed.AddUsers(context.Background(), bed.Domain, user)
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWriter{t: t}
	t.Cleanup(tw.close)
	kl := &keyLog{tw: tw}
	logger := hclog.New(&hclog.LoggerOptions{Name: t.Name(), Level: hclog.Trace, Output: kl})
	s, err := New(logger).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:" + user + "@" + bed.Domain, Password: users[user].Password,
		Server: bedServer(bed, transport), CAPEM: readFile(t, bed.CAFile), Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := s.Register(ctx, protocol.RegisterRequest{Expires: 300 * time.Second}); err != nil {
		t.Fatalf("Register over %s: %v", transport, err)
	}
	st, err := s.IncomingCalls(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &srtpAnswerer{sess: s, calls: st, log: kl, target: "sip:" + user + "@" + bed.Domain}
}

// take answers the next incoming call with req and returns its events up
// to the final one (each Recv bounded).
func (a *srtpAnswerer) take(t *testing.T, ctx context.Context, wantID string, req protocol.AnswerRequest, onEvent func(protocol.AnswerEvent)) []protocol.AnswerEvent {
	t.Helper()
	ic := recvWithin(t, a.calls, 15*time.Second)
	if wantID != "" && ic.CallID != wantID {
		t.Fatalf("call %q delivered, want %q", ic.CallID, wantID)
	}
	req.CallID = ic.CallID
	events, err := a.sess.(protocol.Answerer).Answer(ctx, req)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	defer events.Close()
	var evs []protocol.AnswerEvent
	for {
		ev, err := recvEventWithin(t, events, 45*time.Second)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if onEvent != nil {
			onEvent(ev)
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 || !evs[len(evs)-1].Final {
		t.Fatalf("no final event: %+v", evs)
	}
	for _, ev := range evs {
		noKeys(t, "event note "+ev.Kind, ev.Note)
	}
	return evs
}

// sippSDP is a caller's offer with literal addresses (sipp keywords are
// not allowed in SippCallOptions.SDP): PCMU and telephone-event on port,
// with transport proto and the given a=crypto lines.
func sippSDP(port int, proto string, cryptos ...callmedia.Crypto) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=sipp 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d %s 0 101\r\n", port, proto)
	for _, c := range cryptos {
		b.WriteString("a=crypto:" + c.Attribute() + "\r\n")
	}
	b.WriteString("a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n")
	return b.String()
}

// waitUntil polls ok every 50 ms until it holds or d has passed.
func waitUntil(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// toneFrames are the G.711 payloads (pt) a session sends for samples: 20 ms
// frames from the first sample (callmedia.Run), each 160 bytes.
func toneFrames(t *testing.T, samples []int16, pt uint8) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range callmedia.Frames(samples) {
		p, err := callmedia.Encode(pt, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func readTone(t *testing.T, path string) []int16 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pcm, err := media.ReadWAV(f)
	if err != nil {
		t.Fatal(err)
	}
	return pcm.Mono8k()
}

func readRecording(t *testing.T, path string) []int16 {
	t.Helper()
	return readTone(t, path)
}

// TestAnswerSRTP: calls answered with SDES-SRTP (RFC 4568, RFC 3711) and
// the refusals around it (issue 16), against real peers through the bed's
// Kamailio: baresip with mediaenc srtp-mand calls a session registered
// over TLS; plain sipp callers over TLS are refused (srtp) or answered in
// clear with a note (optional); an SRTP-only caller is refused under
// none; an SDES offer over UDP or TCP is refused; a stream with the wrong
// key is counted and never recorded. Every session
// logs at Trace, and no log line or Note holds a key.
func TestAnswerSRTP(t *testing.T) {
	// MD5: baresip 1.0 computes no SHA-256 digest.
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
	overTLS := newSRTPAnswerer(t, bed, "tls")
	dir := t.TempDir()
	greeting := filepath.Join(dir, "greeting.wav")
	writeTone(t, greeting, 3*time.Second)
	played := toneFrames(t, readTone(t, greeting), callmedia.PayloadTypePCMU)
	caller := "alice"

	t.Run("baresip srtp-mand calls over TLS", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		in := takeBaresipCall(t, ctx, bed, overTLS, "srtp-mand", greeting, dir)
		fin, m := in.fin, in.bs.Media()
		if !fin.Answered || fin.HungUpBy != protocol.HungUpByCaller || fin.MediaKeying != protocol.KeyingSDES {
			t.Errorf("final %+v: want answered with SDES-SRTP, hung up by baresip", fin)
		}
		if len(m.Suites) != 1 || m.Suites[0] != fin.MediaProtection || len(m.Failures) > 0 {
			t.Errorf("baresip's suites %q (failures %q), ours %q: want the one suite we report", m.Suites, m.Failures, fin.MediaProtection)
		}
		for _, ev := range in.evs {
			if ev.Kind == protocol.AnswerAnswered && ev.MediaProtection != fin.MediaProtection {
				t.Errorf("answered event protection %q, final %q", ev.MediaProtection, fin.MediaProtection)
			}
		}
		in.checkAudio(t, played)
		noKeys(t, "the session's log", overTLS.log.String())
	})

	t.Run("plain caller over TLS", func(t *testing.T) {
		for _, setting := range []string{"", "srtp"} {
			t.Run("setting "+setting, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				id := "pl" + randomToken(6) + "@sipp"
				done := make(chan error, 1)
				go func() {
					_, err := bed.SippCall(ctx, testbed.SippCallOptions{From: caller, To: overTLS.target, CallID: id, ExpectStatus: 488})
					done <- err
				}()
				evs := overTLS.take(t, ctx, id, protocol.AnswerRequest{Encryption: setting, Duration: 10 * time.Second}, nil)
				fin := evs[len(evs)-1]
				if err := <-done; err != nil {
					t.Errorf("sipp did not see 488: %v", err)
				}
				if fin.StatusCode != 488 || fin.HungUpBy != protocol.HungUpByError || fin.Answered || !strings.Contains(fin.Note, "plain RTP") {
					t.Errorf("final %+v: want 488, hung up by error, a note about plain RTP", fin)
				}
				t.Logf("final %+v", fin)
			})
		}
		t.Run("setting optional", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var sippPort atomic.Int32
			capt := testbed.StartUDPCapture(t, func(_, dst int) bool { return dst == int(sippPort.Load()) })
			id := "op" + randomToken(6) + "@sipp"
			type out struct {
				res testbed.SippCallResult
				err error
			}
			done := make(chan out, 1)
			go func() {
				res, err := bed.SippCall(ctx, testbed.SippCallOptions{From: caller, To: overTLS.target, CallID: id, Echo: true, Hold: 3 * time.Second})
				done <- out{res, err}
			}()
			evs := overTLS.take(t, ctx, id, protocol.AnswerRequest{Encryption: "optional", PlayFile: greeting, Duration: 20 * time.Second}, func(ev protocol.AnswerEvent) {
				if ev.Kind == protocol.AnswerAnswered {
					if ap, err := netip.ParseAddrPort(ev.MediaPeer); err == nil {
						sippPort.Store(int32(ap.Port()))
					}
				}
			})
			fin := evs[len(evs)-1]
			o := <-done
			if o.err != nil {
				t.Fatalf("sipp: %v", o.err)
			}
			capt.Stop()
			grams, _ := capt.Datagrams()
			// sipp offers PCMA first: the frames of our greeting in it.
			pt := callmedia.PayloadTypePCMU
			if fin.Codec == "PCMA" {
				pt = callmedia.PayloadTypePCMA
			}
			plain := testbed.PlainAudio(grams, toneFrames(t, readTone(t, greeting), pt))
			t.Logf("final %+v; sipp echoed %d; %d packets to sipp captured, %d with plain greeting frames", fin, o.res.RTPEchoed, len(grams), plain)
			if !fin.Answered || fin.MediaProtection != protocol.MediaInClear || fin.MediaKeying != "" || !strings.Contains(fin.Note, "not encrypted") {
				t.Errorf("final %+v: want answered in clear with a note", fin)
			}
			if o.res.RTPEchoed == 0 {
				t.Errorf("sipp received no RTP")
			}
			// The control of the wire check above: plain media is seen.
			if plain < 50 {
				t.Errorf("only %d captured packets carry plain greeting frames; the capture should see them", plain)
			}
		})
	})

	t.Run("SRTP-only caller over TLS, setting none", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		c, err := callmedia.NewCrypto(1, callmedia.SuiteAESCM128SHA1_32)
		if err != nil {
			t.Fatal(err)
		}
		id := "no" + randomToken(6) + "@sipp"
		done := make(chan error, 1)
		go func() {
			_, err := bed.SippCall(ctx, testbed.SippCallOptions{From: caller, To: overTLS.target, CallID: id, SDP: sippSDP(40000, "RTP/SAVP", c), ExpectStatus: 488})
			done <- err
		}()
		evs := overTLS.take(t, ctx, id, protocol.AnswerRequest{Encryption: protocol.MediaEncryptionNone, Duration: 10 * time.Second}, nil)
		fin := evs[len(evs)-1]
		if err := <-done; err != nil {
			t.Errorf("sipp did not see 488: %v", err)
		}
		if fin.StatusCode != 488 || fin.Answered || !strings.Contains(fin.Note, "media encryption is none") {
			t.Errorf("final %+v: want 488 with a note on the setting", fin)
		}
		noKeys(t, "the session's log", overTLS.log.String(), c.Key)
	})

	// RFC 4568 §8.3: the key of an SDES offer that reached us over UDP or
	// TCP was readable on the path; it is refused whatever the setting.
	for _, tr := range []string{"udp", "tcp"} {
		t.Run("SDES offer over "+tr+" refused", func(t *testing.T) {
			insecure := newSRTPAnswerer(t, bed, tr)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, err := callmedia.NewCrypto(1, callmedia.SuiteAESCM128SHA1_80)
			if err != nil {
				t.Fatal(err)
			}
			for _, setting := range []string{"", "optional", "srtp"} {
				id := "ud" + randomToken(6) + "@sipp"
				done := make(chan error, 1)
				go func() {
					_, err := bed.SippCall(ctx, testbed.SippCallOptions{From: caller, To: insecure.target, CallID: id, SDP: sippSDP(40000, "RTP/SAVP", c), ExpectStatus: 488})
					done <- err
				}()
				evs := insecure.take(t, ctx, id, protocol.AnswerRequest{Encryption: setting, Duration: 10 * time.Second}, nil)
				fin := evs[len(evs)-1]
				if err := <-done; err != nil {
					t.Errorf("setting %q: sipp did not see 488 (were we answering with a key?): %v", setting, err)
				}
				if fin.StatusCode != 488 || fin.Answered || !strings.Contains(fin.Note, "RFC 4568 §8.3") {
					t.Errorf("setting %q: final %+v: want 488 with a note on RFC 4568 §8.3", setting, fin)
				}
				t.Logf("setting %q: final %+v", setting, fin)
			}
			noKeys(t, "the session's log", insecure.log.String(), c.Key)
		})
	}

	t.Run("tampered SRTP stream", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		port := conn.LocalAddr().(*net.UDPAddr).Port
		offered, err := callmedia.NewCrypto(7, callmedia.SuiteAESCM128SHA1_80)
		if err != nil {
			t.Fatal(err)
		}
		wrong, _ := callmedia.NewCrypto(7, callmedia.SuiteAESCM128SHA1_80)
		// Kamailio relays our 200 to sipp over UDP: its SDP carries the
		// key we send with, which the log must not hold either.
		kamPort := netip.MustParseAddrPort(bed.SIPUDPAddr).Port()
		sipCapt := testbed.StartUDPCapture(t, func(src, _ int) bool { return src == int(kamPort) })

		record := filepath.Join(dir, "tampered.wav")
		id := "tp" + randomToken(6) + "@sipp"
		done := make(chan error, 1)
		go func() {
			_, err := bed.SippCall(ctx, testbed.SippCallOptions{From: caller, To: overTLS.target, CallID: id, SDP: sippSDP(port, "RTP/SAVP", offered), Hold: 5 * time.Second})
			done <- err
		}()
		// The caller's media: 50 packets of a loud tone under a key
		// that is not the offered one, then 50 of silence under the
		// right one.
		sent := make(chan error, 1)
		var fromUs [][]byte
		go func() { sent <- sendTampered(conn, offered, wrong, &fromUs) }()
		evs := overTLS.take(t, ctx, id, protocol.AnswerRequest{RecordFile: record, Duration: 30 * time.Second}, nil)
		fin := evs[len(evs)-1]
		if err := <-done; err != nil {
			t.Fatalf("sipp: %v", err)
		}
		if err := <-sent; err != nil {
			t.Fatalf("the caller's media: %v", err)
		}
		sipCapt.Stop()
		rec := readRecording(t, record)
		t.Logf("final %+v; recorded %d samples, RMS %.1f", fin, len(rec), rmsOf(rec))
		if !fin.Answered || fin.MediaKeying != protocol.KeyingSDES || fin.SRTPAuthFailures < 45 || fin.SRTPAuthFailures > 50 {
			t.Errorf("final %+v: want SRTP with about 50 auth failures (the wrong-key packets)", fin)
		}
		if fin.RTPRecv < 40 || fin.RTPRecv > 50 {
			t.Errorf("RTP received %d, want the 50 right-key packets (loopback may drop a few)", fin.RTPRecv)
		}
		if len(rec) == 0 || rmsOf(rec) > 50 {
			t.Errorf("recording %d samples at RMS %.1f: want only the right-key silence, nothing of the wrong-key tone", len(rec), rmsOf(rec))
		}
		// Our key, from the 200 Kamailio relayed to sipp.
		grams, _ := sipCapt.Datagrams()
		var ours []byte
		for _, d := range grams {
			if m := cryptoLine.FindSubmatch(d.Payload); m != nil && strings.Contains(string(d.Payload), "SIP/2.0 200") {
				if k, err := base64.StdEncoding.DecodeString(string(m[1])); err == nil {
					ours = k
				}
			}
		}
		if ours == nil {
			t.Fatalf("no a=crypto in the 200 relayed to sipp (%d datagrams)", len(grams))
		}
		// We send with the key we announced (RFC 4568 §6.1).
		if n := decryptable(ours, fromUs); n == 0 || n < len(fromUs)/2 {
			t.Errorf("%d of our %d packets decrypt with the key in our answer", n, len(fromUs))
		}
		noKeys(t, "the session's log", overTLS.log.String(), offered.Key, wrong.Key, ours)
	})
}

var cryptoLine = regexp.MustCompile(`a=crypto:\d+ AES_CM_128_HMAC_SHA1_80 inline:([A-Za-z0-9+/=]+)`)

// sendTampered plays the caller of the tampered-stream test on conn: it
// waits for our first packet (its source is where to send), sends 50
// packets of a loud tone encrypted with wrong, then 50 of silence with
// offered (the key the answerer expects), 20 ms apart, and keeps
// receiving our packets into fromUs until conn is closed or 2 s pass
// after the last send.
func sendTampered(conn *net.UDPConn, offered, wrong callmedia.Crypto, fromUs *[][]byte) error {
	buf := make([]byte, 2048)
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, peer, err := conn.ReadFromUDP(buf)
	if err != nil {
		return fmt.Errorf("no packet from the answerer: %w", err)
	}
	*fromUs = append(*fromUs, append([]byte(nil), buf[:n]...))
	var mu sync.Mutex
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			mu.Lock()
			*fromUs = append(*fromUs, append([]byte(nil), buf[:n]...))
			mu.Unlock()
		}
	}()
	ctxFor := func(c callmedia.Crypto) (*srtp.Context, error) {
		return srtp.CreateContext(c.Key[:16], c.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	}
	bad, err := ctxFor(wrong)
	if err != nil {
		return err
	}
	good, err := ctxFor(offered)
	if err != nil {
		return err
	}
	tone := make([]int16, 160)
	for i := range tone {
		tone[i] = int16(20000 * math.Sin(2*math.Pi*1000*float64(i)/8000))
	}
	loud, _ := callmedia.Encode(callmedia.PayloadTypePCMU, tone)
	quiet, _ := callmedia.Encode(callmedia.PayloadTypePCMU, make([]int16, 160))
	for i := range 100 {
		c, payload := bad, loud
		if i >= 50 {
			c, payload = good, quiet
		}
		h := rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(1000 + i), Timestamp: uint32(160 * i), SSRC: 0x5eed}
		raw, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
		if err != nil {
			return err
		}
		out, err := c.EncryptRTP(nil, raw, nil)
		if err != nil {
			return err
		}
		if _, err := conn.WriteToUDP(out, peer); err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond) // the pace of a real stream
	}
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	<-readerDone
	mu.Lock()
	defer mu.Unlock()
	return nil
}

// decryptable counts the packets of pkts that authenticate and decrypt
// with key (AES_CM_128_HMAC_SHA1_80).
func decryptable(key []byte, pkts [][]byte) int {
	c, err := srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		return 0
	}
	n := 0
	for _, p := range pkts {
		if _, err := c.DecryptRTP(nil, p, nil); err == nil {
			n++
		}
	}
	return n
}

// baresipCallIn is one call a baresip placed to an answering session of
// ours through Kamailio over TLS, with baresip's media ports captured.
type baresipCallIn struct {
	bs     *testbed.BaresipSRTP
	evs    []protocol.AnswerEvent
	fin    protocol.AnswerEvent
	rec    []int16            // what we recorded of baresip's sine
	fromUs []testbed.Datagram // RTP-shaped datagrams we sent to baresip
}

// takeBaresipCall starts a baresip with mediaenc, has it call a, answers
// with greeting (Encryption "": over TLS, srtp) and records into dir.
// baresip hangs up once it has played the 3 s greeting: our own BYE
// cannot reach it in this bed (Kamailio opens a new TLS connection to
// baresip's Contact, and baresip 1.0's TLS listener fails the handshake;
// see kamailio.log).
func takeBaresipCall(t *testing.T, ctx context.Context, bed *testbed.Bed, a *srtpAnswerer, mediaEnc, greeting, dir string) baresipCallIn {
	t.Helper()
	bsUser := "bs" + randomToken(4)
	if _, err := bed.AddUsers(ctx, bed.Domain, bsUser); err != nil {
		t.Fatal(err)
	}
	bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: bsUser, MediaEnc: mediaEnc})
	in := func(port int) bool { return port >= bs.RTPPorts[0] && port <= bs.RTPPorts[1] }
	capt := testbed.StartUDPCapture(t, func(src, dst int) bool { return in(src) || in(dst) })
	if err := bs.Dial(a.target); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(dir, "baresip-"+mediaEnc+".wav")
	hungUp := make(chan error, 1)
	go func() {
		err := waitUntil(25*time.Second, func() bool { s, _ := bs.Speaker(); return s >= 3.2 })
		if err == nil {
			err = bs.Hangup()
		}
		hungUp <- err
	}()
	evs := a.take(t, ctx, "", protocol.AnswerRequest{PlayFile: greeting, RecordFile: record, Duration: 30 * time.Second}, nil)
	fin := evs[len(evs)-1]
	if err := <-hungUp; err != nil {
		t.Fatalf("baresip did not play 3 s of our greeting and hang up: %v (final %+v)\n%s", err, fin, bs.Output())
	}
	if err := bs.WaitClosed(1, 10*time.Second); err != nil {
		t.Fatalf("baresip: %v\n%s", err, bs.Output())
	}
	capt.Stop()
	c := baresipCallIn{bs: bs, evs: evs, fin: fin, rec: readRecording(t, record)}
	grams, _ := capt.Datagrams()
	for _, d := range grams {
		if in(int(d.Dst.Port())) && !in(int(d.Src.Port())) {
			if _, _, ok := testbed.RTPPayload(d.Payload); ok {
				c.fromUs = append(c.fromUs, d)
			}
		}
	}
	secs, speaker := bs.Speaker()
	t.Logf("final %+v; baresip: %q, played %.1f s of ours at RMS %.3f; our recording %d samples RMS %.0f; wire: %d of our packets captured",
		fin, bs.Media().Secure, secs, speaker, len(c.rec), rmsOf(c.rec), len(c.fromUs))
	return c
}

// checkAudio: audio went both ways, decrypted (our greeting at baresip's
// speaker, its 440 Hz sine in our recording), and none of the PCMU
// frames we played is in a datagram on the wire (RFC 3711: the payload
// is encrypted).
func (c baresipCallIn) checkAudio(t *testing.T, played [][]byte) {
	t.Helper()
	if c.fin.RTPSent < 100 || c.fin.RTPRecv < 100 || c.fin.SRTPAuthFailures != 0 {
		t.Errorf("RTP sent %d, received %d, auth failures %d", c.fin.RTPSent, c.fin.RTPRecv, c.fin.SRTPAuthFailures)
	}
	if _, speaker := c.bs.Speaker(); speaker < 0.1 {
		t.Errorf("baresip played our greeting at RMS %.3f: it did not come through SRTP", speaker)
	}
	if len(c.rec) == 0 || rmsOf(c.rec) < 300 {
		t.Errorf("our recording: %d samples, RMS %.0f: want baresip's tone", len(c.rec), rmsOf(c.rec))
	}
	if len(c.fromUs) < 100 {
		t.Errorf("captured %d of our packets to baresip, want >= 100 (3 s greeting)", len(c.fromUs))
	}
	if n := testbed.PlainAudio(c.fromUs, played); n != 0 {
		t.Errorf("%d of our %d packets carry a plain PCMU frame of the greeting", n, len(c.fromUs))
	}
}
