package answering

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

// The report says how an answered call's media was protected (RFC 7590
// §3.6 applied to media): the backend's suite and keying, "none" when it
// said nothing (a backend without srtp), and nothing for a call refused
// with 488; the request carries the setting.
func TestReportMediaProtection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		final    protocol.AnswerEvent
		action   string
		prot     string
		keying   string
		failures int64
	}{
		{name: "protected", final: protocol.AnswerEvent{StatusCode: 200, Answered: true, MediaProtection: "AEAD_AES_128_GCM", MediaKeying: protocol.KeyingSDES, SRTPAuthFailures: 2},
			action: ActionAnswered, prot: "AEAD_AES_128_GCM", keying: "sdes", failures: 2},
		{name: "in clear", final: protocol.AnswerEvent{StatusCode: 200, Answered: true, MediaProtection: protocol.MediaInClear},
			action: ActionAnswered, prot: "none"},
		{name: "backend silent", final: protocol.AnswerEvent{StatusCode: 200, Answered: true}, action: ActionAnswered, prot: "none"},
		{name: "refused 488", final: protocol.AnswerEvent{StatusCode: 488, Reason: "Not Acceptable Here", HungUpBy: protocol.HungUpByError, Note: "plain offer"},
			action: ActionMissed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := &tel{final: tc.final}
			h := &Handler{Tel: tl, Judge: judge{res: callerid.Result{Verdict: "verified"}}, Policies: policies(&fake.Policy{Name: "default"}),
				Accept: []string{"verified"}, Reject: Rejections["decline"], Request: protocol.AnswerRequest{Encryption: protocol.MediaEncryptionOptional}}
			r := h.Handle(context.Background(), invite("<sip:bob@example.com>"))
			if r.Action != tc.action || r.MediaProtection != tc.prot || r.MediaKeying != tc.keying || r.SRTPAuthFailures != tc.failures {
				t.Errorf("report %+v", r)
			}
			if len(tl.answers) != 1 || tl.answers[0].Encryption != protocol.MediaEncryptionOptional {
				t.Errorf("answers %+v: want the setting passed on", tl.answers)
			}
		})
	}
}

// A hostile backend reports media in clear under media_encryption = srtp:
// the handler hangs up (ends the Answer's context) and the report says so.
func TestReportMediaInClearUnderSRTP(t *testing.T) {
	tl := &tel{final: protocol.AnswerEvent{StatusCode: 200, Answered: true, MediaProtection: protocol.MediaInClear}}
	h := &Handler{Tel: tl, Judge: judge{res: callerid.Result{Verdict: "verified"}}, Policies: policies(&fake.Policy{Name: "default"}),
		Accept: []string{"verified"}, Reject: Rejections["decline"], Request: protocol.AnswerRequest{Encryption: protocol.MediaEncryptionSRTP}}
	r := h.Handle(context.Background(), invite("<sip:bob@example.com>"))
	if r.MediaProtection != protocol.MediaInClear || !strings.Contains(r.Error, "media in clear although media_encryption = srtp") {
		t.Errorf("report %+v", r)
	}
}

// clearTel answers with media in clear and keeps the call up until the
// host hangs up (its Answer context ends).
type clearTel struct{ tel }

func (c *clearTel) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	ch := make(chan protocol.AnswerEvent, 4)
	ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerAnswered}
	ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerMedia, MediaProtection: protocol.MediaInClear}
	go func() {
		<-ctx.Done() // only our hang-up ends this call
		ch <- protocol.AnswerEvent{CallID: req.CallID, Kind: protocol.AnswerEnded, Final: true, StatusCode: 200, Answered: true,
			HungUpBy: protocol.HungUpByHost, MediaProtection: protocol.MediaInClear}
		close(ch)
	}()
	return evStream{ch}, nil
}

// The hang-up is real: a call that would last forever ends as soon as the
// backend says its media is in clear under srtp.
func TestMediaInClearUnderSRTPHangsUp(t *testing.T) {
	h := &Handler{Tel: &clearTel{}, Judge: judge{res: callerid.Result{Verdict: "verified"}}, Policies: policies(&fake.Policy{Name: "default"}),
		Accept: []string{"verified"}, Reject: Rejections["decline"], Request: protocol.AnswerRequest{Encryption: protocol.MediaEncryptionSRTP}}
	done := make(chan Report, 1)
	go func() { done <- h.Handle(context.Background(), invite("<sip:bob@example.com>")) }()
	select {
	case r := <-done:
		if r.HungUpBy != protocol.HungUpByHost || r.Error == "" || r.MediaProtection != protocol.MediaInClear {
			t.Errorf("report %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call in clear was not hung up")
	}
}
