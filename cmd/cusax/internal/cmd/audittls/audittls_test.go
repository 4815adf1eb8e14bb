package audittls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/spf13/cobra"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdAuditTLS(f, nil) }

// Bad flags and targets stop the audit before it starts: UNKNOWN (3) by
// the monitoring-plugin convention the command documents, never 2, which
// a monitor reads as CRITICAL. Nothing is probed, nothing on stdout.
func TestAuditTLSBadInput(t *testing.T) {
	targets := filepath.Join(t.TempDir(), "targets")
	if err := os.WriteFile(targets, []byte("example.com\nnot_a domain here x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, "unknown flag: --bogus"},
		{"bad duration", []string{"--timeout", "soon"}, "invalid argument"},
		{"zero timeout", []string{"--timeout", "0s"}, "--timeout must be positive"},
		{"bad format", []string{"--format", "xml"}, `--format "xml": want text, json, ndjson, openmetrics, html`},
		{"jq with html", []string{"--format", "html", "--jq", ".id"}, "--jq filters JSON"},
		{"jq with output", []string{"--json", "--jq", ".id", "--output", "x"}, "--jq filters stdout"},
		{"json and format disagree", []string{"--json", "--format", "ndjson"}, "--json and --format ndjson disagree"},
		{"bad warn-on", []string{"--warn-on", "scary"}, "--warn-on"},
		{"bad fail-on", []string{"--fail-on", "scary"}, "--fail-on"},
		{"state and no-state", []string{"--state", "x", "--no-state"}, "exclude each other"},
		{"all and names", []string{"--all", "home"}, "--all and account names exclude each other"},
		{"zero parallel", []string{"--parallel", "0"}, "--parallel must be positive"},
		{"bad resolver", []string{"--domain", "example.com", "--resolver", "8.8.8.8"}, "want HOST:PORT"},
		{"domain is an IP", []string{"--domain", "192.0.2.1"}, "is not a domain name"},
		{"domain without a dot", []string{"--domain", "localhost"}, "is not a domain name"},
		{"bad targets line", []string{"--targets", targets}, targets + ":2: want an account"},
		{"missing targets file", []string{"--targets", targets + ".none"}, "no such file"},
		{"no such account", []string{"nope"}, "nope"},
		{"missing profile", []string{"--profile", targets + ".none"}, "no such file"},
		{"ca-file without PEM", []string{"--domain", "example.com", "--ca-file", targets}, "no PEM certificate found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := cmdtest.New(t, cmdtest.Standard(), nil, nil)
			r := e.Run(newCmd, c.args...)
			if r.Code != audit.ExitUnknown {
				t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, audit.ExitUnknown)
			}
			if msg := r.Err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line with %q", msg, c.want)
			}
			if r.Stdout != "" {
				t.Errorf("stdout %q", r.Stdout)
			}
		})
	}
}

// tlsListener serves XMPP over direct TLS (XEP-0368) on loopback with a
// throwaway self-signed certificate for name and returns host:port. It
// answers a stream header with features offering SCRAM-SHA-256, which is
// all the probe reads (it never authenticates), then waits for the close.
func tlsListener(t *testing.T, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				var got []byte
				buf := make([]byte, 512)
				for !strings.Contains(string(got), "version='1.0'>") { // the stream header (tlsprobe's quoting)
					n, err := c.Read(buf)
					if err != nil {
						return // a handshake the listener refused (an old TLS version)
					}
					got = append(got, buf[:n]...)
				}
				_, _ = io.WriteString(c, "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "+
					"xmlns:stream='http://etherx.jabber.org/streams' from='"+name+"' id='t' version='1.0'>"+
					"<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"+
					"<mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>")
				_, _ = io.Copy(io.Discard, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// An account whose XMPP server is a local direct-TLS listener (XEP-0368)
// with an untrusted self-signed certificate: the audit runs without any
// server of the test bed and says so in the cusax.audit-tls/v1 document.
func TestAuditTLSJSONLocalListener(t *testing.T) {
	addr := tlsListener(t, "example.com")
	cfg := &config.Config{Accounts: []config.Account{{
		Name: "local", XMPP: &config.XMPPAspect{JID: "alice@example.com", Server: addr, DirectTLS: true},
	}}}
	e := cmdtest.New(t, cfg, nil, nil)
	state := filepath.Join(t.TempDir(), "state.json")
	r := e.Run(newCmd, "--json", "--timeout", "5s", "--state", state)
	jsoncheck.Validate(t, r.Stdout)
	var rep struct {
		Schema string `json:"schema"`
		Tool   struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"tool"`
		Policy struct {
			Profile string `json:"profile"`
		} `json:"policy"`
		Summary struct {
			ExitCode    int            `json:"exit_code"`
			Status      map[string]int `json:"status"`
			MaxSeverity string         `json:"max_severity"`
		} `json:"summary"`
		Findings []struct {
			ID       string `json:"id"`
			Account  string `json:"account"`
			Aspect   string `json:"aspect"`
			Endpoint string `json:"endpoint"`
			Severity string `json:"severity"`
			Status   string `json:"status"`
			Title    string `json:"title"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s\nstderr: %s", err, r.Stdout, r.Stderr)
	}
	if rep.Schema != audit.Schema || rep.Tool.Name != "cusax" || rep.Tool.Version != "0.0.0-test" || rep.Policy.Profile == "" {
		t.Errorf("header %+v", rep)
	}
	// The exit code is the one the document states.
	if r.Code != rep.Summary.ExitCode {
		t.Errorf("exit %d, document says %d (%v)", r.Code, rep.Summary.ExitCode, r.Err)
	}
	// The certificate is not trusted: a failed check, critical enough to
	// exit 2 (CRITICAL) under the default --fail-on high.
	if r.Code != audit.ExitCritical || rep.Summary.Status["fail"] == 0 {
		t.Errorf("exit %d, summary %+v", r.Code, rep.Summary)
	}
	var endpoint, certFail bool
	for _, f := range rep.Findings {
		if f.ID == "" || f.Status == "" || f.Severity == "" || f.Title == "" {
			t.Errorf("incomplete finding %+v", f)
		}
		if f.Endpoint != "" && strings.Contains(f.Endpoint, addr) && f.Account == "local" && f.Aspect == "chat" {
			endpoint = true
		}
		if f.Status == "fail" {
			t.Logf("failed: %s (%s) %s", f.ID, f.Severity, f.Title)
		}
		if f.Status == "fail" && f.ID == "cert.trust" && f.Severity == "critical" {
			certFail = true
		}
	}
	if !endpoint || !certFail {
		t.Errorf("no finding on %s, or cert.trust did not fail as critical:\n%s", addr, r.Stdout)
	}
	// The certificate seen was remembered for cert.changed next time.
	if b, err := os.ReadFile(state); err != nil || !strings.Contains(string(b), addr) {
		t.Errorf("state %v: %s", err, b)
	}
	if !strings.HasPrefix(r.Err.Error(), "audit-tls CRITICAL: ") {
		t.Errorf("verdict %q", r.Err)
	}

	// Text: the account, its aspects, the failed checks, the verdict; the
	// state file now knows the certificate (no cert.changed: it is the same).
	r1 := e.Run(newCmd, "--timeout", "5s", "--state", state)
	for _, want := range []string{"Account local\n", "Telephony  not configured\n", "cert.trust", "Result CRITICAL  "} {
		if !strings.Contains(r1.Stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r1.Stdout)
		}
	}
	if r1.Code != audit.ExitCritical || strings.Contains(r1.Stdout, "cert.changed") {
		t.Errorf("text: exit %d\n%s", r1.Code, r1.Stdout)
	}

	// --format ndjson: one finding a line.
	r2 := e.Run(newCmd, "--format", "ndjson", "--timeout", "5s", "--no-state")
	jsoncheck.Validate(t, r2.Stdout)
	lines := strings.Split(strings.TrimSuffix(r2.Stdout, "\n"), "\n")
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not JSON: %q", l)
		}
	}
	if r2.Code != audit.ExitCritical || len(lines) == 0 {
		t.Errorf("ndjson: exit %d, %d lines", r2.Code, len(lines))
	}

	// --jq on the report (it implies --json) and on each ndjson line; the
	// exit code is still the verdict.
	r3 := e.Run(newCmd, "--jq", ".findings[].id", "--timeout", "5s", "--no-state")
	r4 := e.Run(newCmd, "--format", "ndjson", "--jq", ".id", "--timeout", "5s", "--no-state")
	if r3.Code != audit.ExitCritical || r4.Code != audit.ExitCritical || r3.Stdout == "" || r3.Stdout != r4.Stdout || strings.Contains(r3.Stdout, "{") {
		t.Errorf("--jq: exit %d and %d, report ids %q, line ids %q", r3.Code, r4.Code, r3.Stdout, r4.Stdout)
	}
}

// An endpoint that refuses connections: the check could not run, so the
// audit is incomplete (UNKNOWN) or failed, never OK.
func TestAuditTLSUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := &config.Config{Accounts: []config.Account{{
		Name: "local", XMPP: &config.XMPPAspect{JID: "alice@example.com", Server: addr, DirectTLS: true},
	}}}
	e := cmdtest.New(t, cfg, nil, nil)
	r := e.Run(newCmd, "--json", "--timeout", "2s", "--no-state")
	if r.Code == audit.ExitOK {
		t.Fatalf("exit 0 for an endpoint that is not there:\n%s", r.Stdout)
	}
	var rep struct {
		Summary struct {
			ExitCode int  `json:"exit_code"`
			Complete bool `json:"complete"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || rep.Summary.ExitCode != r.Code {
		t.Errorf("%v: exit %d, document %+v", err, r.Code, rep.Summary)
	}
}

// A state file others can write, or another user owns, is refused, never
// read (it decides what counts as a changed certificate): UNKNOWN (3)
// with a hint, nothing probed.
func TestAuditTLSStateFileRefused(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(string) error
	}{
		{"world-writable", func(p string) error { return os.Chmod(p, 0o666) }},
		{"owned by nobody", func(p string) error {
			if os.Geteuid() != 0 {
				return errSkip
			}
			return os.Chown(p, 65534, 65534)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(state, []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(state); err == errSkip {
				if os.Getenv("CI") == "true" {
					t.Fatal("CI runs as root: the foreign-owner case must run")
				}
				t.Skip("needs root to chown")
			} else if err != nil {
				t.Fatal(err)
			}
			e := cmdtest.New(t, cmdtest.Standard(), nil, nil)
			r := e.Run(newCmd, "--state", state, "--json")
			if r.Code != audit.ExitUnknown || r.Stdout != "" {
				t.Fatalf("exit %d (%v) stdout %q, want %d", r.Code, r.Err, r.Stdout, audit.ExitUnknown)
			}
			if msg := r.Err.Error(); !strings.Contains(msg, state) || !strings.Contains(msg, "owner") {
				t.Errorf("error %q does not name the file and its owner/mode", msg)
			}
			if hints := cmdutil.Hints(r.Err); len(hints) == 0 {
				t.Errorf("no hint: %v", r.Err)
			}
		})
	}
}

var errSkip = errors.New("skip")
