package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// placeDTLSCall is placeSRTPCall with MediaOptions.Keying dtls.
func placeDTLSCall(t *testing.T, bed *testbed.Bed, bs *testbed.BaresipSRTP, enc string) srtpCall {
	t.Helper()
	return placeCall(t, bed, bs, enc, protocol.KeyingDTLS, nil)
}

// TestDialDTLSBaresip: cusax calls baresip 1.0 with mediaenc dtls_srtp
// through Kamailio over TLS with Keying dtls (RFC 5763, RFC 5764). The
// call is answered, the DTLS handshake runs on the RTP socket, audio goes
// both ways (our RTP count and recording, what baresip played), baresip's
// log says DTLS-SRTP complete with the profile we report, the UDP tap
// finds none of our PCMU frames in clear, and the trace-level log (which
// shows the SDP with its fingerprints) holds neither SRTP key.
func TestDialDTLSBaresip(t *testing.T) {
	bed := md5Bed(t)
	for _, enc := range []string{protocol.MediaEncryptionDefault, protocol.MediaEncryptionOptional} {
		t.Run("encryption="+enc, func(t *testing.T) {
			bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: bedUser(t, bed, "dtls"), MediaEnc: "dtls_srtp"})
			c := placeDTLSCall(t, bed, bs, enc)
			if c.err != nil {
				t.Fatalf("dial: %v\n%s", c.err, bs.Output())
			}
			ev := c.final
			t.Logf("final: %s keyed by %s, %d sent, %d received, %d auth failures, set-up %s, note %q", ev.MediaProtection, ev.MediaKeying, ev.RTPSent, ev.RTPRecv, ev.SRTPAuthFailures, ev.SetupTime, ev.Note)
			if !ev.Answered || ev.MediaKeying != protocol.KeyingDTLS || ev.MediaProtection == "" || ev.MediaProtection == protocol.MediaInClear {
				t.Errorf("final %+v, want answered with DTLS-SRTP", ev)
			}
			for _, e := range c.events {
				if e.Answered && !e.Final && (e.MediaKeying != protocol.KeyingDTLS || e.MediaProtection != ev.MediaProtection) {
					t.Errorf("answered event %+v, want keying dtls, %s", e, ev.MediaProtection)
				}
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
			if len(m.Secure) != 1 || !strings.Contains(m.Secure[0], "DTLS-SRTP") || len(m.Suites) != 1 || m.Suites[0] != ev.MediaProtection || len(m.Failures) > 0 {
				t.Errorf("baresip: secure lines %q, suites %q, failures %q; want one DTLS-SRTP line with %s", m.Secure, m.Suites, m.Failures, ev.MediaProtection)
			}
			if secs, rms := bs.Speaker(); secs < 1 || rms < 0.1 {
				t.Errorf("baresip played %.1f s of our audio, RMS %.3f: our tone did not come through DTLS-SRTP", secs, rms)
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
				t.Errorf("DTLS-SRTP call: %d of %d datagrams carry our PCMU frames in clear", n, len(c.grams))
			}
			checkNoDTLSKeys(t, c.log, "a=fingerprint:", c.used, c.final.Note)
		})
	}
}

// checkNoDTLSKeys: the trace log showed mustShow (the DTLS SDP, or the
// call's keyed line, so the call was logged at all) and holds neither
// exported SRTP key.
func checkNoDTLSKeys(t *testing.T, log, mustShow string, used *callmedia.SRTPKeys, notes ...string) {
	t.Helper()
	if used == nil {
		t.Fatalf("the keys used were not reported")
	}
	if !strings.Contains(log, mustShow) {
		t.Fatalf("the trace log does not show %q: the check below would prove nothing\n%s", mustShow, log)
	}
	noKeys(t, "the session's log", log, used.LocalKey, used.RemoteKey)
	for _, n := range notes {
		noKeys(t, "a note", n, used.LocalKey, used.RemoteKey)
	}
}
