package answering

import (
	"context"
	"testing"

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
