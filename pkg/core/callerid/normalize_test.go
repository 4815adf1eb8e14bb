package callerid

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// head is a minimal INVITE header section, LF-only, without a final line
// end.
const head = "INVITE sip:bob@example.test SIP/2.0\n" +
	"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\n" +
	"To: <sip:bob@example.test>\n" +
	"From: <sip:alice@example.test>;tag=1\n" +
	"Call-ID: c1@example.test\n" +
	"CSeq: 1 INVITE"

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestNormalize(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string // exact output; "" to check only that sipgo parses it
		wantBody string
	}{
		{name: "LF only, no body", in: head + "\n\n", want: crlf(head) + "\r\n\r\n"},
		{name: "missing final blank line", in: head, want: crlf(head) + "\r\n\r\n"},
		{name: "missing blank line after last LF", in: head + "\n", want: crlf(head) + "\r\n\r\n"},
		{name: "CRLF already, not doubled", in: crlf(head) + "\r\n\r\n", want: crlf(head) + "\r\n\r\n"},
		{name: "mixed line ends", in: strings.Replace(crlf(head), "\r\n", "\n", 2) + "\r\n\n", want: crlf(head) + "\r\n\r\n"},
		{name: "BOM and leading blank lines", in: "\xef\xbb\xbf\r\n\n  \n" + head + "\n\n", want: crlf(head) + "\r\n\r\n"},
		{name: "trailing newline after empty body dropped", in: head + "\n\n\n", want: crlf(head) + "\r\n\r\n"},
		{name: "body with right Content-Length", in: crlf(head+"\nContent-Length: 4\n\n") + "v=0\n", wantBody: "v=0\n"},
		{name: "body lost its CRs", in: head + "\nContent-Length: 10\n\nv=0\ns=-\n", wantBody: "v=0\r\ns=-\r\n"},
		{name: "body without Content-Length", in: head + "\n\nv=0\ns=-\n", want: crlf(head) + "\r\nContent-Length: 8\r\n\r\nv=0\ns=-\n", wantBody: "v=0\ns=-\n"},
		{name: "body cut short", in: head + "\nContent-Length: 300\n\nv=0\n", want: crlf(head) + "\r\nContent-Length: 4\r\n\r\nv=0\n", wantBody: "v=0\n"},
		{name: "bytes past Content-Length dropped", in: head + "\nl: 4\n\nv=0\njunk", wantBody: "v=0\n"},
		{name: "folded header kept for sipgo", in: head + "\nSubject: a\n b\n\n", want: crlf(head) + "\r\nSubject: a\r\n b\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			orig := bytes.Clone(in)
			got, err := Normalize(in)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if !bytes.Equal(in, orig) {
				t.Error("Normalize modified its input")
			}
			if tt.want != "" && string(got) != tt.want {
				t.Errorf("Normalize =\n%q\nwant\n%q", got, tt.want)
			}
			msg, err := sip.ParseMessage(got)
			if err != nil {
				t.Fatalf("sipgo cannot parse the result: %v\n%q", err, got)
			}
			if string(msg.Body()) != tt.wantBody {
				t.Errorf("body = %q, want %q", msg.Body(), tt.wantBody)
			}
		})
	}
}

func TestNormalizeCapture(t *testing.T) {
	raw, err := os.ReadFile("testdata/invite-lf-only.sip")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Normalize(raw)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := sip.ParseMessage(got)
	if err != nil {
		t.Fatal(err)
	}
	body := string(msg.Body())
	if !strings.HasPrefix(body, "v=0\r\n") || !strings.HasSuffix(body, "PCMU/8000\r\n") {
		t.Errorf("body = %q, want the whole SDP with CRLF", body)
	}
}

func TestNormalizeRefuses(t *testing.T) {
	many := head
	for i := 0; i < MaxHeaders; i++ {
		many += "\nX-H: 1"
	}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "empty"},
		{"blank lines only", "\r\n\n \n", "empty"},
		{"too large", head + "\nX: " + strings.Repeat("a", MaxMessage) + "\n\n", "over the limit"},
		{"header over the cap", head + "\nX: " + strings.Repeat("a", MaxHeaderLine) + "\n\n", "header over"},
		{"folded header over the cap", head + "\nX: a" + strings.Repeat("\n "+strings.Repeat("a", 1000), 9) + "\n\n", "header over"},
		{"too many headers", many + "\n\n", "more than 256 headers"},
		{"NUL in a header", head + "\nX: a\x00b\n\n", "control character 0x00"},
		{"lone CR", strings.Replace(head, "\n", "\r", 1) + "\n\n", "control character 0x0d"},
		{"escape sequence", head + "\nSubject: \x1b[31mred\n\n", "control character 0x1b"},
		{"binary junk", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "line 1: not UTF-8"},
		{"binary junk after a start line", "INVITE sip:b@example.test SIP/2.0\n\x1a\n\x00\x00", "line 2: control character 0x1a"},
		{"invalid UTF-8", head + "\nSubject: \xff\xfe\n\n", "not UTF-8"},
		{"second Content-Length", head + "\nContent-Length: 0\nl: 0\n\n", "second Content-Length"},
		{"Content-Length not a number", head + "\nContent-Length: -1\n\n", "not a number"},
		{"start line with white space", " " + head + "\n\n", "start line begins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Normalize([]byte(tt.in))
			if err == nil {
				t.Fatal("Normalize accepted it")
			}
			if !errors.Is(err, protocol.ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error %q: want one line containing %q", err, tt.want)
			}
		})
	}
}
