package answer

import (
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmd/whoiscaller"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/protocol"
)

// TestAnswerJudgesAsWhoisCaller: the same INVITE gets the same verdict
// from answer as from whois-caller (one judge, pkg/core/callerjudge).
func TestAnswerJudgesAsWhoisCaller(t *testing.T) {
	calls := map[string]protocol.IncomingCall{
		"verified":         bob("c-verified"),
		"verified-by-scan": invite("c-scan", "<sip:bob@example.com>"),
		"verified-by-tel":  invite("c-tel", "<tel:+15550100>"),
		"mismatch":         invite("c-mismatch", "<sip:mallory@evil.example>", hint(cmdtest.BobJID)),
		"not-in-roster":    invite("c-nir", "<sip:carol@example.com>", hint("carol@example.com")),
		"unknown":          invite("c-unknown", "<sip:stranger@example.com>"),
		"anonymous":        invite("c-anon", `"Anonymous" <sip:anonymous@anonymous.invalid>`),
	}
	for name, in := range calls {
		t.Run(name, func(t *testing.T) {
			e, _ := env(t)
			e.In.Reset()
			e.In.Write(in.Raw)
			w := e.Run(func(f *cmdutil.Factory) *cobra.Command { return whoiscaller.NewCmdWhoisCaller(f, nil) }, "--json")
			var want struct{ Verdict string }
			if err := json.Unmarshal([]byte(w.Stdout), &want); err != nil || w.Code != 0 {
				t.Fatalf("whois-caller: exit %d %v: %s", w.Code, err, w.Stdout)
			}
			s := start(t, e, "--json", "--max-calls", "1", "--accept", strings.Join(verdicts, ","))
			s.ring(in)
			r := s.wait()
			verdict, _, _ := strings.Cut(name, "-by-tel")
			if verdict != name {
				verdict = "verified-by-scan"
			}
			if got := reports(t, r.Stdout)[in.CallID]; got.Verdict != want.Verdict || got.Verdict != verdict {
				t.Errorf("answer judged %q, whois-caller %q", got.Verdict, want.Verdict)
			}
		})
	}
}

// TestAnswerListenReports: registration changes and calls the backend
// could not hand over are one stderr line each; a registration lost for
// --give-up-after exits 7.
func TestAnswerListenReports(t *testing.T) {
	e, _ := env(t)
	s := start(t, e, "--give-up-after", "100ms")
	s.ring(protocol.IncomingCall{Missed: 3, MissedCallIDs: []string{"m1", "m2"}})
	s.ring(protocol.IncomingCall{Registration: &protocol.RegistrationEvent{State: protocol.RegistrationLost,
		Server: "192.0.2.5:5061", Transport: "tls", Reason: "connection closed"}})
	var r cmdtest.Result
	select {
	case r = <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the listener did not give up")
	}
	if r.Code != cmdutil.ExitNetwork || !strings.Contains(r.Err.Error(), "giving up (--give-up-after 100ms)") {
		t.Errorf("exit %d: %v", r.Code, r.Err)
	}
	for _, want := range []string{
		"cusax: answer: 3 incoming call(s) arrived while the listener was behind and were not handled (Call-ID m1, m2, …)\n",
		"cusax: answer: registration of sip:alice@example.com with 192.0.2.5:5061 over tls lost (connection closed); registering again\n",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
}

type closedPipe struct{}

func (closedPipe) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// TestAnswerStdoutClosed: when stdout's reader is gone (piped into head),
// the listener stops after the call in hand instead of taking calls
// nobody sees; the error is the EPIPE the binary maps to 141.
func TestAnswerStdoutClosed(t *testing.T) {
	e, b := env(t)
	e.IO.Out = closedPipe{}
	s := start(t, e, "--json")
	s.ring(bob("bob-1"))
	r := s.wait()
	if !errors.Is(r.Err, syscall.EPIPE) || len(b.Requests()) != 1 {
		t.Errorf("exit %d: %v", r.Code, r.Err)
	}
}
