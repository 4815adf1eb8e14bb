package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/parity"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	sipbackend "github.com/cusax/cusax/plugins/sip"
	"github.com/hashicorp/go-hclog"
)

// Issue 16 item 4: call media in the security-parity check (RFC 7081 §7).
// An account whose SIP runs over TLS (the bed's Kamailio) but whose media
// is, or may be, plain RTP gets a parity finding in `cusax login` and a
// failed cusax.media-encryption in `cusax audit-tls`, each with the exact
// config line that fixes it.

var (
	builtinSRTPOnce sync.Once
	builtinSRTP     bool
)

// builtinSIPDeclaresSRTP reports whether the built-in sip backend declares
// protocol.CapSRTP (plugins/sip gains it with SRTP for calls, issue 16).
func builtinSIPDeclaresSRTP(t *testing.T) bool {
	t.Helper()
	builtinSRTPOnce.Do(func() {
		info, err := sipbackend.New(hclog.NewNullLogger()).Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		builtinSRTP = info.Has(protocol.CapSRTP)
	})
	return builtinSRTP
}

// builtinMediaGap reports whether f is the media gap of the built-in sip
// backend while it does not declare SRTP: true, and reported, for every
// account with SIP over TLS on it, so the audit and login tests of other
// properties expect it then (and only then: once the backend declares
// SRTP, such a finding fails those tests again).
func builtinMediaGap(t *testing.T, f audit.Finding) bool {
	return f.ID == audit.CheckCUSAXMedia && f.Status == audit.Fail && !builtinSIPDeclaresSRTP(t) &&
		strings.Contains(f.Evidence, `telephony backend "sip" does not declare srtp`)
}

// withBuiltinMediaGap is the exit code an audit of rep has when code is
// what its other findings give: the built-in's media gap (builtinMediaGap)
// is high, so it makes the audit CRITICAL while it lasts.
func withBuiltinMediaGap(t *testing.T, rep audit.Report, code int) int {
	for _, f := range rep.Findings {
		if builtinMediaGap(t, f) && f.Severity >= audit.High && code < audit.ExitCritical {
			return audit.ExitCritical
		}
	}
	return code
}

// srtpClaim is the real sip backend under another name, declaring
// protocol.CapSRTP: the parity decision reads only what a backend
// declares, and these tests place no call, so this gives login and
// audit-tls a backend with SRTP over the bed's real TLS registration
// whatever the built-in declares.
type srtpClaim struct{ *sipbackend.Backend }

func (b srtpClaim) Info(ctx context.Context) (protocol.Info, error) {
	i, err := b.Backend.Info(ctx)
	i.Name = "srtpclaim"
	if !i.Has(protocol.CapSRTP) {
		i.Capabilities = append(i.Capabilities, protocol.CapSRTP)
	}
	return i, err
}

func serveSRTPClaimPlugin() int {
	logger := plugin.Logger("srtpclaim", os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{Telephony: srtpClaim{sipbackend.New(logger)}, Logger: logger})
	return 0
}

// srtpPluginDir holds cusax-plugin-telephony-srtpclaim (this test binary).
func srtpPluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nexec '" + self + "' __srtpclaim_plugin\n"
	if err := os.WriteFile(filepath.Join(dir, "cusax-plugin-telephony-srtpclaim"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mediaAccount writes account "lab" (alice, both aspects over TLS on the
// bed) with the given media_encryption and telephony backend, and returns
// its home.
func mediaAccount(t *testing.T, bed *testbed.Bed, name, setting, backend, sipProxy string) string {
	t.Helper()
	home := t.TempDir()
	cfg := &config.Config{Default: name, Accounts: []config.Account{{
		Name: name, Related: true, CAFile: bed.CAFile,
		XMPP: &config.XMPPAspect{JID: "alice@" + bed.Domain, Server: bed.XMPPAddr},
		SIP:  &config.SIPAspect{AOR: "sip:alice@" + bed.Domain, Proxy: sipProxy, MediaEncryption: setting, Backend: backend},
	}}}
	if err := config.Save(filepath.Join(home, "cusax", "config.toml"), cfg); err != nil {
		t.Fatal(err)
	}
	return home
}

// cusax login of an account with SIP over TLS: media_encryption "none"
// (and "optional") is a parity warning on stderr with the exact config
// line, exit 0; --require-parity makes it exit 9 and saves nothing; the
// default with a backend that declares SRTP is no finding at all.
func TestLoginMediaParity(t *testing.T) {
	bed := testbed.Shared(t)
	pw := bed.Users["alice"].Password + "\n"
	srtpDir := srtpPluginDir(t)
	login := func(t *testing.T, home, name string, extra ...string) cliResult {
		args := append([]string{"--plugin-dir", srtpDir}, loginArgs(bed, "alice", tlsProxy(bed), extra...)...)
		for i, a := range args {
			if a == "lab" && args[i-1] == "--name" {
				args[i] = name
			}
		}
		return runCLI(t, home, pw, args...)
	}
	for _, tc := range []struct {
		name, account, setting, backend string
		sev                             string // "" = no media finding
		hint                            string
	}{
		{name: "none", account: "lab", setting: "none", backend: "srtpclaim", sev: parity.Critical,
			hint: `cusax: hint: set media_encryption = "srtp" in the [account.sip] table of account "lab" (or remove the line: over TLS the default is SRTP)`},
		{name: "optional", account: "lab", setting: "optional", backend: "srtpclaim", sev: parity.Warning,
			hint: `cusax: hint: set media_encryption = "srtp" in the [account.sip] table of account "lab"`},
		{name: "default with an SRTP backend", account: "lab", backend: "srtpclaim"},
		{name: "srtp with an SRTP backend", account: "lab", setting: "srtp", backend: "srtpclaim"},
		// A dotted name (valid) would be a nested TOML key unquoted: the
		// fix names it quoted, as one account.
		{name: "none, dotted account name", account: "lab.home_1-x", setting: "none", backend: "srtpclaim", sev: parity.Critical,
			hint: `[account.sip] table of account "lab.home_1-x" (`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := mediaAccount(t, bed, tc.account, tc.setting, tc.backend, tlsProxy(bed))
			cfgPath := filepath.Join(home, "cusax", "config.toml")
			before, _ := os.ReadFile(cfgPath)
			r := login(t, home, tc.account)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, bed.Logs())
			}
			res := decodeLogin(t, r)
			if res.Telephony.Report == nil || res.Telephony.Report.Transport != "tls" {
				t.Fatalf("telephony not over TLS: %+v", res.Telephony)
			}
			var media []string
			for _, f := range res.Parity {
				if f.ID == parity.MediaID {
					media = append(media, f.Severity+" "+f.Fix)
				}
			}
			if tc.sev == "" {
				if len(media) != 0 || strings.Contains(r.stderr, parity.MediaID) {
					t.Fatalf("media findings %q, want none\nstderr: %s", media, r.stderr)
				}
				rr := login(t, mediaAccount(t, bed, tc.account, tc.setting, tc.backend, tlsProxy(bed)), tc.account, "--require-parity")
				if rr.code == cmdutil.ExitParity {
					t.Errorf("--require-parity refused an account without a media gap: %s", rr.stderr)
				}
				return
			}
			if len(media) != 1 || !strings.HasPrefix(media[0], tc.sev+" ") {
				t.Fatalf("media findings %q, want one %s", media, tc.sev)
			}
			if !strings.Contains(r.stderr, tc.sev+": "+parity.MediaID+": ") || !strings.Contains(r.stderr, tc.hint) {
				t.Errorf("stderr lacks the warning or the hint %q:\n%s", tc.hint, r.stderr)
			}
			for _, l := range strings.Split(r.stderr, "\n") {
				if strings.Contains(l, "media_encryption = ") && !strings.HasPrefix(l, "cusax: ") {
					t.Errorf("the fix spans lines: %q", l)
				}
			}

			// --require-parity: exit 9, the config untouched.
			if err := os.WriteFile(cfgPath, before, 0o600); err != nil {
				t.Fatal(err)
			}
			r = login(t, home, tc.account, "--require-parity")
			if r.code != cmdutil.ExitParity {
				t.Errorf("--require-parity: exit %d, want %d", r.code, cmdutil.ExitParity)
			}
			if after, _ := os.ReadFile(cfgPath); string(after) != string(before) {
				t.Errorf("config changed despite --require-parity failure")
			}
		})
	}

	// The built-in sip backend: the default setting is no gap exactly
	// when the backend declares SRTP.
	t.Run("default with the built-in backend", func(t *testing.T) {
		home := mediaAccount(t, bed, "lab", "", "", tlsProxy(bed))
		r := login(t, home, "lab")
		if r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
		var media []string
		for _, f := range decodeLogin(t, r).Parity {
			if f.ID == parity.MediaID {
				media = append(media, f.Message)
			}
		}
		if builtinSIPDeclaresSRTP(t) {
			if len(media) != 0 {
				t.Errorf("media findings %q with a backend that declares SRTP", media)
			}
		} else if len(media) != 1 || !strings.Contains(media[0], `backend "sip" does not declare SRTP`) {
			t.Errorf("media findings %q, want the built-in's missing SRTP", media)
		}
	})

	// SIP over UDP: the signalling finding alone (parity.encryption), no
	// second one for media that could never be keyed there.
	t.Run("none over UDP", func(t *testing.T) {
		udp := "sip:" + bed.SIPUDPAddr + ";transport=udp"
		home := mediaAccount(t, bed, "lab", "none", "srtpclaim", udp)
		r := runCLI(t, home, pw, append([]string{"--plugin-dir", srtpDir}, loginArgs(bed, "alice", udp)...)...)
		if r.code != 0 {
			t.Fatalf("exit %d", r.code)
		}
		res := decodeLogin(t, r)
		if len(res.Parity) != 1 || res.Parity[0].ID != "parity.encryption" {
			t.Errorf("findings %+v, want parity.encryption alone", res.Parity)
		}
	})
}

// Hostile: an account name that would steer the fix text (a newline, a
// TOML table of its own) never reaches it: names are validated before
// anything is proved or printed, one line, exit 2.
func TestLoginMediaParityHostileName(t *testing.T) {
	bed := testbed.Shared(t)
	for _, name := range []string{"x\nmedia_encryption = \"none\"", `x"] [account.sip`, "a b", "\x1b[2K"} {
		home := t.TempDir()
		args := loginArgs(bed, "alice", tlsProxy(bed))
		args[2] = name
		r := runCLI(t, home, bed.Users["alice"].Password+"\n", args...)
		if r.code != cmdutil.ExitUsage {
			t.Errorf("--name %q: exit %d, want %d", name, r.code, cmdutil.ExitUsage)
		}
		if strings.Contains(r.stderr, "media_encryption = \"srtp\"") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 1 {
			t.Errorf("--name %q: stderr %q", name, r.stderr)
		}
	}
}

// cusax audit-tls: cusax.media-encryption against the bed's TLS SIP, in
// the JSON document, the NDJSON lines and the text report, with the fix;
// "none" fails (high: exit 2); the default with a backend that declares
// SRTP passes; SIP over UDP skips it (sip.tls and cusax.encryption say
// why).
func TestAuditTLSMediaEncryption(t *testing.T) {
	bed := testbed.Shared(t)
	srtpDir := srtpPluginDir(t)
	audit1 := func(t *testing.T, home string, args ...string) (cliResult, audit.Finding) {
		r := runCLI(t, home, "", append([]string{"--plugin-dir", srtpDir, "audit-tls", "--no-state"}, args...)...)
		if len(args) == 0 || args[0] != "--json" {
			return r, audit.Finding{}
		}
		rep := decodeAudit(t, r)
		fs := findingByID(rep, audit.CheckCUSAXMedia)
		if len(fs) != 1 {
			t.Fatalf("%d %s findings, want 1", len(fs), audit.CheckCUSAXMedia)
		}
		return r, fs[0]
	}
	fix := `set media_encryption = "srtp" in the [account.sip] table of account "lab" (or remove the line: over TLS the default is SRTP)`

	home := mediaAccount(t, bed, "lab", "none", "srtpclaim", tlsProxy(bed))
	r, f := audit1(t, home, "--json")
	if f.Status != audit.Fail || f.Severity != audit.High || f.Aspect != audit.CUSAX || f.Fix != fix ||
		f.Ref != "RFC 7081 §7; RFC 4568 §8.3" || !strings.Contains(f.Evidence, `media_encryption "none"; SIP over TLS; telephony backend "srtpclaim" declares srtp`) {
		t.Errorf("none over TLS: %+v", f)
	}
	if r.code != audit.ExitCritical {
		t.Errorf("exit %d, want %d (a high failure)", r.code, audit.ExitCritical)
	}
	r, _ = audit1(t, home, "--format", "ndjson")
	var seen bool
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var x audit.Finding
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("NDJSON line %q: %v", l, err)
		}
		seen = seen || x.ID == audit.CheckCUSAXMedia && x.Status == audit.Fail && x.Fix == fix
	}
	if !seen || r.code != audit.ExitCritical {
		t.Errorf("NDJSON: check seen %v, exit %d", seen, r.code)
	}
	r, _ = audit1(t, home)
	for _, want := range []string{audit.CheckCUSAXMedia, "fix:      " + fix, "ref:      RFC 7081 §7; RFC 4568 §8.3"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stdout)
		}
	}

	// optional: fails too (the media may fall back to clear).
	_, f = audit1(t, mediaAccount(t, bed, "lab", "optional", "srtpclaim", tlsProxy(bed)), "--json")
	if f.Status != audit.Fail || f.Fix != fix || !strings.Contains(f.Evidence, "may go as plain RTP") {
		t.Errorf("optional over TLS: %+v", f)
	}

	// The default with a backend that declares SRTP: pass, and nothing
	// else changes (the bed's known medium/low failures keep exit 1).
	r, f = audit1(t, mediaAccount(t, bed, "lab", "", "srtpclaim", tlsProxy(bed)), "--json")
	if f.Status != audit.Pass || f.Fix != "" || !strings.Contains(f.Evidence, `media_encryption not set (SRTP over TLS); SIP over TLS; telephony backend "srtpclaim" declares srtp`) {
		t.Errorf("default over TLS with SRTP: %+v", f)
	}
	if r.code != audit.ExitWarning {
		t.Errorf("default over TLS with SRTP: exit %d, want %d (the bed's medium findings only)", r.code, audit.ExitWarning)
	}

	// SIP over UDP: skipped, not a second finding.
	_, f = audit1(t, mediaAccount(t, bed, "lab", "none", "srtpclaim", "sip:"+bed.SIPUDPAddr+";transport=udp"), "--json")
	if f.Status != audit.Skipped || !strings.Contains(f.Evidence, "SIP over UDP") {
		t.Errorf("none over UDP: %+v", f)
	}
}
