package login

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/pkg/core/provision"
)

// provider serves a provisioning document (docs/provisioning.md) over
// local HTTPS to alice with sharedPassword; ETag "v1" answers 304. It
// returns the document URL and a CA file that trusts the server.
func provider(t *testing.T) (url, caFile string) {
	t.Helper()
	doc := fmt.Sprintf(`{"version": 1, "provider": "Example Telecom", "account": "work", "related": true,
  "xmpp": {"jid": %q, "password": "same"}, "sip": {"aor": %q, "password": "same"}}`, cmdtest.AliceJID, cmdtest.AliceAOR)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != sharedPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="p"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", provision.MediaType)
		fmt.Fprint(w, doc)
	}))
	// The refused handshakes of the certificate tests are expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + "/alice.json", caFile
}

func TestLoginProvisionAndRefresh(t *testing.T) {
	e := newEnv(t)
	url, ca := provider(t)
	e.In.WriteString(sharedPassword + "\n")
	r := e.Run(newCmd, "--provision", url, "--user", "alice", "--ca-file", ca, "--password-stdin", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil {
		t.Fatalf("exit %d: %v\nstderr: %s", r.Code, r.Err, r.Stderr)
	}
	var got Result
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if got.Account != "work" || !got.Saved || got.Provisioning == nil || got.Provisioning.URL != url || got.Provisioning.Provider != "Example Telecom" ||
		got.Provisioning.Changes == nil || got.Provisioning.Warnings == nil {
		t.Errorf("JSON %s", r.Stdout)
	}
	noSecrets(t, r)

	// 304: no login, "up to date".
	r = e.Run(newCmd, "--refresh", "--name", "work")
	if r.Err != nil {
		t.Fatalf("refresh: exit %d: %v", r.Code, r.Err)
	}
	if !strings.Contains(r.Stdout, "Account work is up to date with "+url+": the server says the document has not changed (304)") {
		t.Errorf("stdout %s", r.Stdout)
	}
	r = e.Run(newCmd, "--refresh", "--name", "work", "--json")
	jsoncheck.Validate(t, r.Stdout)
	if r.Err != nil || !strings.Contains(r.Stdout, `"saved": false`) || !strings.Contains(r.Stdout, `"refresh": true`) {
		t.Errorf("refresh --json: %v %s", r.Err, r.Stdout)
	}
	if n := len(e.Source.Started()); n != 2 {
		t.Errorf("plugins started %d times, want 2 (the first login only)", n)
	}
	// Only the fetch time changed.
	if a, err := e.LoadConfig().Account("work"); err != nil || a.Provisioning.ETag != `"v1"` || a.XMPP.JID != cmdtest.AliceJID || string(fileBytes(t, e.ConfigPath)) == "" {
		t.Errorf("after refresh: %v %+v", err, a)
	}
}

func TestLoginProvisionFailures(t *testing.T) {
	url, ca := provider(t)
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		hint  string
	}{
		{"wrong provider password", []string{"--provision", url, "--user", "alice", "--ca-file", ca, "--password-stdin"}, "nope\n", cmdutil.ExitAuth, "check the user ID (alice)"},
		{"untrusted certificate", []string{"--provision", url, "--user", "alice", "--password-stdin"}, sharedPassword + "\n", cmdutil.ExitTLS, "--ca-file"},
		{"plain http", []string{"--provision", strings.Replace(url, "https:", "http:", 1), "--user", "alice", "--password-stdin"}, sharedPassword + "\n", cmdutil.ExitTLS, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.In.WriteString(tc.stdin)
			r := e.Run(newCmd, tc.args...)
			if r.Code != tc.code {
				t.Fatalf("exit %d (%v), want %d", r.Code, r.Err, tc.code)
			}
			if tc.hint != "" && !strings.Contains(strings.Join(cmdutil.Hints(r.Err), "\n"), tc.hint) {
				t.Errorf("hints %q", cmdutil.Hints(r.Err))
			}
			if fileBytes(t, e.ConfigPath) != nil {
				t.Error("config written")
			}
			noSecrets(t, r, "nope")
		})
	}
}
