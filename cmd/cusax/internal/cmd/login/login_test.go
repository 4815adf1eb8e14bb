package login

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
	"github.com/spf13/cobra"
)

func newCmd(f *cmdutil.Factory) *cobra.Command { return NewCmdLogin(f, nil) }

// sharedPassword is alice's password in both aspects, for --password-stdin
// (one line for both).
const sharedPassword = "one-line-for-both"

// newEnv is an empty config (no account yet) and a service where alice
// has sharedPassword in both aspects.
func newEnv(t *testing.T) *cmdtest.Env {
	t.Helper()
	svc := cmdtest.StandardService()
	svc.Add(fake.Account{Address: cmdtest.AliceJID, Password: sharedPassword})
	svc.Add(fake.Account{Address: cmdtest.AliceAOR, Password: sharedPassword})
	e := cmdtest.New(t, nil, nil, svc)
	withSRTP(e.Source.Telephony["sip"].(*fake.TelephonyBackend))
	return e
}

// withSRTP makes the fake telephony backend declare protocol.CapSRTP, as
// a backend that protects call media does: over TLS such a backend with
// the default media_encryption is no parity gap (parity.CheckMedia), so
// the tests of other findings see only theirs.
func withSRTP(b *fake.TelephonyBackend) {
	if !slices.Contains(b.Capabilities, protocol.CapSRTP) {
		b.Capabilities = append(slices.Clone(b.Capabilities), protocol.CapSRTP)
	}
}

var newAccount = []string{"--name", "work", "--jid", cmdtest.AliceJID, "--aor", cmdtest.AliceAOR, "--password-stdin"}

func args(extra ...string) []string { return append(append([]string(nil), newAccount...), extra...) }

// noSecrets fails when a password shows up in what the command printed.
func noSecrets(t *testing.T, r cmdtest.Result, pws ...string) {
	t.Helper()
	out := r.Stdout + r.Stderr
	if r.Err != nil {
		out += r.Err.Error()
	}
	for _, pw := range append(pws, sharedPassword, cmdtest.AlicePassword, cmdtest.AliceSIPPass) {
		if strings.Contains(out, pw) {
			t.Errorf("a password is in the output:\nstdout: %s\nstderr: %s", r.Stdout, r.Stderr)
		}
	}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoginNewAccount(t *testing.T) {
	e := newEnv(t)
	e.In.WriteString(sharedPassword + "\n")
	r := e.Run(newCmd, args()...)
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	for _, want := range []string{"Account work: related aspects of one CUSAX service", "Telephony", "Chat", "Total "} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.Stdout)
		}
	}
	if !strings.Contains(r.Stderr, `account "work" saved to `+e.ConfigPath) {
		t.Errorf("stderr: %s", r.Stderr)
	}
	noSecrets(t, r)
	a, err := e.LoadConfig().Account("work")
	if err != nil {
		t.Fatal(err)
	}
	if a.XMPP.JID != cmdtest.AliceJID || a.SIP.AOR != cmdtest.AliceAOR || !a.Related || e.LoadConfig().Default != "work" {
		t.Errorf("saved %+v", a)
	}
	// The config and the secrets beside it are private (0600), and the
	// password is in the secrets file only.
	for _, p := range []string{e.ConfigPath, filepath.Join(e.Dir, secrets.FileName)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", p, fi.Mode().Perm())
		}
	}
	if strings.Contains(string(fileBytes(t, e.ConfigPath)), sharedPassword) {
		t.Error("the config file holds the password")
	}
	if pw, err := e.Store.Get(e.Factory.Context, secrets.Ref{Account: "work", Aspect: config.AspectSIP}); err != nil || pw != sharedPassword {
		t.Errorf("stored telephony password: %v", err)
	}
	// Both aspects logged out again.
	if got := e.Service.Open(); got != 0 {
		t.Errorf("%d sessions left open", got)
	}
}

func TestLoginJSON(t *testing.T) {
	e := newEnv(t)
	e.In.WriteString(sharedPassword + "\n")
	r := e.Run(newCmd, args("--json")...)
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	var got struct {
		Account   string            `json:"account"`
		OK        bool              `json:"ok"`
		Saved     bool              `json:"saved"`
		Related   bool              `json:"related"`
		Telephony map[string]any    `json:"telephony"`
		Chat      map[string]any    `json:"chat"`
		Parity    []json.RawMessage `json:"parity"`
		Prov      json.RawMessage   `json:"provisioning"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.Stdout)
	}
	if got.Account != "work" || !got.OK || !got.Saved || !got.Related || got.Parity == nil || len(got.Parity) != 0 || got.Prov != nil {
		t.Errorf("JSON %s", r.Stdout)
	}
	if got.Telephony["state"] == nil || got.Chat["state"] == nil {
		t.Errorf("aspects: %s", r.Stdout)
	}
	noSecrets(t, r)
}

// An existing account logs in with its stored passwords.
func TestLoginExistingAccount(t *testing.T) {
	e := cmdtest.New(t, cmdtest.Standard(), cmdtest.StandardPasswords(), nil)
	r := e.Run(newCmd, "--name", "home", "--json")
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	if !strings.Contains(r.Stdout, `"account": "home"`) {
		t.Errorf("stdout %s", r.Stdout)
	}
	noSecrets(t, r)
}

// Failures: the exit code says which, nothing is saved (the config file
// stays byte for byte), the hint names the fix, no password is shown.
func TestLoginFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(*cmdtest.Env)
		stdin  string
		extra  []string
		code   int
		hint   string
		saved  bool
		target error
	}{
		{name: "wrong password", stdin: "wrong-password\n", code: cmdutil.ExitAuth, hint: "check the user name and password", target: protocol.ErrAuth},
		{name: "unreachable", setup: func(e *cmdtest.Env) {
			e.Service.FailConnect(cmdtest.AliceAOR, fmt.Errorf("dial 127.0.0.1:5061: %w", protocol.ErrUnreachable))
		}, code: cmdutil.ExitNetwork, hint: "--sip-proxy", target: protocol.ErrUnreachable},
		{name: "certificate", setup: func(e *cmdtest.Env) {
			e.Service.FailConnect(cmdtest.AliceJID, fmt.Errorf("x509: unknown authority: %w", protocol.ErrCertificate))
		}, code: cmdutil.ExitTLS, hint: "--ca-file", target: protocol.ErrCertificate},
		{name: "no TLS", setup: func(e *cmdtest.Env) {
			e.Service.FailConnect(cmdtest.AliceJID, fmt.Errorf("no STARTTLS: %w", protocol.ErrInsecure))
		}, code: cmdutil.ExitTLS, hint: "--allow-plaintext", target: protocol.ErrInsecure},
		{name: "cleartext telephony, --require-parity", setup: func(e *cmdtest.Env) {
			e.Source.Telephony["sip"].(*fake.TelephonyBackend).Report = cleartext
		}, extra: []string{"--require-parity"}, code: cmdutil.ExitParity},
		{name: "policy refuses the parity", setup: func(e *cmdtest.Env) {
			e.Source.Telephony["sip"].(*fake.TelephonyBackend).Report = cleartext
			e.Source.Policies["default"] = &fake.Policy{Name: "default", OnParity: func(r protocol.ParityRequest) protocol.ParityDecision {
				return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Deny, Reason: "no cleartext calls"}, Findings: r.Findings}
			}}
		}, code: cmdutil.ExitDenied},
		{name: "--policy names a missing policy", extra: []string{"--policy", "nosuch"}, code: cmdutil.ExitPlugin, hint: "plugin directory"},
		{name: "backend fails to start", setup: func(e *cmdtest.Env) {
			e.Source.StartErr = map[string]error{"telephony/sip": fmt.Errorf("exec: %w", pluginhost.ErrFailed)}
		}, code: cmdutil.ExitPlugin},
		{name: "--save-anyway saves a failed login", stdin: "wrong-password\n", extra: []string{"--save-anyway"}, code: cmdutil.ExitAuth, saved: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			// One account already there: it must survive byte for byte.
			if err := config.Save(e.ConfigPath, cmdtest.Standard()); err != nil {
				t.Fatal(err)
			}
			before := fileBytes(t, e.ConfigPath)
			if tc.setup != nil {
				tc.setup(e)
			}
			if tc.stdin == "" {
				tc.stdin = sharedPassword + "\n"
			}
			e.In.WriteString(tc.stdin)
			r := e.Run(newCmd, args(tc.extra...)...)
			if r.Code != tc.code {
				t.Fatalf("exit %d (%v), want %d\nstderr: %s", r.Code, r.Err, tc.code, r.Stderr)
			}
			if tc.target != nil && !errors.Is(r.Err, tc.target) {
				t.Errorf("error %v is not %v", r.Err, tc.target)
			}
			if tc.hint != "" && !strings.Contains(strings.Join(cmdutil.Hints(r.Err), "\n"), tc.hint) {
				t.Errorf("hints %q lack %q", cmdutil.Hints(r.Err), tc.hint)
			}
			if strings.Contains(r.Err.Error(), "\n") {
				t.Errorf("error is not one line: %q", r.Err)
			}
			saved := string(fileBytes(t, e.ConfigPath)) != string(before)
			if saved != tc.saved {
				t.Errorf("config changed: %v, want %v", saved, tc.saved)
			}
			if !tc.saved {
				if _, err := e.Store.Get(e.Factory.Context, secrets.Ref{Account: "work", Aspect: config.AspectXMPP}); !errors.Is(err, secrets.ErrNotFound) {
					t.Errorf("a password was stored: %v", err)
				}
			}
			noSecrets(t, r, "wrong-password")
		})
	}
}

func cleartext(r *protocol.ConnectionReport) { r.Encrypted, r.TLS, r.Transport = false, nil, "udp" }

// Without --require-parity a parity warning is shown with its fix and
// the account is saved.
func TestLoginParityWarning(t *testing.T) {
	e := newEnv(t)
	e.Source.Telephony["sip"].(*fake.TelephonyBackend).Report = cleartext
	e.In.WriteString(sharedPassword + "\n")
	r := e.Run(newCmd, args("--json")...)
	if r.Err != nil {
		t.Fatalf("exit %d: %v", r.Code, r.Err)
	}
	if !strings.Contains(r.Stderr, "parity.encryption") || !strings.Contains(r.Stderr, "cusax: hint: cusax login --name work --sip-proxy") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	if !strings.Contains(r.Stdout, `"parity.encryption"`) || !strings.Contains(r.Stdout, `"saved": true`) {
		t.Errorf("stdout: %s", r.Stdout)
	}
}

// Bad flags and missing input: exit 2, one line, before anything starts.
func TestLoginUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"argument", []string{"alice"}, "login takes no arguments"},
		{"min-tls", args("--min-tls", "1.1"), `--min-tls: "1.1" is not 1.2 or 1.3`},
		{"stdin and command", args("--password-command", "echo x"), "mutually exclusive"},
		{"sip-proxy without aor", []string{"--name", "w", "--jid", cmdtest.AliceJID, "--sip-proxy", "sip:p", "--password-stdin"}, "--sip-proxy and --sip-username need --aor"},
		{"xmpp-server without jid", []string{"--name", "w", "--aor", cmdtest.AliceAOR, "--xmpp-server", "h:5222", "--password-stdin"}, "need --jid"},
		{"no aspect", []string{"--name", "w", "--password-stdin"}, "give --jid (Chat), --aor (Telephony) or both"},
		{"no password, no terminal", []string{"--name", "w", "--jid", cmdtest.AliceJID}, `no password for account "w"`},
		{"empty stdin", args(), "--password-stdin"},
		{"missing ca file", args("--ca-file", "/nonexistent/ca.pem"), "ca_file: not readable"},
		{"publish-reach with one aspect", []string{"--name", "w", "--jid", cmdtest.AliceJID, "--password-stdin", "--publish-reach"}, "--publish-reach needs both aspects"},
		{"provision and discover", []string{"--provision", "https://p.example/a.json", "--discover", "alice@example.com"}, "mutually exclusive"},
		{"provision with jid", []string{"--provision", "https://p.example/a.json", "--jid", cmdtest.AliceJID}, "--jid cannot be combined with provisioning"},
		{"bad auth", []string{"--provision", "https://p.example/a.json", "--auth", "digest"}, `--auth: "digest" is not basic, bearer or none`},
		{"webfinger-addr alone", []string{"--provision", "https://p.example/a.json", "--webfinger-addr", "h:443"}, "--webfinger-addr needs --discover"},
		{"refresh with policy", []string{"--refresh", "--name", "home", "--policy", "x"}, "--policy cannot be combined with --refresh"},
		{"refresh of a hand-made account", []string{"--refresh", "--name", "home"}, "nothing to refresh"},
		{"provision without user", []string{"--provision", "https://p.example/a.json"}, "--user is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if err := config.Save(e.ConfigPath, cmdtest.Standard()); err != nil {
				t.Fatal(err)
			}
			if tc.name != "empty stdin" && tc.name != "no password, no terminal" {
				e.In.WriteString(sharedPassword + "\n")
			}
			before := fileBytes(t, e.ConfigPath)
			r := e.Run(newCmd, tc.args...)
			if r.Code != cmdutil.ExitUsage {
				t.Fatalf("exit %d (%v), want 2", r.Code, r.Err)
			}
			if !strings.Contains(r.Err.Error(), tc.want) || strings.Contains(r.Err.Error(), "\n") {
				t.Errorf("error %q, want one line with %q", r.Err, tc.want)
			}
			if len(e.Source.Started()) != 0 {
				t.Errorf("started %q on bad input", e.Source.Started())
			}
			if string(fileBytes(t, e.ConfigPath)) != string(before) {
				t.Error("config changed")
			}
		})
	}
}

// On a terminal the command asks through its prompter: the addresses,
// then one password for both aspects (never argv).
func TestLoginPrompts(t *testing.T) {
	e := newEnv(t)
	e.IO.SetTTY(true, true, true)
	p := &scripted{answers: []string{cmdtest.AliceJID, cmdtest.AliceAOR, sharedPassword}}
	r := e.Run(func(f *cmdutil.Factory) *cobra.Command {
		return NewCmdLogin(f, func(o *Options) error { o.Prompter = p; return run(o) })
	})
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	want := []string{"XMPP address (Chat, empty for none): ", "SIP address (Telephony, empty for none): ", "Password for default (used for both aspects): "}
	if strings.Join(p.asked, "|") != strings.Join(want, "|") {
		t.Errorf("asked %q, want %q", p.asked, want)
	}
	// Progress lines go to a terminal's stderr.
	if !strings.Contains(r.Stderr, "cusax: starting plugins…") || !strings.Contains(r.Stderr, "cusax: registering Telephony (SIP) as "+cmdtest.AliceAOR+"…") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	noSecrets(t, r)
	if _, err := e.LoadConfig().Account("default"); err != nil {
		t.Error(err)
	}
}

type scripted struct {
	answers []string
	asked   []string
}

func (s *scripted) CanPrompt() bool { return true }
func (s *scripted) Prompt(q string) (string, error) {
	return s.next(q)
}
func (s *scripted) PromptSecret(q string) (string, error) { return s.next(q) }
func (s *scripted) next(q string) (string, error) {
	s.asked = append(s.asked, q)
	if len(s.answers) == 0 {
		return "", errors.New("no answer")
	}
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a, nil
}

// --im-over-sip and --sip-im-backend are the login form of the chat
// backend line (docs/accounts.md); --sip-backend the telephony one.
func TestLoginBackendSwitches(t *testing.T) {
	e := newEnv(t)
	e.In.WriteString(sharedPassword + "\n")
	r := e.Run(newCmd, append(args(), "--im-over-sip", "--sip-im-backend", "sipmessage", "--sip-backend", "sip")...)
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	a, err := e.LoadConfig().Account("work")
	if err != nil {
		t.Fatal(err)
	}
	if a.Features.IMOverSIP == nil || !*a.Features.IMOverSIP || a.SIP.IMBackend != "sipmessage" || a.SIP.Backend != "sip" {
		t.Errorf("saved features %+v, sip %+v", a.Features, a.SIP)
	}
	if !strings.Contains(string(fileBytes(t, e.ConfigPath)), "im_over_sip = true") {
		t.Errorf("config:\n%s", fileBytes(t, e.ConfigPath))
	}
	e = newEnv(t)
	e.In.WriteString(sharedPassword + "\n")
	r = e.Run(newCmd, "--name", "chatonly", "--jid", cmdtest.AliceJID, "--password-stdin", "--im-over-sip")
	if r.Code != cmdutil.ExitUsage || !strings.Contains(r.Err.Error(), "need --aor") {
		t.Errorf("--im-over-sip without --aor: exit %d: %v", r.Code, r.Err)
	}
}
