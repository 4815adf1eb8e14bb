package parity

import (
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/cusax/cusax/pkg/protocol"
)

// TestCheckMedia is the decision table: setting × signalling transport ×
// the backend's declared SRTP capability.
func TestCheckMedia(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name    string
		setting string
		tls     bool
		srtp    *bool
		sev     string // "" = no gap
		problem string
		fix     string
	}{
		{"default over TLS, SRTP backend", "", true, &yes, "", "", ""},
		{"srtp over TLS, SRTP backend", "srtp", true, &yes, "", "", ""},
		{"default over TLS, backend unknown", "", true, nil, "", "", ""},
		{"srtp over TLS, backend unknown", "srtp", true, nil, "", "", ""},
		{"none over TLS", "none", true, &yes, Critical, `media_encryption = "none"`, `set media_encryption = "srtp" in the [account.sip] table of account "work"`},
		{"none over TLS, backend unknown", "none", true, nil, Critical, "plain RTP", `media_encryption = "srtp"`},
		{"none over TLS, backend without SRTP", "none", true, &no, Critical, "plain RTP", `backend = "NAME"`},
		{"optional over TLS", "optional", true, &yes, Warning, "may go as plain RTP", `set media_encryption = "srtp"`},
		{"optional over TLS, backend without SRTP", "optional", true, &no, Critical, "does not declare SRTP", `declares "srtp"`},
		{"default over TLS, backend without SRTP", "", true, &no, Critical, `backend "sip" does not declare SRTP`, `cusax plugins`},
		{"srtp over TLS, backend without SRTP", "srtp", true, &no, Warning, "every call is refused", `backend = "NAME"`},
		// SIP in clear: Compare's parity.encryption says so; no second finding.
		{"none over UDP", "none", false, &yes, "", "", ""},
		{"optional over TCP", "optional", false, &no, "", "", ""},
		{"default over UDP, backend without SRTP", "", false, &no, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := CheckMedia(Media{Account: "work", Setting: tt.setting, SignallingTLS: tt.tls, Backend: "sip", BackendSRTP: tt.srtp})
			if ok != (tt.sev != "") {
				t.Fatalf("gap %v (%+v), want %v", ok, g, tt.sev != "")
			}
			if !ok {
				return
			}
			if g.Severity != tt.sev || !strings.Contains(g.Problem, tt.problem) || !strings.Contains(g.Fix, tt.fix) {
				t.Errorf("got %+v\nwant severity %s, problem ~ %q, fix ~ %q", g, tt.sev, tt.problem, tt.fix)
			}
			f, _ := CompareMedia(Media{Account: "work", Setting: tt.setting, SignallingTLS: tt.tls, Backend: "sip", BackendSRTP: tt.srtp})
			if f.ID != MediaID || f.Severity != g.Severity || f.Message != g.Problem || f.Fix != g.Fix {
				t.Errorf("finding %+v does not carry the gap %+v", f, g)
			}
		})
	}
}

// Every setting config accepts is judged; none is silently treated as
// protected over TLS except the default and "srtp".
func TestCheckMediaCoversSettings(t *testing.T) {
	yes := true
	for _, s := range append([]string{""}, protocol.MediaEncryptions...) {
		_, gap := CheckMedia(Media{Setting: s, SignallingTLS: true, BackendSRTP: &yes})
		if want := s != "" && s != protocol.MediaEncryptionSRTP; gap != want {
			t.Errorf("setting %q: gap %v, want %v", s, gap, want)
		}
	}
}

// Hostile: the fix is printed as a hint the user copies into the config.
// Whatever the account or backend name holds (config validates names, but
// the text must not rely on it), the fix and the message stay one line of
// printable text with the name quoted, so a name cannot end the line, open
// a table or add a setting of its own.
func TestCheckMediaHostileNames(t *testing.T) {
	no := false
	for _, name := range []string{
		"a\nmedia_encryption = \"none\"",
		"x\"] [account.sip] media_encryption = \"none",
		"\x1b[2Kfake",
		"evil\u202eenon",
		"bad\xffutf8",
		"dotted.name",
	} {
		for _, setting := range []string{"none", "optional", ""} {
			g, ok := CheckMedia(Media{Account: name, Backend: name, Setting: setting, SignallingTLS: true, BackendSRTP: &no})
			if !ok {
				t.Fatalf("%q/%q: no gap", name, setting)
			}
			for _, s := range []string{g.Fix, g.Problem} {
				for _, r := range s {
					if !unicode.IsPrint(r) {
						t.Errorf("%q: non-printable %U in %q", name, r, s)
					}
				}
			}
			// The name sits inside one quoted literal, which reads back
			// as the name (the invalid byte aside), and the rest of the
			// line is the fixed template.
			q := quoteName(name)
			if u, err := strconv.Unquote(q); err != nil || u != strings.ToValidUTF8(name, "\uFFFD") {
				t.Errorf("%q: quoted as %s, which reads back as %q (%v)", name, q, u, err)
			}
			rest := strings.ReplaceAll(g.Fix, q, "N")
			if setting == "none" && !strings.HasPrefix(rest, `set media_encryption = "srtp" in the [account.sip] table of account N (`) {
				t.Errorf("%q: fix steered: %q", name, g.Fix)
			}
			if strings.Count(rest, "media_encryption =") > 1 {
				t.Errorf("%q: fix sets media_encryption twice: %q", name, g.Fix)
			}
		}
	}
}
