package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStateCompare(t *testing.T) {
	p := bcp195(t)
	path := filepath.Join(t.TempDir(), "state", "cusax", "audit-state.json")

	// First audit: nothing recorded, every certificate passes as new.
	s, err := LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	first := good()
	fs := s.Compare(first, p)
	if len(fs) != 3 {
		t.Fatalf("%d findings, want one per endpoint with a certificate: %+v", len(fs), fs)
	}
	for _, f := range fs {
		if f.ID != CheckCertChanged || f.Status != Pass || !strings.Contains(f.Evidence, "first audit") {
			t.Errorf("first audit: %+v", f)
		}
	}
	s.Update(first)
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v, %v", fi.Mode(), err)
	}

	// Same certificates a day later.
	s, err = LoadState(path)
	if err != nil {
		t.Fatal(err)
	}
	second := good()
	second.ObservedAt = now.AddDate(0, 0, 1)
	for _, f := range s.Compare(second, p) {
		if f.Status != Pass || !strings.Contains(f.Evidence, "same certificate since 2026-06-01") {
			t.Errorf("same cert: %+v", f)
		}
	}
	s.Update(second)
	if rec := s.Certificates[StateKey(sipEP(&second).ID, "example.com")]; !rec.FirstSeen.Equal(now) || !rec.LastSeen.Equal(second.ObservedAt) {
		t.Errorf("record %+v", rec)
	}

	// The SIP certificate changes: new key from a new issuer.
	third := good()
	third.ObservedAt = now.AddDate(0, 0, 2)
	c := sipEP(&third).Cert
	c.LeafSHA256, c.SPKISHA256, c.Issuer = "s2", "spki-s2", "CN=Evil CA"
	fs = s.Compare(third, p)
	var changed []Finding
	for _, f := range fs {
		if f.Status == Fail {
			changed = append(changed, f)
		}
	}
	if len(changed) != 1 {
		t.Fatalf("changed findings %+v", changed)
	}
	f := changed[0]
	if f.Endpoint != sipEP(&third).ID || f.Aspect != Telephony || f.Severity != Medium || f.Fix == "" || f.Ref != "RFC 7590 §3.6" {
		t.Errorf("changed finding %+v", f)
	}
	for _, w := range []string{"s1", "s2", "new issuer (CN=Evil CA, was CN=Test CA)"} {
		if !strings.Contains(f.Evidence, w) {
			t.Errorf("evidence %q lacks %q", f.Evidence, w)
		}
	}
	if got := ExitCode(append(Evaluate(third, p), fs...), Medium, High); got != ExitWarning {
		t.Errorf("exit code %d, want warning", got)
	}
	s.Update(third)
	if rec := s.Certificates[StateKey(sipEP(&third).ID, "example.com")]; rec.LeafSHA256 != "s2" || !rec.FirstSeen.Equal(third.ObservedAt) {
		t.Errorf("record after change %+v", rec)
	}
}

func TestStateChangeClass(t *testing.T) {
	old := CertRecord{SPKISHA256: "k1", Issuer: "CN=CA"}
	for _, tt := range []struct {
		spki, issuer, want string
	}{
		{"k1", "CN=CA", "same key"},
		{"k2", "CN=CA", "new key, same issuer"},
		{"k2", "CN=Other", "new issuer"},
	} {
		if got := changeClass(old, &CertFacts{SPKISHA256: tt.spki, Issuer: tt.issuer}); !strings.Contains(got, tt.want) {
			t.Errorf("changeClass(%s, %s) = %q, want %q", tt.spki, tt.issuer, got, tt.want)
		}
	}
}

func TestLoadStateErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o600)
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(newer, []byte(`{"version": 2, "certificates": {}}`), 0o600)
	for _, p := range []string{bad, newer} {
		if _, err := LoadState(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("LoadState(%s): %v", p, err)
		}
	}
}

func TestDefaultStatePath(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if p, _ := DefaultStatePath(); p != "/x/state/cusax/audit-state.json" {
		t.Errorf("got %s", p)
	}
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	if p, _ := DefaultStatePath(); p != "/home/u/.local/state/cusax/audit-state.json" {
		t.Errorf("relative XDG_STATE_HOME: got %s", p)
	}
}
