package audittls

import (
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/core/config"
)

func TestParseTargets(t *testing.T) {
	cfg := &config.Config{Accounts: []config.Account{{Name: "work"}}}
	ts, err := parseTargets("f", strings.NewReader("# list\nwork\nExample.COM\n\nchat.example sip.example # pair\n"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, tg := range ts {
		got = append(got, tg.Name+"|"+tg.ChatDomain+"|"+tg.TelephonyDomain)
	}
	want := "work|||example.com|example.com|example.com|chat.example/sip.example|chat.example|sip.example"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q", strings.Join(got, "|"))
	}
	if ts[0].Account == nil || ts[1].Account != nil {
		t.Errorf("account resolution: %+v", ts[:2])
	}
	for in, msg := range map[string]string{
		"nosuchaccount\n":         "f:1: \"nosuchaccount\" is neither",
		"\n\na b c\n":             "f:3: want an account",
		"example.com 10.0.0.1":    "f:1: \"10.0.0.1\" is not a domain",
		"# only comments\n":       "f: no targets",
		strings.Repeat("x", 5000): "f:1: bufio.Scanner: token too long",
		"ex ample.com\x00":        "is not a domain",
	} {
		_, err := parseTargets("f", strings.NewReader(in), cfg)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%.20q: %v, want %q", in, err, msg)
		}
	}
}
