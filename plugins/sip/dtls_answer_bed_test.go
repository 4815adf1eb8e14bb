package sip

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// TestAnswerDTLSBaresip: baresip 1.0 with mediaenc dtls_srtp calls a
// session of ours registered over TLS through Kamailio; its
// UDP/TLS/RTP/SAVP offer (a=setup:actpass) is answered with DTLS-SRTP
// (RFC 5763 §5: we answer a=setup:active and run the handshake from the
// 200 on). Audio goes both ways (RTP counts, our recording, what baresip
// played), baresip's log says DTLS-SRTP complete with the profile our
// events report, keyed by dtls, the UDP tap finds none of our greeting's
// PCMU frames in clear, and the Trace log holds neither SRTP key.
func TestAnswerDTLSBaresip(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test bed")
	}
	bed := testbed.Start(t, testbed.Options{SIPDigestAlgorithm: "MD5"}) // baresip 1.0: MD5 only
	overTLS := newSRTPAnswerer(t, bed, "tls")
	dir := t.TempDir()
	greeting := filepath.Join(dir, "greeting.wav")
	writeTone(t, greeting, 3*time.Second)
	played := toneFrames(t, readTone(t, greeting), callmedia.PayloadTypePCMU)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var used *callmedia.SRTPKeys
	ctx = context.WithValue(ctx, keysKey{}, func(_ []callmedia.Crypto, k *callmedia.SRTPKeys) { used = k })
	bsUser := "bsdtls" + randomToken(4)
	if _, err := bed.AddUsers(ctx, bed.Domain, bsUser); err != nil {
		t.Fatal(err)
	}
	bs := bed.StartBaresipSRTP(t, testbed.BaresipSRTPOptions{User: bsUser, MediaEnc: "dtls_srtp"})
	in := func(port int) bool { return port >= bs.RTPPorts[0] && port <= bs.RTPPorts[1] }
	capt := testbed.StartUDPCapture(t, func(src, dst int) bool { return in(src) || in(dst) })
	if err := bs.Dial(overTLS.target); err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(dir, "baresip.wav")
	// baresip hangs up once it has played our 3 s greeting (our BYE
	// cannot reach baresip in this bed, see TestAnswerSRTP).
	hungUp := make(chan error, 1)
	go func() {
		err := waitUntil(25*time.Second, func() bool { s, _ := bs.Speaker(); return s >= 3.2 })
		if err == nil {
			err = bs.Hangup()
		}
		hungUp <- err
	}()
	// Encryption "" over TLS is srtp: the DTLS offer qualifies.
	evs := overTLS.take(t, ctx, "", protocol.AnswerRequest{PlayFile: greeting, RecordFile: record, Duration: 30 * time.Second}, nil)
	fin := evs[len(evs)-1]
	if err := <-hungUp; err != nil {
		t.Fatalf("baresip did not play 3 s of our greeting and hang up: %v (final %+v)\n%s", err, fin, bs.Output())
	}
	if err := bs.WaitClosed(1, 10*time.Second); err != nil {
		t.Fatalf("baresip: %v\n%s", err, bs.Output())
	}
	capt.Stop()
	m := bs.Media()
	secs, speaker := bs.Speaker()
	rec := readRecording(t, record)
	t.Logf("final %+v; baresip: %q, played %.1f s of ours at RMS %.3f; our recording %d samples RMS %.0f", fin, m.Secure, secs, speaker, len(rec), rmsOf(rec))
	if !fin.Answered || fin.HungUpBy != protocol.HungUpByCaller || fin.MediaKeying != protocol.KeyingDTLS || fin.MediaProtection == "" || fin.MediaProtection == protocol.MediaInClear {
		t.Errorf("final %+v: want answered with DTLS-SRTP, hung up by baresip", fin)
	}
	if len(m.Secure) != 1 || !strings.Contains(m.Secure[0], "DTLS-SRTP") || len(m.Suites) != 1 || m.Suites[0] != fin.MediaProtection || len(m.Failures) > 0 {
		t.Errorf("baresip: secure %q, suites %q (failures %q), ours %q: want one DTLS-SRTP line with our suite", m.Secure, m.Suites, m.Failures, fin.MediaProtection)
	}
	for _, ev := range evs {
		if ev.Kind == protocol.AnswerAnswered && (ev.MediaProtection != fin.MediaProtection || ev.MediaKeying != protocol.KeyingDTLS) {
			t.Errorf("answered event %+v, final %q", ev, fin.MediaProtection)
		}
	}
	if fin.RTPSent < 100 || fin.RTPRecv < 100 || fin.SRTPAuthFailures != 0 {
		t.Errorf("RTP sent %d, received %d, auth failures %d", fin.RTPSent, fin.RTPRecv, fin.SRTPAuthFailures)
	}
	if speaker < 0.1 {
		t.Errorf("baresip played our greeting at RMS %.3f: it did not come through DTLS-SRTP", speaker)
	}
	if len(rec) == 0 || rmsOf(rec) < 300 {
		t.Errorf("our recording: %d samples, RMS %.0f: want baresip's tone", len(rec), rmsOf(rec))
	}
	grams, _ := capt.Datagrams()
	var fromUs []testbed.Datagram
	for _, d := range grams {
		if in(int(d.Dst.Port())) && !in(int(d.Src.Port())) {
			if _, _, ok := testbed.RTPPayload(d.Payload); ok {
				fromUs = append(fromUs, d)
			}
		}
	}
	if len(fromUs) < 100 {
		t.Errorf("captured %d of our packets to baresip, want >= 100 (3 s greeting)", len(fromUs))
	}
	if n := testbed.PlainAudio(fromUs, played); n != 0 {
		t.Errorf("%d of our %d packets carry a plain PCMU frame of the greeting", n, len(fromUs))
	}
	var notes []string
	for _, ev := range evs {
		notes = append(notes, ev.Note)
	}
	// The answering session traces no SDP of its own; its log shows the
	// call's "answered" line with the suite.
	checkNoDTLSKeys(t, overTLS.log.String(), "media_protection="+fin.MediaProtection, used, notes...)
}
