package enrol_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/enrol"
	"github.com/cusax/cusax/pkg/core/provision"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

const (
	provUser = "alice"
	provPass = "provider-and-account-secret"
)

// docFor is a provisioning document (docs/provisioning.md) whose aspects
// share the provisioning password ("same").
func docFor(provider string) string {
	return fmt.Sprintf(`{"version": 1, "provider": %q, "account": "work", "related": true,
  "xmpp": {"jid": %q, "password": "same"},
  "sip": {"aor": %q, "password": "same"},
  "refresh_after": "24h"}`, provider, jid, aor)
}

// provider is a local HTTPS provisioning server: basic authentication,
// an ETag per document version, 304 for the current one.
type provider struct {
	srv    *httptest.Server
	caFile string
	mu     sync.Mutex
	doc    string
	etag   string
	hits   int
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{doc: docFor("Example Telecom"), etag: `"v1"`}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.hits++
		if u, pw, ok := r.BasicAuth(); !ok || u != provUser || pw != provPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="provisioning"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("If-None-Match") == p.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", p.etag)
		w.Header().Set("Content-Type", provision.MediaType)
		fmt.Fprint(w, p.doc)
	}))
	// The refused handshakes of the certificate tests are expected.
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	// The user's --ca-file: the provider's own certificate (httptest's is
	// a CA for 127.0.0.1).
	p.caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	if err := os.WriteFile(p.caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *provider) set(doc, etag string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doc, p.etag = doc, etag
}

func (p *provider) url() string { return p.srv.URL + "/alice.json" }

// prompter answers from a script and records the questions.
type prompter struct {
	answers []string
	asked   []string
}

func (p *prompter) CanPrompt() bool { return true }
func (p *prompter) Prompt(q string) (string, error) {
	return p.next(q)
}
func (p *prompter) PromptSecret(q string) (string, error) { return p.next(q) }
func (p *prompter) next(q string) (string, error) {
	p.asked = append(p.asked, q)
	if len(p.answers) == 0 {
		return "", errors.New("no answer scripted")
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return a, nil
}

func provWorld(t *testing.T) (*world, *provider) {
	t.Helper()
	w := newWorld(t)
	// The provider's aspects take the provisioning password ("same").
	w.svc.Add(fake.Account{Address: jid, Password: provPass})
	w.svc.Add(fake.Account{Address: aor, Password: provPass})
	return w, newProvider(t)
}

func loadConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr(s string) *string { return &s }

// provisionAndProve is what cusax login --provision does.
func provisionAndProve(t *testing.T, w *world, req enrol.ProvisionRequest) (*enrol.Setup, *enrol.Outcome, error) {
	t.Helper()
	ctx := context.Background()
	req.Config = loadConfig(t, w.cfgPath)
	s, err := enrol.Provision(ctx, w.env, req)
	if err != nil || s.UpToDate {
		return s, nil, err
	}
	out, err := enrol.Prove(ctx, w.env, enrol.Job{Account: s.Account, XMPPPassword: s.XMPPPassword, SIPPassword: s.SIPPassword, Provisioned: s.Provisioned})
	return s, out, err
}

func TestProvisionNewAccount(t *testing.T) {
	w, p := provWorld(t)
	s, out, err := provisionAndProve(t, w, enrol.ProvisionRequest{
		URL: p.url(), User: ptr(provUser), CAFile: ptr(p.caFile),
		Passwords: enrol.PasswordInput{Stdin: strings.NewReader(provPass + "\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "work" || s.XMPPPassword != provPass || s.SIPPassword != provPass {
		t.Errorf("setup: %q %+v", s.Name, s.Account)
	}
	if !out.OK() || !out.Saved {
		t.Fatalf("proof: %v", out.Result.Err())
	}
	r := s.Provisioned.Report
	if r.URL != p.url() || r.Provider != "Example Telecom" || r.Auth != "basic" || r.User != provUser || r.SHA256 == "" {
		t.Errorf("report: %+v", r)
	}
	a, err := loadConfig(t, w.cfgPath).Account("work")
	if err != nil {
		t.Fatal(err)
	}
	if a.Provisioning == nil || a.Provisioning.ETag != `"v1"` || a.Provisioning.URL != p.url() || a.CAFile != p.caFile {
		t.Errorf("saved account: %+v", a)
	}
	ctx := context.Background()
	for _, aspect := range []string{config.AspectXMPP, config.AspectSIP, config.AspectProvisioning} {
		if got, err := w.env.Store.Get(ctx, secrets.Ref{Account: "work", Aspect: aspect}); err != nil || got != provPass {
			t.Errorf("stored %s secret: %v", aspect, err)
		}
	}
	if bytes.Contains(fileBytes(t, w.cfgPath), []byte(provPass)) {
		t.Error("the config holds the password")
	}
}

// A refresh the server answers 304 needs no login and changes nothing
// but the fetch time; one whose document did not change either.
func TestProvisionRefreshUpToDate(t *testing.T) {
	w, p := provWorld(t)
	if _, _, err := provisionAndProve(t, w, enrol.ProvisionRequest{
		URL: p.url(), User: ptr(provUser), CAFile: ptr(p.caFile),
		Passwords: enrol.PasswordInput{Stdin: strings.NewReader(provPass + "\n")},
	}); err != nil {
		t.Fatal(err)
	}
	started := len(w.src.Started())
	for _, tc := range []struct{ name, etag, why string }{
		{"304", `"v1"`, "(304)"},
		{"same document, new etag", `"v1b"`, "has not changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p.set(docFor("Example Telecom"), tc.etag)
			s, out, err := provisionAndProve(t, w, enrol.ProvisionRequest{Name: "work", Refresh: true})
			if err != nil {
				t.Fatal(err)
			}
			if !s.UpToDate || out != nil || !strings.Contains(s.Why, tc.why) {
				t.Fatalf("setup: %+v", s)
			}
			if n := len(w.src.Started()); n != started {
				t.Errorf("a refresh with nothing new started %d plugins", n-started)
			}
			a, _ := loadConfig(t, w.cfgPath).Account("work")
			if a.Provisioning.ETag != tc.etag {
				t.Errorf("etag %q, want %q", a.Provisioning.ETag, tc.etag)
			}
		})
	}
}

// The hostile case of "saved only when it works": a refresh brings a
// changed document but the login with it fails, or the provider refuses
// the credential. The config and the secrets stay exactly as they were,
// byte for byte.
func TestProvisionFailedLoginChangesNothing(t *testing.T) {
	w, p := provWorld(t)
	if _, _, err := provisionAndProve(t, w, enrol.ProvisionRequest{
		URL: p.url(), User: ptr(provUser), CAFile: ptr(p.caFile),
		Passwords: enrol.PasswordInput{Stdin: strings.NewReader(provPass + "\n")},
	}); err != nil {
		t.Fatal(err)
	}
	cfgBefore, secBefore := fileBytes(t, w.cfgPath), fileBytes(t, w.secPath)
	if cfgBefore == nil || secBefore == nil {
		t.Fatal("nothing saved by the first login")
	}
	check := func(t *testing.T) {
		t.Helper()
		if !bytes.Equal(fileBytes(t, w.cfgPath), cfgBefore) {
			t.Error("the config file changed")
		}
		if !bytes.Equal(fileBytes(t, w.secPath), secBefore) {
			t.Error("the secrets file changed")
		}
	}

	t.Run("changed document, login refused", func(t *testing.T) {
		p.set(docFor("Example Telecom (new)"), `"v2"`)
		w.svc.FailConnect(jid, fmt.Errorf("not authorized: %w", protocol.ErrAuth))
		defer w.svc.FailConnect(jid, nil)
		s, out, err := provisionAndProve(t, w, enrol.ProvisionRequest{Name: "work", Refresh: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Provisioned.Report.Changes) == 0 {
			t.Error("no change reported")
		}
		if out.OK() || out.Saved || !errors.Is(out.Result.Err(), protocol.ErrAuth) {
			t.Fatalf("outcome: ok %v saved %v err %v", out.OK(), out.Saved, out.Result.Err())
		}
		check(t)
	})
	t.Run("changed document, unreachable", func(t *testing.T) {
		w.svc.FailConnect(aor, fmt.Errorf("no route: %w", protocol.ErrUnreachable))
		defer w.svc.FailConnect(aor, nil)
		_, out, err := provisionAndProve(t, w, enrol.ProvisionRequest{Name: "work", Refresh: true})
		if err != nil || out.Saved || !errors.Is(out.Result.Err(), protocol.ErrUnreachable) {
			t.Fatalf("err %v outcome %+v", err, out)
		}
		check(t)
	})
	t.Run("provider refuses the credential", func(t *testing.T) {
		_, _, err := provisionAndProve(t, w, enrol.ProvisionRequest{Name: "work", Refresh: true,
			Passwords: enrol.PasswordInput{Stdin: strings.NewReader("wrong\n")}})
		if !errors.Is(err, protocol.ErrAuth) {
			t.Fatalf("err %v", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Error("the error shows the password")
		}
		check(t)
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		_, _, err := provisionAndProve(t, w, enrol.ProvisionRequest{URL: p.url(), Name: "other", User: ptr(provUser),
			Passwords: enrol.PasswordInput{Stdin: strings.NewReader(provPass + "\n")}})
		if !errors.Is(err, protocol.ErrCertificate) || len(hints(err)) == 0 {
			t.Fatalf("err %v (hints %q)", err, hints(err))
		}
		check(t)
	})
}

func hints(err error) []string {
	var e *enrol.Error
	if errors.As(err, &e) {
		return e.Hints()
	}
	return nil
}

// Without a terminal nothing is asked: a usage error names the flag; with
// one, the prompter is asked for what is missing (never argv).
func TestProvisionPrompts(t *testing.T) {
	w, p := provWorld(t)
	cfg := loadConfig(t, w.cfgPath)
	ctx := context.Background()
	_, err := enrol.Provision(ctx, w.env, enrol.ProvisionRequest{Config: cfg, URL: p.url(), CAFile: ptr(p.caFile)})
	if !enrol.IsUsage(err) || !strings.Contains(err.Error(), "--user is required") {
		t.Errorf("no user, no terminal: %v", err)
	}
	_, err = enrol.Provision(ctx, w.env, enrol.ProvisionRequest{Config: cfg, URL: p.url(), CAFile: ptr(p.caFile), User: ptr(provUser)})
	if !enrol.IsUsage(err) || len(hints(err)) == 0 {
		t.Errorf("no password, no terminal: %v", err)
	}
	if p.hits != 0 {
		t.Errorf("the provider was asked %d times without a credential", p.hits)
	}

	pr := &prompter{answers: []string{provUser, provPass}}
	env := w.env
	env.Prompter = pr
	s, err := enrol.Provision(ctx, env, enrol.ProvisionRequest{Config: cfg, URL: p.url(), CAFile: ptr(p.caFile)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.asked) != 2 || !strings.HasPrefix(pr.asked[0], "User ID at 127.0.0.1:") || !strings.HasPrefix(pr.asked[1], "Password for alice at ") {
		t.Errorf("asked %q", pr.asked)
	}
	if s.XMPPPassword != provPass {
		t.Error("the prompted password is not the aspects' (\"same\")")
	}
	if fileBytes(t, w.cfgPath) != nil {
		t.Error("Provision saved before the proof")
	}
}
