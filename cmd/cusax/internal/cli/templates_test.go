package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/builtin"
	"github.com/cusax/cusax/cmd/cusax/internal/cmd/plugins"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
)

// The backend templates of docs/plugin-protocol.md (plugins/impptemplate,
// plugins/telephonytemplate), built as a third party ships them: separate
// executables named cusax-plugin-KIND-NAME in a plugin directory.
var templateBins = map[protocol.Kind]string{
	protocol.KindIMPP:      "cusax-plugin-impp-template",
	protocol.KindTelephony: "cusax-plugin-telephony-template",
}

var (
	templatesOnce sync.Once
	templatesDir  string
	templatesErr  error
)

// templatePluginDir builds both templates once per test binary (one go
// build: the machine has two cores) into a private plugin directory.
func templatePluginDir(t *testing.T) string {
	t.Helper()
	templatesOnce.Do(func() {
		if templatesDir, templatesErr = os.MkdirTemp("", "cusax-templates-"); templatesErr != nil {
			return
		}
		// Not directly in /tmp: a plugin directory whose parent others can
		// write (sticky or not) is refused (safepath.CheckDir).
		dir := filepath.Join(templatesDir, "plugins")
		if templatesErr = os.Mkdir(dir, 0o700); templatesErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
			"github.com/cusax/cusax/plugins/impptemplate/cmd/"+templateBins[protocol.KindIMPP],
			"github.com/cusax/cusax/plugins/telephonytemplate/cmd/"+templateBins[protocol.KindTelephony])
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			templatesErr = fmt.Errorf("build the templates: %v\n%s", err, out)
		}
	})
	if templatesErr != nil {
		t.Fatal(templatesErr)
	}
	return filepath.Join(templatesDir, "plugins")
}

// The templates are discovered from a plugin directory named in the
// config ([plugins] dirs) and in $CUSAX_PLUGIN_PATH, and the real cusax
// binary lists them with exactly the capabilities they implement.
func TestTemplatePluginsListed(t *testing.T) {
	dir := templatePluginDir(t)
	bin := cusaxBinary(t)
	for _, how := range []string{"config", "env"} {
		t.Run(how, func(t *testing.T) {
			home := t.TempDir()
			cfg := filepath.Join(home, "cusax", "config.toml")
			if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
				t.Fatal(err)
			}
			env := append(os.Environ(), "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home+"/data", "CUSAX_PLUGIN_PATH=")
			toml := ""
			if how == "config" {
				toml = fmt.Sprintf("[plugins]\ndirs = [%q]\n", dir)
			} else {
				env = append(env, "CUSAX_PLUGIN_PATH="+dir)
			}
			if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--config", cfg, "plugins", "--json")
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("cusax plugins --json: %v\nstderr: %s", err, stderr.String())
			}
			var rows []plugins.Row
			if err := cmdtest.UnmarshalList(string(out), "plugins", &rows); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			want := map[protocol.Kind]string{protocol.KindIMPP: "login", protocol.KindTelephony: "register"}
			for kind, caps := range want {
				var row *plugins.Row
				for i := range rows {
					if rows[i].Kind == kind && rows[i].Name == "template" {
						row = &rows[i]
					}
				}
				if row == nil {
					t.Errorf("%s/template not listed: %s", kind, out)
					continue
				}
				path := filepath.Join(dir, templateBins[kind])
				sum := sha256.Sum256(mustRead(t, path))
				if row.Source != "external" || row.Error != "" || row.Refused != "" || row.Path != path ||
					row.SHA256 != hex.EncodeToString(sum[:]) || row.APIVersion != protocol.APIVersion ||
					strings.Join(row.Capabilities, ",") != caps {
					t.Errorf("%s/template: %+v; want external, %s, capabilities %q", kind, row, path, caps)
				}
			}
		})
	}
}

// Both templates pass the conformance suite over go-plugin: discovered in
// the plugin directory, launched as their own processes (checksum checked
// by go-plugin), against the real Prosody and Kamailio.
func TestTemplateConformanceOverGoPlugin(t *testing.T) {
	dir := templatePluginDir(t)
	bed := testbed.Shared(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cands, warnings, err := pluginhost.Discover(self, builtin.Plugins, []string{dir})
	if err != nil || len(warnings) > 0 {
		t.Fatalf("Discover: %v %v", err, warnings)
	}
	launch := func(t *testing.T, kind protocol.Kind) *pluginhost.Instance {
		c, err := pluginhost.Find(cands, kind, "template")
		if err != nil {
			t.Fatal(err)
		}
		if c.BuiltIn || c.Path != filepath.Join(dir, templateBins[kind]) {
			t.Fatalf("found %+v, want the external template", c)
		}
		var l pluginhost.Launcher
		inst, err := l.Launch(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(inst.Close)
		return inst
	}
	ca := mustRead(t, bed.CAFile)
	t.Run("impp", func(t *testing.T) {
		b, err := launch(t, protocol.KindIMPP).IMPP()
		if err != nil {
			t.Fatal(err)
		}
		pw := bed.Users["alice"].Password
		protocoltest.RunIMPP(t, b, protocoltest.Env{
			Good:          protocol.ConnectRequest{Address: bed.JID("alice"), Password: pw, Server: bed.XMPPAddr, CAPEM: ca},
			WrongPassword: "wrong-" + pw,
			BadAddress:    "@" + bed.Domain,
		})
	})
	t.Run("telephony", func(t *testing.T) {
		b, err := launch(t, protocol.KindTelephony).Telephony()
		if err != nil {
			t.Fatal(err)
		}
		pw := bed.Users["bob"].Password
		protocoltest.RunTelephony(t, b, protocoltest.Env{
			Good:          protocol.ConnectRequest{Address: "sip:bob@" + bed.Domain, Password: pw, Server: "sip:" + bed.SIPTLSAddr + ";transport=tls", CAPEM: ca},
			WrongPassword: "wrong-" + pw,
			BadAddress:    "mailto:bob@" + bed.Domain,
		})
	})
}

// cusax itself uses the templates as an account's backends: `cusax login`
// with --xmpp-backend template --sip-backend template registers and logs
// in through them against the real servers, and the reports it prints
// come from them.
func TestTemplateBackendsLogin(t *testing.T) {
	dir := templatePluginDir(t)
	bed := testbed.Shared(t)
	home := t.TempDir()
	r := runCLI(t, home, bed.Users["alice"].Password+"\n", loginArgs(bed, "alice", tlsProxy(bed),
		"--plugin-dir", dir, "--xmpp-backend", "template", "--sip-backend", "template")...)
	if r.code != 0 {
		t.Fatalf("login through the templates: exit %d\n%s", r.code, r.stderr)
	}
	res := decodeLogin(t, r)
	tel, chat := res.Telephony.Report, res.Chat.Report
	if !res.OK || tel == nil || chat == nil {
		t.Fatalf("login result: %+v", res)
	}
	if tel.Backend != "template" || tel.State != "registered" || tel.TLS == nil || !tel.TLS.Verified {
		t.Errorf("telephony report: %+v", tel)
	}
	if chat.Backend != "template" || chat.State != "connected" || chat.TLS == nil || !chat.TLS.Verified || !strings.Contains(chat.AuthMechanism, "SCRAM") {
		t.Errorf("chat report: %+v", chat)
	}
}

// templateHost is the test binary as a minimal host (`__template_host PATH
// JID SERVER CAFILE`, the password on stdin): it launches the IMPP
// template from PATH through go-plugin, logs in, prints "ready" and waits
// to be killed.
func templateHost(args []string) int {
	if len(args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: __template_host PATH JID SERVER CAFILE")
		return 2
	}
	path, jid, server, caFile := args[0], args[1], args[2], args[3]
	fail := func(err error) int { fmt.Fprintln(os.Stderr, "template host:", err); return 1 }
	pw, err := io.ReadAll(os.Stdin)
	if err != nil {
		return fail(err)
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return fail(err)
	}
	sum, err := pluginhost.HashFile(path)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var l pluginhost.Launcher
	inst, err := l.Launch(ctx, pluginhost.Candidate{Kind: protocol.KindIMPP, Name: "template", Path: path, SHA256: sum})
	if err != nil {
		return fail(err)
	}
	b, err := inst.IMPP()
	if err != nil {
		return fail(err)
	}
	if _, err := b.Connect(ctx, protocol.ConnectRequest{Address: jid, Password: strings.TrimSpace(string(pw)), Server: server, CAPEM: ca}); err != nil {
		return fail(err)
	}
	fmt.Println("ready")
	select {} // until killed
}
