package sip

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol"
)

// sippCallee is a sipp UAS for a user new to the shared bed.
func sippCallee(t *testing.T, bed *testbed.Bed, opts testbed.SippUASOptions) *testbed.SippUAS {
	t.Helper()
	opts.User = "plain" + randomToken(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := bed.AddUsers(ctx, bed.Domain, opts.User); err != nil {
		t.Fatal(err)
	}
	return bed.StartSippUAS(t, opts)
}

// TestDialSRTPPlainCallee: over TLS, a callee that answers plain RTP/AVP
// (sipp) to our RTP/SAVP offer. With "srtp" the call is refused (RFC 4568
// §7.1.3 leaves it to policy): ACK, BYE at once, no RTP, an error
// wrapping ErrMediaInsecure naming the answer; with "optional" it
// proceeds in clear with MediaProtection "none" and a note. A 488 to the
// SAVP offer (RFC 4568 §7.1.2) is ErrMediaInsecure with "srtp"; with
// "optional" the call is placed again with a plain offer.
func TestDialSRTPPlainCallee(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	t.Run("srtp", func(t *testing.T) {
		uas := sippCallee(t, bed, testbed.SippUASOptions{Answer: 200, Media: "echo"})
		sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, "tls")))
		evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: uas.URI,
			Media: protocol.MediaOptions{Duration: time.Second, Encryption: protocol.MediaEncryptionSRTP}})
		if !errors.Is(err, protocol.ErrMediaInsecure) || !strings.Contains(err.Error(), "RTP/AVP") {
			t.Fatalf("dial: %v (events %+v); want ErrMediaInsecure naming the RTP/AVP answer", err, evs)
		}
		t.Logf("refused: %v", err)
		for _, ev := range evs {
			if ev.Final || ev.RTPSent > 0 {
				t.Errorf("event %+v after a refused answer", ev)
			}
		}
		// sipp's scenario passes only with our ACK and then our BYE.
		res, werr := uas.Wait(10 * time.Second)
		if werr != nil {
			t.Fatalf("sipp did not see ACK and BYE: %v", werr)
		}
		if res.RTPReceived != 0 {
			t.Errorf("sipp received %d RTP packets from a refused call", res.RTPReceived)
		}
		if inv := uas.Invites(); len(inv) != 1 || !strings.Contains(testbed.SDPBody(inv[0]), "RTP/SAVP") || !strings.Contains(testbed.SDPBody(inv[0]), "a=crypto:") {
			t.Errorf("want one RTP/SAVP INVITE over TLS, got %d: %q", len(inv), inv)
		}
	})

	t.Run("optional", func(t *testing.T) {
		uas := sippCallee(t, bed, testbed.SippUASOptions{Answer: 200, Media: "echo"})
		sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, "tls")))
		evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: uas.URI,
			Media: protocol.MediaOptions{Duration: time.Second, Encryption: protocol.MediaEncryptionOptional}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		ev := lastEvent(t, evs)
		if !ev.Answered || ev.MediaProtection != protocol.MediaInClear || ev.MediaKeying != "" || ev.RTPRecv == 0 ||
			!strings.Contains(ev.Note, "did not accept SRTP") {
			t.Errorf("final %+v; want answered in clear with a note", ev)
		}
		t.Logf("note: %s", ev.Note)
		if res, err := uas.Wait(10 * time.Second); err != nil || res.RTPReceived == 0 {
			t.Errorf("sipp: %v, %d RTP", err, res.RTPReceived)
		}
	})

	t.Run("srtp-488", func(t *testing.T) {
		uas := sippCallee(t, bed, testbed.SippUASOptions{Answer: 488})
		sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, "tls")))
		_, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: uas.URI,
			Media: protocol.MediaOptions{Duration: time.Second, Encryption: protocol.MediaEncryptionSRTP}})
		if !errors.Is(err, protocol.ErrMediaInsecure) || !strings.Contains(err.Error(), "488") {
			t.Fatalf("dial: %v; want ErrMediaInsecure naming the 488", err)
		}
		if _, err := uas.Wait(10 * time.Second); err != nil {
			t.Errorf("sipp: %v", err)
		}
		if n := len(uas.Invites()); n != 1 {
			t.Errorf("%d INVITEs, want 1 (no plain retry with srtp)", n)
		}
	})

	t.Run("optional-488", func(t *testing.T) {
		uas := sippCallee(t, bed, testbed.SippUASOptions{Answer: 488, Calls: 2})
		sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, "tls")))
		evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: uas.URI,
			Media: protocol.MediaOptions{Duration: time.Second, Encryption: protocol.MediaEncryptionOptional}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		ev := lastEvent(t, evs)
		if ev.StatusCode != 488 || !strings.Contains(ev.Note, "called again with plain RTP") {
			t.Errorf("final %+v; want the 488 of the plain retry with a note", ev)
		}
		_, _ = uas.Wait(10 * time.Second)
		inv := uas.Invites()
		if len(inv) != 2 {
			t.Fatalf("%d INVITEs reached the callee, want 2", len(inv))
		}
		if b := testbed.SDPBody(inv[0]); !strings.Contains(b, "RTP/SAVP") {
			t.Errorf("first INVITE is not RTP/SAVP:\n%s", b)
		}
		if b := testbed.SDPBody(inv[1]); strings.Contains(b, "RTP/SAVP") || strings.Contains(b, "crypto") || !strings.Contains(b, "RTP/AVP") {
			t.Errorf("the retry is not a plain offer:\n%s", b)
		}
	})
}

// TestDialNoCryptoOverUDPTCP: over UDP and TCP signalling no INVITE ever
// carries a=crypto or RTP/SAVP, whatever the setting (RFC 4568 §8.3);
// "srtp" fails with ErrMediaInsecure before anything is sent; "optional"
// calls in clear and says why.
func TestDialNoCryptoOverUDPTCP(t *testing.T) {
	bed := testbed.Shared(t)
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			settings := []string{protocol.MediaEncryptionOptional, protocol.MediaEncryptionNone, protocol.MediaEncryptionDefault}
			uas := sippCallee(t, bed, testbed.SippUASOptions{Answer: 200, Media: "echo", Calls: len(settings)})
			sess := connect(t, bedRequest(t, bed, "alice", bedServer(bed, tr)))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			st, err := sess.Dial(ctx, protocol.DialRequest{Target: uas.URI, Media: protocol.MediaOptions{Encryption: protocol.MediaEncryptionSRTP}})
			if st != nil {
				st.Close()
			}
			if !errors.Is(err, protocol.ErrMediaInsecure) || !strings.Contains(err.Error(), "media_encryption = srtp needs SIP over TLS") {
				t.Fatalf("srtp over %s: %v; want ErrMediaInsecure from Dial itself", tr, err)
			}
			t.Logf("srtp over %s: %v", tr, err)
			for _, enc := range settings {
				evs, err := dialAll(t, sess, ctx, protocol.DialRequest{Target: uas.URI,
					Media: protocol.MediaOptions{Duration: 300 * time.Millisecond, Encryption: enc}})
				if err != nil {
					t.Fatalf("%q: %v", enc, err)
				}
				ev := lastEvent(t, evs)
				if !ev.Answered || ev.MediaProtection != protocol.MediaInClear || ev.RTPRecv == 0 {
					t.Errorf("%q: final %+v", enc, ev)
				}
				if (enc == protocol.MediaEncryptionOptional) != strings.Contains(ev.Note, "SRTP not offered") {
					t.Errorf("%q: note %q", enc, ev.Note)
				}
			}
			if _, err := uas.Wait(10 * time.Second); err != nil {
				t.Errorf("sipp: %v", err)
			}
			inv := uas.Invites()
			// The "srtp" attempt sent nothing: only the three calls arrived.
			if len(inv) != len(settings) {
				t.Fatalf("%d INVITEs reached the callee, want %d", len(inv), len(settings))
			}
			for i, m := range inv {
				b := testbed.SDPBody(m)
				if !strings.Contains(b, "m=audio") || !strings.Contains(b, "RTP/AVP") {
					t.Errorf("INVITE %d has no plain audio offer:\n%s", i, m)
				}
				if strings.Contains(strings.ToLower(m), "crypto") || strings.Contains(m, "RTP/SAVP") || strings.Contains(m, "inline:") {
					t.Errorf("INVITE %d over %s carries SRTP keying:\n%s", i, tr, m)
				}
			}
		})
	}
}
