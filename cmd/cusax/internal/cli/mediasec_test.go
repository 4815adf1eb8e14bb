package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/config"
)

// --media-encryption takes srtp, optional or none on call and answer: any
// other value is a usage error (exit 2) before any server is contacted;
// with --json it is the JSON error object on stderr. Exit code 14 is in
// `cusax help exit-codes`.
func TestMediaEncryptionFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"call", "sip:bob@example.test", "--media-encryption", "zrtp"},
		{"answer", "--media-encryption", "SRTP"},
	} {
		r := runCLI(t, t.TempDir(), "", args...)
		first := strings.SplitN(r.stderr, "\n", 2)[0]
		if r.code != cmdutil.ExitUsage || !strings.HasPrefix(first, "cusax: error: --media-encryption") || !strings.Contains(first, "want srtp, optional, none") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
		r = runCLI(t, t.TempDir(), "", append(args, "--json")...)
		var obj struct {
			Error    string   `json:"error"`
			ExitCode int      `json:"exit_code"`
			Hints    []string `json:"hints"`
		}
		if err := json.Unmarshal([]byte(r.stderr), &obj); err != nil || obj.ExitCode != 2 || !strings.Contains(obj.Error, "srtp, optional, none") || r.stdout != "" {
			t.Errorf("%v --json: exit %d, stderr %q (%v)", args, r.code, r.stderr, err)
		}
	}
	r := runCLI(t, t.TempDir(), "", "help", "exit-codes")
	if !strings.Contains(r.stdout, "14   call: media encryption required (media_encryption = srtp)") {
		t.Errorf("help exit-codes has no 14: %q", r.stdout)
	}
}

// setMediaAccount sets the SIP aspect of the account "lab" under home (made
// by `cusax login`, e.g. newCaller) to signal through proxy (tlsProxy(bed)
// for TLS) with media_encryption = value ("" removes the key). For the
// real-peer SRTP tests of issue 16, which need the SIP backend's SRTP.
func setMediaAccount(t *testing.T, home, proxy, value string) {
	t.Helper()
	path := home + "/cusax/config.toml"
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Accounts {
		if a := &cfg.Accounts[i]; a.Name == "lab" && a.SIP != nil {
			a.SIP.Proxy, a.SIP.MediaEncryption = proxy, value
			if err := config.Save(path, cfg); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no account lab with SIP in %s", path)
}

// The helper writes what config validation accepts, and the key is read
// back (no servers: a config written by hand as login would).
func TestMediaAccountHelper(t *testing.T) {
	home := t.TempDir()
	cfg := &config.Config{Accounts: []config.Account{{Name: "lab", SIP: &config.SIPAspect{AOR: "sip:alice@example.test",
		Proxy: "sip:127.0.0.1:5060;transport=udp"}}}}
	if err := config.Save(home+"/cusax/config.toml", cfg); err != nil {
		t.Fatal(err)
	}
	bed := &testbed.Bed{SIPTLSAddr: "127.0.0.1:5061"}
	setMediaAccount(t, home, tlsProxy(bed), "optional")
	got, err := config.Load(home + "/cusax/config.toml")
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Accounts[0].SIP; s.Proxy != tlsProxy(bed) || s.MediaEncryption != "optional" {
		t.Errorf("sip aspect %+v", s)
	}
}
