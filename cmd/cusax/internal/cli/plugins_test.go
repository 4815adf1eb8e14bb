package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmd/plugins"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/plugins/policy"
	xmppbackend "github.com/cusax/cusax/plugins/xmpp"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// serveFuturePlugin pretends to be a plugin built for API version 2.
func serveFuturePlugin() int {
	hs := cusaxv1.Handshake
	hs.ProtocolVersion = 2
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		VersionedPlugins: map[int]plugin.PluginSet{2: {
			"impp":   &cusaxv1.IMPPPlugin{Impl: xmppbackend.New(hclog.NewNullLogger())},
			"policy": &cusaxv1.PolicyPlugin{Impl: policy.New()},
		}},
		GRPCServer: plugin.DefaultGRPCServer,
	})
	return 0
}

// pluginDir holds the example external policy, built as its own binary, and
// two plugins that speak API version 2.
func pluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "cusax-plugin-policy-example")
	build := exec.Command("go", "build", "-o", out, "github.com/cusax/cusax/plugins/example-policy/cmd/cusax-plugin-policy-example")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build example plugin: %v\n%s", err, b)
	}
	self, _ := os.Executable()
	for _, kind := range []string{"impp", "policy"} {
		script := "#!/bin/sh\nexec '" + self + "' __future_plugin\n"
		if err := os.WriteFile(filepath.Join(dir, "cusax-plugin-"+kind+"-future"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPluginsListsBuiltInsAndExternal(t *testing.T) {
	home := t.TempDir()
	dir := pluginDir(t)
	r := runCLI(t, home, "", "plugins", "--json", "--plugin-dir", dir)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	var rows []plugins.Row
	if err := cmdtest.UnmarshalList(r.stdout, "plugins", &rows); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	byID := map[string]plugins.Row{}
	for _, row := range rows {
		byID[string(row.Kind)+"/"+row.Name] = row
	}
	for _, id := range []string{"impp/xmpp", "telephony/sip", "policy/default"} {
		row, ok := byID[id]
		if !ok || row.Source != "built-in" || row.Error != "" || row.APIVersion != 1 || len(row.Capabilities) == 0 {
			t.Errorf("built-in %s: %+v", id, row)
		}
	}
	ex := byID["policy/example"]
	sum := sha256.Sum256(mustRead(t, filepath.Join(dir, "cusax-plugin-policy-example")))
	if ex.Source != "external" || ex.Error != "" || ex.Version != "0.1.0" || ex.SHA256 != hex.EncodeToString(sum[:]) || strings.Join(ex.Capabilities, ",") != "approve-cost,audit-findings" {
		t.Errorf("external example plugin: %+v", ex)
	}
	fut := byID["policy/future"]
	if !strings.Contains(fut.Error, "another API version") {
		t.Errorf("API v2 plugin not refused clearly: %+v", fut)
	}
	// Piped output is tab-separated with stable columns.
	r = runCLI(t, home, "", "plugins", "--plugin-dir", dir)
	if !strings.Contains(r.stdout, "policy\texample\t0.1.0\t1\texternal\tapprove-cost,audit-findings\t") {
		t.Errorf("TSV output: %q", r.stdout)
	}
}

// Using a plugin that speaks another API major version fails with exit 6.
func TestIncompatiblePluginRefused(t *testing.T) {
	home := t.TempDir()
	dir := pluginDir(t)
	r := runCLI(t, home, "pw\n", "--plugin-dir", dir, "login", "--name", "x", "--jid", "alice@example.test", "--xmpp-server", "127.0.0.1:1", "--xmpp-backend", "future", "--password-stdin")
	if r.code != cmdutil.ExitPlugin || !strings.Contains(r.stderr, "speaks another API version") {
		t.Errorf("exit %d stderr %q", r.code, r.stderr)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Plugin logs reach stderr only with --debug.
func TestPluginLogsOnlyWithDebug(t *testing.T) {
	home := t.TempDir()
	r := runCLI(t, home, "", "plugins")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("without --debug: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, home, "", "--debug", "plugins")
	// "plugin address" is logged inside the plugin process and re-emitted.
	if r.code != 0 || !strings.Contains(r.stderr, "plugin address") {
		t.Errorf("with --debug: exit %d, stderr lacks the plugins' own logs: %q", r.code, r.stderr)
	}
}
