package audit

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuiltinProfile(t *testing.T) {
	if got := BuiltinProfileNames(); len(got) != 1 || got[0] != DefaultProfile {
		t.Errorf("BuiltinProfileNames() = %v", got)
	}
	p := bcp195(t)
	if p.Name != "bcp195" || p.Source != "builtin" {
		t.Errorf("name %q source %q", p.Name, p.Source)
	}
	// Every check has a severity (BuiltinProfile fails otherwise); spot-check
	// the calibrations that differ from testssl.sh.
	for id, want := range map[string]Severity{
		CheckTLS10: High, CheckTLS11: High, CheckXMPPStartTLS: Critical, CheckCertTrust: Critical,
		CheckCUSAXEnc: Critical, CheckCertChanged: Medium, CheckSIPDigestAlg: Medium, CheckDiscXMPP: Info,
	} {
		if got, ok := p.Severity(id); !ok || got != want {
			t.Errorf("Severity(%s) = %s, %v; want %s", id, got, ok, want)
		}
	}
	want := Params{ExpiryUrgentDays: 14, ExpiryWarningDays: 30, MaxCertificateLifetimeDays: 398, MaxTicketLifetime: 168 * time.Hour}
	if p.Params != want {
		t.Errorf("params %+v, want %+v", p.Params, want)
	}
	if len(p.Severities()) != len(Checks()) {
		t.Errorf("%d severities for %d checks", len(p.Severities()), len(Checks()))
	}
	if _, err := BuiltinProfile("mozilla"); err == nil || !strings.Contains(err.Error(), "bcp195") {
		t.Errorf("unknown built-in: %v", err)
	}
	if _, err := BuiltinProfile("../profiles/bcp195"); err == nil {
		t.Error("path traversal accepted")
	}
}

func TestLoadProfileOverride(t *testing.T) {
	p, err := LoadProfile(filepath.Join("testdata", "acme.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "acme" || p.Source != filepath.Join("testdata", "acme.toml") {
		t.Errorf("name %q source %q", p.Name, p.Source)
	}
	if s, ok := p.Severity(CheckTLS13); !ok || s != High {
		t.Errorf("tls.tls13 = %s, %v; want high", s, ok)
	}
	if _, ok := p.Severity(CheckCertLifetime); ok {
		t.Error("cert.lifetime still enabled")
	}
	if s, _ := p.Severity(CheckTLS10); s != High {
		t.Errorf("tls.tls10 = %s, want the base's high", s)
	}
	if p.Params.ExpiryWarningDays != 45 || p.Params.ExpiryUrgentDays != 14 {
		t.Errorf("params %+v", p.Params)
	}
	// The built-in profile is not changed by loading an override.
	if s, _ := bcp195(t).Severity(CheckTLS13); s != Low {
		t.Errorf("built-in tls.tls13 = %s after override", s)
	}
}

func TestParseProfileErrors(t *testing.T) {
	tests := []struct {
		name, data string
		want       []string
	}{
		{"unknown check IDs are all named", "", []string{"cert.trusted", "tls.tls09"}},
		{"unknown key", "nmae = \"x\"\n", []string{"unknown keys", "nmae"}},
		{"unknown param", "[params]\nexpiry_days = 3\n", []string{"params.expiry_days"}},
		{"bad severity", "[severity]\n\"tls.tls10\" = \"severe\"\n", []string{"tls.tls10", "severe"}},
		{"wrong type", "[params]\nexpiry_urgent_days = \"14\"\n", []string{"line 2"}},
		{"bad duration", "[params]\nmax_ticket_lifetime = \"a week\"\n", []string{"max_ticket_lifetime"}},
		{"windows reversed", "[params]\nexpiry_warning_days = 7\n", []string{"expiry_warning_days (7)"}},
		{"unknown base", "base = \"nist\"\n", []string{"nist"}},
		{"not toml", "[severity\n", []string{"line 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.data == "" {
				_, err = LoadProfile(filepath.Join("testdata", "unknown-ids.toml"))
			} else {
				_, err = ParseProfile("p.toml", []byte(tt.data))
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := LoadProfile(filepath.Join("testdata", "missing.toml")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestProfileOverrideDoesNotAlias(t *testing.T) {
	p := bcp195(t)
	q, err := p.Override(map[string]string{CheckTLS10: "Critical"})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := q.Severity(CheckTLS10); s != Critical {
		t.Errorf("override: %s", s)
	}
	if s, _ := p.Severity(CheckTLS10); s != High {
		t.Errorf("original changed to %s", s)
	}
	r, err := q.Override(map[string]string{CheckTLS10: "off"})
	if err != nil {
		t.Fatal(err)
	}
	r, err = r.Override(map[string]string{CheckTLS10: "medium"})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := r.Severity(CheckTLS10); !ok || s != Medium {
		t.Errorf("re-enabled: %s %v", s, ok)
	}
}
