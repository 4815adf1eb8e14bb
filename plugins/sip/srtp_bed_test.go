package sip

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// md5Bed starts a bed of its own for t: baresip 1.0 computes MD5
// digests only.
func md5Bed(t *testing.T) *testbed.Bed {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the test bed")
	}
	return testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"})
}

// bedUser adds a user new to the bed.
func bedUser(t *testing.T, bed *testbed.Bed, prefix string) string {
	t.Helper()
	u := prefix + randomToken(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	users, err := bed.AddUsers(ctx, bed.Domain, u)
	if err != nil {
		t.Fatal(err)
	}
	bedPasswords.Store(u, users[u].Password)
	return u
}

// bedPasswords holds the passwords of the users bedUser added.
var bedPasswords sync.Map

// userRequest is a ConnectRequest for a user bedUser added.
func userRequest(t *testing.T, bed *testbed.Bed, user, transport string) protocol.ConnectRequest {
	t.Helper()
	pw, _ := bedPasswords.Load(user)
	req := bedRequest(t, bed, user, bedServer(bed, transport))
	req.Password, _ = pw.(string)
	return req
}

// pcmuFrames are the PCMU payloads a call playing samples sends (20 ms
// frames, RFC 3551 §4.5.14).
func pcmuFrames(t *testing.T, samples []int16) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range callmedia.Frames(samples) {
		b, err := callmedia.Encode(callmedia.PayloadTypePCMU, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// srtpCall is one call from a session of ours to a baresip through
// Kamailio over TLS, playing a tone and recording, with the UDP of
// baresip's media captured.
type srtpCall struct {
	final    protocol.CallEvent
	events   []protocol.CallEvent
	err      error
	grams    []testbed.Datagram
	frames   [][]byte
	recorded []int16
	log      string
	offered  []callmedia.Crypto
	used     *callmedia.SRTPKeys
}

func placeSRTPCall(t *testing.T, bed *testbed.Bed, bs *testbed.BaresipSRTP, enc string, suites []string) srtpCall {
	t.Helper()
	return placeCall(t, bed, bs, enc, protocol.KeyingSDES, suites)
}

// placeCall places srtpCall with keying (SDES, or DTLS: then used gets
// the keys the handshake exported) and, for SDES, only the suites given
// (nil: all we offer).
func placeCall(t *testing.T, bed *testbed.Bed, bs *testbed.BaresipSRTP, enc, keying string, suites []string) srtpCall {
	t.Helper()
	var logs syncBuffer
	// The most verbose logging the backend has: every SIP message traced.
	logger := hclog.New(&hclog.LoggerOptions{Name: "sip", Level: hclog.Trace, Output: &logs})
	caller := bedUser(t, bed, keying+"caller")
	req := userRequest(t, bed, caller, "tls")
	sess, err := New(logger).Connect(context.Background(), req)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = sess.Close(context.Background()) })
	dir := t.TempDir()
	play, rec := filepath.Join(dir, "tone.wav"), filepath.Join(dir, "rec.wav")
	writeTone(t, play, 2*time.Second)
	tone, err := readPlayFile(play)
	if err != nil {
		t.Fatal(err)
	}
	in := func(p int) bool { return p >= bs.RTPPorts[0] && p <= bs.RTPPorts[1] }
	capt := testbed.StartUDPCapture(t, func(src, dst int) bool { return in(src) || in(dst) })
	var out srtpCall
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	ctx = context.WithValue(ctx, keysKey{}, func(o []callmedia.Crypto, k *callmedia.SRTPKeys) { out.offered, out.used = o, k })
	if suites != nil {
		ctx = context.WithValue(ctx, suitesKey{}, suites)
	}
	// Duration 3 s: the 2 s tone, then silence, so both sides get audio.
	out.events, out.err = dialAll(t, sess, ctx, protocol.DialRequest{Target: bs.URI,
		Media: protocol.MediaOptions{PlayFile: play, RecordFile: rec, Duration: 3 * time.Second, Encryption: enc, Keying: keying}})
	capt.Stop()
	out.grams, _ = capt.Datagrams()
	out.frames = pcmuFrames(t, tone)[5:] // steady state
	if out.err == nil && len(out.events) > 0 {
		out.final = out.events[len(out.events)-1]
	}
	if f, err := os.Open(rec); err == nil {
		if pcm, err := media.ReadWAV(f); err == nil {
			out.recorded = pcm.Mono8k()
		}
		f.Close()
	}
	out.log = logs.String()
	return out
}

// TestDialSRTPBaresip: cusax calls baresip with mediaenc srtp-mand
// through Kamailio over TLS (RFC 4568 SDES, RFC 3711). The call is
// answered, audio goes both ways (our RTP count and recording, baresip's
// played audio), baresip's log names the suite we report, the UDP tap
// finds none of our PCMU frames on the wire (a plain control call to a
// plain baresip shows the tap would), and the trace-level log holds no
// key. Then each suite we offer, alone, is accepted by baresip.
func TestDialSRTPBaresip(t *testing.T) {
	bed := md5Bed(t)

	t.Run("plain-control", func(t *testing.T) {
		bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: bedUser(t, bed, "plain"), MediaEnc: "none"})
		c := placeSRTPCall(t, bed, bs, protocol.MediaEncryptionNone, nil)
		if c.err != nil {
			t.Fatalf("dial: %v\n%s", c.err, bs.Output())
		}
		if c.final.MediaProtection != protocol.MediaInClear || c.final.MediaKeying != "" {
			t.Errorf("final %+v, want MediaProtection none", c.final)
		}
		if n := testbed.PlainAudio(c.grams, c.frames); n < 20 {
			t.Errorf("plain call: our PCMU frames in %d of %d captured datagrams; the tap should see them", n, len(c.grams))
		}
	})

	t.Run("srtp-mand", func(t *testing.T) {
		bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: bedUser(t, bed, "mand"), MediaEnc: "srtp-mand"})
		c := placeSRTPCall(t, bed, bs, protocol.MediaEncryptionDefault, nil) // "" over TLS = srtp
		if c.err != nil {
			t.Fatalf("dial: %v\n%s", c.err, bs.Output())
		}
		ev := c.final
		t.Logf("final: %s keyed by %s, %d sent, %d received, %d auth failures, set-up %s", ev.MediaProtection, ev.MediaKeying, ev.RTPSent, ev.RTPRecv, ev.SRTPAuthFailures, ev.SetupTime)
		if !ev.Answered || ev.MediaKeying != protocol.KeyingSDES || ev.MediaProtection != offerSuites[0] {
			t.Errorf("final %+v, want answered with %s keyed by sdes", ev, offerSuites[0])
		}
		if ev.RTPSent < 50 || ev.RTPRecv < 50 || ev.SRTPAuthFailures != 0 {
			t.Errorf("RTP sent %d received %d, auth failures %d", ev.RTPSent, ev.RTPRecv, ev.SRTPAuthFailures)
		}
		if r := rmsOf(c.recorded); r < 1000 {
			t.Errorf("our recording of baresip's tone: %d samples, RMS %.0f; want its 440 Hz sine", len(c.recorded), r)
		}
		if err := bs.WaitClosed(1, 10*time.Second); err != nil {
			t.Fatalf("baresip: %v\n%s", err, bs.Output())
		}
		m := bs.Media()
		if len(m.Suites) != 1 || m.Suites[0] != ev.MediaProtection || len(m.Failures) > 0 {
			t.Errorf("baresip: suites %q (secure lines %q, failures %q), want [%s]", m.Suites, m.Secure, m.Failures, ev.MediaProtection)
		}
		if secs, rms := bs.Speaker(); secs < 1 || rms < 0.1 {
			t.Errorf("baresip played %.1f s of our audio, RMS %.3f: our tone did not come through SRTP", secs, rms)
		}
		rtp := 0
		for _, d := range c.grams {
			if _, _, ok := testbed.RTPPayload(d.Payload); ok {
				rtp++
			}
		}
		if rtp < 100 {
			t.Errorf("captured %d RTP-shaped datagrams, want both directions of the call", rtp)
		}
		if n := testbed.PlainAudio(c.grams, c.frames); n != 0 {
			t.Errorf("SRTP call: %d of %d datagrams carry our PCMU frames in clear", n, len(c.grams))
		}
		checkNoKeys(t, c)
	})

	// baresip 1.0 (libre with OpenSSL) takes the first a=crypto line it
	// supports; offering one suite at a time makes it use each.
	for _, suite := range offerSuites {
		t.Run("suite="+suite, func(t *testing.T) {
			bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: bedUser(t, bed, "suite"), MediaEnc: "srtp-mand"})
			c := placeSRTPCall(t, bed, bs, protocol.MediaEncryptionSRTP, []string{suite})
			if c.err != nil {
				t.Fatalf("dial: %v\n%s", c.err, bs.Output())
			}
			if c.final.MediaProtection != suite || c.final.RTPRecv < 50 || c.final.SRTPAuthFailures != 0 {
				t.Errorf("final %+v, want %s with RTP received", c.final, suite)
			}
			if err := bs.WaitClosed(1, 10*time.Second); err != nil {
				t.Fatalf("baresip: %v\n%s", err, bs.Output())
			}
			if m := bs.Media(); len(m.Suites) != 1 || m.Suites[0] != suite {
				t.Errorf("baresip: suites %q, want [%s]", m.Suites, suite)
			}
			if _, rms := bs.Speaker(); rms < 0.1 {
				t.Errorf("baresip played RMS %.3f of our tone", rms)
			}
			if n := testbed.PlainAudio(c.grams, c.frames); n != 0 {
				t.Errorf("%d datagrams carry our PCMU frames in clear", n)
			}
			checkNoKeys(t, c)
		})
	}
}

// checkNoKeys: the trace log of an SRTP call showed the SDP (so it was
// logged at all) and holds none of the keys: not the ones we offered, not
// the callee's (RFC 4568 §8.3: whoever reads the key decrypts the call).
func checkNoKeys(t *testing.T, c srtpCall) {
	t.Helper()
	if c.used == nil || len(c.offered) == 0 {
		t.Fatalf("the keys used were not reported")
	}
	if !strings.Contains(c.log, "a=crypto:") {
		t.Fatalf("the trace log shows no a=crypto line: the check below would prove nothing\n%s", c.log)
	}
	keys := [][]byte{c.used.LocalKey, c.used.RemoteKey}
	for _, o := range c.offered {
		keys = append(keys, o.Key)
	}
	for i, k := range keys {
		for _, enc := range []string{base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k), string(k)} {
			if strings.Contains(c.log, enc) {
				t.Errorf("key %d appears in the log", i)
			}
		}
		if strings.Contains(c.log, base64.RawStdEncoding.EncodeToString(k)[:16]) {
			t.Errorf("a prefix of key %d appears in the log", i)
		}
	}
	if strings.Contains(c.final.Note, "inline:") {
		t.Errorf("the Note holds key material: %q", c.final.Note)
	}
}
