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
	in := takeBaresipCall(t, ctx, bed, overTLS, "dtls_srtp", greeting, dir)
	fin, m := in.fin, in.bs.Media()
	if !fin.Answered || fin.HungUpBy != protocol.HungUpByCaller || fin.MediaKeying != protocol.KeyingDTLS || fin.MediaProtection == "" || fin.MediaProtection == protocol.MediaInClear {
		t.Errorf("final %+v: want answered with DTLS-SRTP, hung up by baresip", fin)
	}
	if len(m.Secure) != 1 || !strings.Contains(m.Secure[0], "DTLS-SRTP") || len(m.Suites) != 1 || m.Suites[0] != fin.MediaProtection || len(m.Failures) > 0 {
		t.Errorf("baresip: secure %q, suites %q (failures %q), ours %q: want one DTLS-SRTP line with our suite", m.Secure, m.Suites, m.Failures, fin.MediaProtection)
	}
	for _, ev := range in.evs {
		if ev.Kind == protocol.AnswerAnswered && (ev.MediaProtection != fin.MediaProtection || ev.MediaKeying != protocol.KeyingDTLS) {
			t.Errorf("answered event %+v, final %q", ev, fin.MediaProtection)
		}
	}
	in.checkAudio(t, played)
	var notes []string
	for _, ev := range in.evs {
		notes = append(notes, ev.Note)
	}
	// The answering session traces no SDP of its own; its log shows the
	// call's "answered" line with the suite.
	checkNoDTLSKeys(t, overTLS.log.String(), "media_protection="+fin.MediaProtection, used, notes...)
}

// TestAnswerDTLSRules: the answer side of the DTLS-SRTP rules, with a
// cusax caller through the bed's Kamailio (each side logging at Trace):
//   - hostile: the caller's DTLS certificate does not match the
//     fingerprint of its offer (RFC 5763 §5): the answered call is hung
//     up by error before any media, with a Note naming the mismatch;
//   - the fingerprint's integrity rests on the signalling (RFC 5763 §8):
//     over UDP, "optional" answers DTLS-SRTP with a Note saying so (and
//     the caller's final Note says the same), "srtp" refuses it with 488.
func TestAnswerDTLSRules(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the test bed")
	}
	bed := testbed.Start(t, testbed.Options{})
	call := func(t *testing.T, ctx context.Context, transport, enc, target string) (<-chan []protocol.CallEvent, <-chan error) {
		caller := bedUser(t, bed, "dtlsc")
		sess, err := New(testLogger(t)).Connect(context.Background(), userRequest(t, bed, caller, transport))
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		t.Cleanup(func() { _ = sess.Close(context.Background()) })
		evc, errc := make(chan []protocol.CallEvent, 1), make(chan error, 1)
		go func() {
			evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: target,
				Media: protocol.MediaOptions{Duration: 2 * time.Second, Encryption: enc, Keying: protocol.KeyingDTLS}})
			evc <- evs
			errc <- err
		}()
		return evc, errc
	}

	t.Run("hostile caller certificate", func(t *testing.T) {
		ans := newSRTPAnswerer(t, bed, "tls")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		other, err := callmedia.NewDTLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		// The caller offers one certificate's fingerprint and handshakes
		// with another.
		hostile := context.WithValue(ctx, handshakeCertKey{}, other)
		var used *callmedia.SRTPKeys
		actx := context.WithValue(ctx, keysKey{}, func(_ []callmedia.Crypto, k *callmedia.SRTPKeys) { used = k })
		evc, errc := call(t, hostile, "tls", protocol.MediaEncryptionSRTP, ans.target)
		evs := ans.take(t, actx, "", protocol.AnswerRequest{Duration: 10 * time.Second}, nil)
		fin := evs[len(evs)-1]
		cevs, cerr := <-evc, <-errc
		t.Logf("answerer final %+v; caller: %v %+v", fin, cerr, cevs)
		if fin.HungUpBy != protocol.HungUpByError || !strings.Contains(fin.Note, "does not match the fingerprint") || fin.RTPSent != 0 || fin.RTPRecv != 0 {
			t.Errorf("final %+v: want hung up by error naming the fingerprint mismatch, no media", fin)
		}
		for _, ev := range evs {
			if ev.Kind == protocol.AnswerAnswered || ev.Kind == protocol.AnswerMedia {
				t.Errorf("event %+v: the call must not reach media", ev)
			}
		}
		if used != nil {
			t.Errorf("keys were exported from a failed handshake")
		}
		for _, ev := range cevs {
			if ev.RTPSent > 0 || ev.RTPRecv > 0 {
				t.Errorf("the caller's media flowed: %+v", ev)
			}
		}
	})

	t.Run("UDP optional: answered with a note", func(t *testing.T) {
		ans := newSRTPAnswerer(t, bed, "udp")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		evc, errc := call(t, ctx, "udp", protocol.MediaEncryptionOptional, ans.target)
		evs := ans.take(t, ctx, "", protocol.AnswerRequest{Duration: 10 * time.Second, Encryption: protocol.MediaEncryptionOptional}, nil)
		fin := evs[len(evs)-1]
		cevs, cerr := <-evc, <-errc
		if cerr != nil {
			t.Fatalf("caller: %v", cerr)
		}
		cfin := lastEvent(t, cevs)
		t.Logf("answerer final %+v; caller final %+v", fin, cfin)
		if !fin.Answered || fin.MediaKeying != protocol.KeyingDTLS || !strings.Contains(fin.Note, "RFC 5763 §8") || fin.RTPRecv < 50 {
			t.Errorf("answerer final %+v: want DTLS-SRTP with media and a note on the fingerprint's integrity", fin)
		}
		if cfin.MediaKeying != protocol.KeyingDTLS || cfin.MediaProtection != fin.MediaProtection || !strings.Contains(cfin.Note, "RFC 5763 §8") || cfin.RTPRecv < 50 {
			t.Errorf("caller final %+v: want DTLS-SRTP with media and a note on the fingerprint's integrity", cfin)
		}
	})

	t.Run("UDP srtp: 488", func(t *testing.T) {
		ans := newSRTPAnswerer(t, bed, "udp")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		// The caller may offer DTLS over UDP under "optional"; we refuse
		// it under "srtp".
		evc, errc := call(t, ctx, "udp", protocol.MediaEncryptionOptional, ans.target)
		evs := ans.take(t, ctx, "", protocol.AnswerRequest{Duration: 10 * time.Second, Encryption: protocol.MediaEncryptionSRTP}, nil)
		fin := evs[len(evs)-1]
		// The caller ("optional") now tries again in clear; nobody
		// answers that: hang it up.
		cancel()
		cevs, cerr := <-evc, <-errc
		t.Logf("answerer final %+v; caller %v %+v", fin, cerr, cevs)
		if fin.StatusCode != 488 || fin.Answered || !strings.Contains(fin.Note, "RFC 5763 §8") {
			t.Errorf("final %+v: want 488 with a note on RFC 5763 §8", fin)
		}
	})
}
