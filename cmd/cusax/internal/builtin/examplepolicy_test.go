package builtin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/session"
	examplepolicy "github.com/cusax/cusax/plugins/example-policy"
	"github.com/hashicorp/go-hclog"
)

// This end-to-end test lived in plugins/example-policy; it drives the host
// (pluginhost, login), so it lives on the host side: no plugin, nor its
// tests, imports pkg/core (plugins/boundary_test.go).

// The whole path of `cusax audit-tls` for an account with
// policy = ["example"]: the example built as its own binary and the
// built-in default policy, both real go-plugin child processes, chained by
// login.ReweighAudit. An endpoint without TLS 1.3 turns WARNING into
// CRITICAL, and the finding says which policy raised it and why; an
// account without the example keeps the profile's verdict.
func TestReweighAuditThroughPluginProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example plugin")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "cusax-plugin-policy-example"), "github.com/cusax/cusax/plugins/example-policy/cmd/cusax-plugin-policy-example")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build example plugin: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := &pluginhost.Host{Self: self, Dirs: []string{dir},
		BuiltIns: Plugins,
		Launcher: pluginhost.Launcher{Logger: hclog.NewNullLogger(), Command: func(c pluginhost.Candidate) *exec.Cmd {
			return exec.Command(self, pluginhost.ServeArg, string(c.Kind), c.Name)
		}}}

	profile, err := audit.BuiltinProfile(audit.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	sev, _ := profile.Severity(examplepolicy.TLS13Check)
	finding := func(account string) audit.Finding {
		return audit.Finding{ID: examplepolicy.TLS13Check, Account: account, Aspect: audit.Chat, Endpoint: "xmpp:example.test:5222",
			Severity: sev, Status: audit.Fail, Evidence: "TLS 1.3 not offered", Ref: "RFC 9325 §3.1.1"}
	}
	in := audit.NewReport(audit.Tool{Name: "cusax"}, time.Now(), time.Now(), profile, audit.Low, audit.High,
		[]audit.Finding{finding("work"), finding("home")})
	if in.Summary.ExitCode != audit.ExitWarning {
		t.Fatalf("before: exit %d, want WARNING (tls.tls13 is %s in bcp195)", in.Summary.ExitCode, sev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	accounts := []config.Account{{Name: "work", Policy: []string{"example"}}, {Name: "home"}}
	out, err := session.ReweighAudit(ctx, session.FromHost(host), accounts, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Summary.ExitCode != audit.ExitCritical {
		t.Errorf("after: exit %d, want CRITICAL", out.Summary.ExitCode)
	}
	work, home := out.Findings[0], out.Findings[1]
	if work.Severity != audit.High || work.Status != audit.Fail || work.Evidence != "TLS 1.3 not offered" ||
		work.Override == nil || work.Override.Policy != "example" || work.Override.FromSeverity != sev || work.Override.Reason == "" {
		t.Errorf("work's finding %+v (override %+v)", work, work.Override)
	}
	if !reflect.DeepEqual(home, in.Findings[1]) {
		t.Errorf("home's finding changed: %+v", home)
	}
}
