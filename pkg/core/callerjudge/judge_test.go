package callerjudge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// TestHintLookupDomainForms: a Call-Info hint (RFC 7081 §3.5, RFC 6993)
// finds its roster entry whatever case or IDN form either side spells the
// domain in (issue 14), and no look-alike.
func TestHintLookupDomainForms(t *testing.T) {
	lookup := HintLookup([]callerid.Entry{
		{JID: "bob@xn--bcher-kva.example", Name: "Bob"},
		{JID: "carol@Example.Test", Name: "Carol"},
	})
	for hint, want := range map[string]string{
		"bob@bücher.example":         "Bob",
		"bob@BÜCHER.example":         "Bob",
		"Bob@XN--BCHER-KVA.example.": "Bob",
		"carol@example.test":         "Carol",
		"carol@EXAMPLE.TEST/phone":   "Carol",
		"bob@bucher.example":         "",
		"carol@sub.example.test":     "",
		"":                           "",
	} {
		e, ok := lookup(hint)
		if ok != (want != "") || e.Name != want {
			t.Errorf("lookup(%q) = %q, %v; want %q", hint, e.Name, ok, want)
		}
	}
}

// closeCounter is a chat session that only counts Close.
type closeCounter struct {
	protocol.IMPPSession
	closed int
}

func (c *closeCounter) Close(context.Context) error { c.closed++; return nil }

// A listener's chat session outlives an XMPP server restart: when the
// connection turns out lost, WithChat logs in again once, says so, and runs
// f on the new session; a refusal is returned without logging in again.
func TestWithChatLogsInAgain(t *testing.T) {
	var sessions []*closeCounter
	var warn bytes.Buffer
	j := New(Options{JID: "alice@example.test", Warn: &warn, Chat: func() (*session.ChatSession, error) {
		c := &closeCounter{}
		sessions = append(sessions, c)
		return &session.ChatSession{IMPPSession: c, Plugins: &session.Plugins{}}, nil
	}})
	calls := 0
	err := j.WithChat(func(s *session.ChatSession) error {
		if calls++; calls == 1 {
			return fmt.Errorf("send: %w", protocol.ErrNotConnected)
		}
		if s.IMPPSession != sessions[1] {
			t.Errorf("f ran again on the old session")
		}
		return nil
	})
	if err != nil || calls != 2 || len(sessions) != 2 || sessions[0].closed != 1 {
		t.Fatalf("err %v, %d calls, %d logins, old session closed %d times", err, calls, len(sessions), sessions[0].closed)
	}
	if !strings.Contains(warn.String(), "cusax: chat connection of alice@example.test lost (") {
		t.Errorf("warning %q", warn.String())
	}
	denied := fmt.Errorf("forbidden: %w", protocol.ErrDenied)
	if err := j.WithChat(func(*session.ChatSession) error { return denied }); !errors.Is(err, protocol.ErrDenied) || len(sessions) != 2 {
		t.Errorf("refusal: %v after %d logins, want ErrDenied and no new login", err, len(sessions))
	}
}

// Two users of the session find it lost at once (a --notify and a judge):
// it is logged in again once, not twice.
func TestWithChatLogsInAgainOnce(t *testing.T) {
	var mu sync.Mutex
	var sessions []*closeCounter
	j := New(Options{JID: "alice@example.test", Chat: func() (*session.ChatSession, error) {
		mu.Lock()
		defer mu.Unlock()
		c := &closeCounter{}
		sessions = append(sessions, c)
		return &session.ChatSession{IMPPSession: c, Plugins: &session.Plugins{}}, nil
	}})
	if _, err := j.Chat(); err != nil {
		t.Fatal(err)
	}
	first := sessions[0]
	var failed sync.WaitGroup
	failed.Add(2)
	var done sync.WaitGroup
	for range 2 {
		done.Add(1)
		go func() {
			defer done.Done()
			calls := 0
			err := j.WithChat(func(s *session.ChatSession) error {
				if calls++; s.IMPPSession == first {
					failed.Done()
					failed.Wait() // both saw the old session fail
					return protocol.ErrNotConnected
				}
				return nil
			})
			if err != nil || calls != 2 {
				t.Errorf("err %v after %d calls", err, calls)
			}
		}()
	}
	done.Wait()
	if len(sessions) != 2 || first.closed != 1 {
		t.Errorf("%d logins, the old session closed %d times; want 2 and 1", len(sessions), first.closed)
	}
}
