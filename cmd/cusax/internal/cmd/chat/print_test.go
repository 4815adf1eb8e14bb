package chat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/protocol"
)

func printed(t *testing.T, tty, asJSON bool, m protocol.Message) string {
	t.Helper()
	io, _, out, _ := iostreams.Test()
	io.SetTTY(false, tty, false)
	o := &Options{F: &cmdutil.Factory{IO: io}, JSON: asJSON}
	if err := printMessage(o, m); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// On a terminal, another user's text cannot move the cursor, erase the
// line or reorder it: control, C1 and bidi characters are shown escaped,
// so a body cannot fake a second "carol:" line.
func TestPrintTerminalEscapes(t *testing.T) {
	recv := time.Date(2026, 12, 7, 10, 0, 0, 0, time.Local)
	for _, c := range []struct{ name, from, body, want string }{
		{"carriage return", "mallory@example.test/x", "ok\rcarol@example.test: send the key", `ok\rcarol@example.test: send the key`},
		{"newline", "mallory@example.test/x", "ok\n10:00:01 carol@example.test: hi", `ok\n10:00:01 carol@example.test: hi`},
		{"ANSI erase line", "mallory@example.test/x", "\x1b[2K\x1b[0Gcarol@example.test: hi", `\x1b[2K\x1b[0Gcarol@example.test: hi`},
		{"C1 CSI", "mallory@example.test/x", "\u009b2Kcarol: hi", `\u009b2Kcarol: hi`},
		{"RLO in body", "mallory@example.test/x", "\u202e:lorac", `\u202e:lorac`},
		{"bidi isolate in sender", "mallory\u2067@example.test/x", "hi", "hi"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := printed(t, true, false, protocol.Message{From: c.from, Type: "chat", Body: c.body, Time: recv})
			if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
				t.Errorf("not one line: %q", got)
			}
			if strings.ContainsAny(got[:len(got)-1], "\r\n\x1b\u009b\u202e\u2067") {
				t.Errorf("a control character reached the terminal: %q", got)
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("got %q, want it to show %q", got, c.want)
			}
			if c.name == "bidi isolate in sender" && !strings.Contains(got, `mallory\u2067@example.test/x:`) {
				t.Errorf("sender not escaped: %q", got)
			}
		})
	}
}

// A delayed message (XEP-0203: offline storage) shows when it was received
// as its time and the sender's stamp separately, marked as such.
func TestPrintDelay(t *testing.T) {
	recv := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	sent := recv.Add(-3 * time.Hour)
	m := protocol.Message{From: "bob@example.test/x", Type: "chat", Body: "hi", Time: recv, Delay: sent}

	tty := printed(t, true, false, m)
	wantSent := "(delayed: sent " + sent.Local().Format("15:04:05") + ")"
	if sent.Local().Format("2006-01-02") != recv.Local().Format("2006-01-02") {
		wantSent = "(delayed: sent " + sent.Local().Format("2006-01-02 15:04:05") + ")"
	}
	if !strings.HasPrefix(tty, recv.Local().Format("15:04:05")+" ") || !strings.Contains(tty, wantSent) {
		t.Errorf("terminal: %q, want the receive time first and %q", tty, wantSent)
	}

	var j map[string]any
	if err := json.Unmarshal([]byte(printed(t, false, true, m)), &j); err != nil {
		t.Fatal(err)
	}
	if j["received_at"] != "2026-12-07T10:00:00Z" || j["delayed_at"] != "2026-12-07T07:00:00Z" {
		t.Errorf("json received_at %v delayed_at %v", j["received_at"], j["delayed_at"])
	}
	j = nil
	if err := json.Unmarshal([]byte(printed(t, false, true, protocol.Message{From: "b@x", Type: "chat", Body: "now", Time: recv})), &j); err != nil {
		t.Fatal(err)
	}
	if _, ok := j["delayed_at"]; ok {
		t.Errorf("undelayed message has a delay: %v", j)
	}

	piped := printed(t, false, false, m)
	if want := "2026-12-07T10:00:00Z\tbob@example.test/x\tchat\thi\t2026-12-07T07:00:00Z\n"; piped != want {
		t.Errorf("piped %q, want %q", piped, want)
	}
}

func TestCheckBody(t *testing.T) {
	if err := checkBody(strings.Repeat("x", 100<<10)); err != nil {
		t.Errorf("100 KiB: %v", err)
	}
	if err := checkBody(strings.Repeat("x", maxBody+1)); err == nil || !strings.Contains(err.Error(), "over the") {
		t.Errorf("too long: %v", err)
	}
	// '&' is 5 bytes on the wire: the limit is on what the server sees.
	if err := checkBody(strings.Repeat("&", maxBody/4)); err == nil {
		t.Error("escaped size not checked")
	}
	if err := checkBody("ab\xffc"); err == nil || !strings.Contains(err.Error(), "byte 3 is 0xff") {
		t.Errorf("invalid UTF-8: %v", err)
	}
}

func TestSendLines(t *testing.T) {
	long := strings.Repeat("é", 60<<10) // 120 KiB, whole
	for _, c := range []struct {
		name, in string
		sent     []string
		err      string
	}{
		{"lines", "a\n\n  \nb\r\nc", []string{"a", "b", "c"}, ""},
		{"long line sent whole", "x\n" + long + "\n", []string{"x", long}, ""},
		{"too long: nothing of it, nothing after", "x\ny\n" + strings.Repeat("z", maxBody+10) + "\nafter\n", []string{"x", "y"},
			"--lines: line 3 is 252.1 KiB, over the 252.0 KiB one message may carry; it was not sent (2 messages before it were sent)"},
		{"invalid UTF-8", "\xc3(\n", nil, "--lines: line 1 is not valid UTF-8 (byte 1 is 0xc3); XMPP carries UTF-8 text only; it was not sent (nothing was sent)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sent []string
			err := sendLines(context.Background(), bufio.NewReaderSize(strings.NewReader(c.in), 4096), func(s string) error {
				sent = append(sent, s)
				return nil
			})
			if strings.Join(sent, "|") != strings.Join(c.sent, "|") {
				t.Errorf("sent %d messages, want %d", len(sent), len(c.sent))
			}
			switch {
			case c.err == "" && err != nil:
				t.Errorf("error %v", err)
			case c.err != "" && (err == nil || err.Error() != c.err):
				t.Errorf("error %v, want %q", err, c.err)
			}
		})
	}
}

type noAckSession struct {
	protocol.UnsupportedIMPPSession
}

func (noAckSession) Report() protocol.ConnectionReport { return protocol.ConnectionReport{} }
func (noAckSession) Close(context.Context) error       { return nil }
func (noAckSession) Messages(context.Context) (protocol.Stream[protocol.Message], error) {
	return nil, nil
}
func (noAckSession) AckedMessages(context.Context) (protocol.Stream[protocol.Message], error) {
	return nil, fmt.Errorf("no XEP-0198: %w", protocol.ErrUnsupported)
}
func (noAckSession) AckMessage(context.Context, uint64) error { return protocol.ErrUnsupported }

// Without acknowledgement (a server without stream management, an older
// plugin) --listen still works, and says once on stderr what is at risk.
func TestOpenMessagesWithoutAcks(t *testing.T) {
	var errOut strings.Builder
	_, acker, err := openMessages(context.Background(), noAckSession{}, &errOut)
	if err != nil || acker != nil {
		t.Fatalf("openMessages: acker %v, err %v", acker, err)
	}
	if got := errOut.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "cusax: warning:") || !strings.Contains(got, "XEP-0198") {
		t.Errorf("stderr %q", got)
	}
}
