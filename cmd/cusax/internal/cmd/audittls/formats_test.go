package audittls

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditreport/reporttest"
	"github.com/cusax/cusax/pkg/core/config"
)

// --format openmetrics and html on an account whose XMPP server is a local
// listener with an untrusted certificate; --output writes the file
// atomically and nothing to stdout; the exit code is the verdict whatever
// the format.
func TestAuditTLSFormatsLocalListener(t *testing.T) {
	addr := tlsListener(t, "example.com")
	cfg := &config.Config{Accounts: []config.Account{{
		Name: "local", XMPP: &config.XMPPAspect{JID: "alice@example.com", Server: addr, DirectTLS: true},
	}}}
	e := cmdtest.New(t, cfg, nil, nil)

	r := e.Run(newCmd, "--format", "openmetrics", "--timeout", "5s", "--no-state")
	if r.Code != audit.ExitCritical {
		t.Fatalf("openmetrics: exit %d (%v)", r.Code, r.Err)
	}
	for _, want := range []string{
		`cusax_audit_check_failed{command="audit-tls",target="local",aspect="chat",endpoint="`,
		`check="cert.trust",severity="critical"} 1` + "\n",
		`cusax_audit_certificate_not_after_timestamp_seconds{command="audit-tls",target="local",aspect="chat",endpoint="`,
		`cusax_audit_exit_code{command="audit-tls"} 2` + "\n",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("metrics lack %q:\n%s", want, r.Stdout)
		}
	}
	if !strings.HasSuffix(r.Stdout, "\n# EOF\n") {
		t.Errorf("metrics do not end with # EOF")
	}
	reporttest.CheckMetrics(t, r.Stdout)

	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, []byte("old report"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = e.Run(newCmd, "--format", "HTML", "--output", page, "--timeout", "5s", "--no-state")
	if r.Code != audit.ExitCritical || r.Stdout != "" {
		t.Fatalf("html --output: exit %d (%v), stdout %q", r.Code, r.Err, r.Stdout)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", `<a href="#target-1">local</a>`, `data-check="cert.trust"`, "default-src &#39;none&#39;"} {
		if !strings.Contains(string(b), want) && !strings.Contains(string(b), strings.ReplaceAll(want, "&#39;", "'")) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Only the report is left in the directory: no temporary file.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want the report only", len(ents))
	}

	// Text into a file: the same report as on stdout, without colour codes.
	txt := filepath.Join(dir, "report.txt")
	r = e.Run(newCmd, "--output", txt, "--timeout", "5s", "--no-state")
	if b, err := os.ReadFile(txt); err != nil || !strings.Contains(string(b), "Account local\n") || strings.Contains(string(b), "\x1b[") || r.Stdout != "" {
		t.Errorf("text --output: %v, stdout %q\n%s", err, r.Stdout, b)
	}
}

// --output that cannot be written (a directory there) stops with UNKNOWN
// and leaves what is there alone.
func TestAuditTLSOutputRefused(t *testing.T) {
	addr := tlsListener(t, "example.com")
	cfg := &config.Config{Accounts: []config.Account{{
		Name: "local", XMPP: &config.XMPPAspect{JID: "alice@example.com", Server: addr, DirectTLS: true},
	}}}
	e := cmdtest.New(t, cfg, nil, nil)
	dir := t.TempDir()
	target := filepath.Join(dir, "metrics.prom")
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	r := e.Run(newCmd, "--format", "openmetrics", "--output", target, "--timeout", "5s", "--no-state")
	if r.Code != audit.ExitUnknown || !strings.Contains(r.Err.Error(), "--output") {
		t.Fatalf("exit %d (%v), want %d naming --output", r.Code, r.Err, audit.ExitUnknown)
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
		t.Errorf("the directory was replaced: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the original", len(ents))
	}
}
