package examplepolicy

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
	corelogin "github.com/cusax/cusax/pkg/core/login"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	"github.com/cusax/cusax/plugins/policy"
	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
)

// TestMain makes the test binary serve the built-in default policy when
// re-executed, as the cusax binary does, so the end-to-end test runs the
// same chain as `cusax audit-tls`: "default", then the example.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == pluginhost.ServeArg {
		plugin.Serve(plugin.ServeConfig{Policy: policy.New(), Logger: hclog.NewNullLogger()})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestConformance(t *testing.T) {
	t.Run("in-process", func(t *testing.T) { protocoltest.RunPolicy(t, Policy{}) })
	t.Run("grpc", func(t *testing.T) {
		client, _ := goplugin.TestPluginGRPCConn(t, false, map[string]goplugin.Plugin{"policy": &cusaxv1.PolicyPlugin{Impl: Policy{}}})
		t.Cleanup(func() { client.Close() })
		raw, err := client.Dispense("policy")
		if err != nil {
			t.Fatal(err)
		}
		protocoltest.RunPolicy(t, raw.(protocol.Policy))
	})
}

func TestJudgeAuditFindings(t *testing.T) {
	reason := "example policy: TLS 1.3 is required here (RFC 9325 §3.1.1 says SHOULD)"
	tests := []struct {
		name     string
		findings []protocol.AuditFinding
		want     []protocol.AuditSeverityChange
	}{
		{name: "no findings"},
		{name: "raised where lower, per endpoint", findings: []protocol.AuditFinding{
			{ID: TLS13Check, Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "low", Status: "fail"},
			{ID: TLS13Check, Aspect: "telephony", Endpoint: "sip:a:5061", Severity: "medium", Status: "pass"},
			{ID: "tls.tls10", Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "low", Status: "fail"},
		}, want: []protocol.AuditSeverityChange{
			{ID: TLS13Check, Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "high", Reason: reason},
			{ID: TLS13Check, Aspect: "telephony", Endpoint: "sip:a:5061", Severity: "high", Reason: reason},
		}},
		{name: "never lowered", findings: []protocol.AuditFinding{
			{ID: TLS13Check, Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "high", Status: "fail"},
			{ID: TLS13Check, Aspect: "telephony", Endpoint: "sip:a:5061", Severity: "critical", Status: "fail"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Policy{}.JudgeAuditFindings(context.Background(), protocol.AuditFindingsRequest{Account: "work", Findings: tt.findings})
			if err != nil {
				t.Fatal(err)
			}
			wantVerdict := protocol.Allow
			if tt.want == nil {
				wantVerdict = protocol.Abstain
			}
			if d.Verdict != wantVerdict || !reflect.DeepEqual(d.Changes, tt.want) {
				t.Errorf("decision %s %+v, want %s %+v", d.Verdict, d.Changes, wantVerdict, tt.want)
			}
		})
	}
}

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
		BuiltIns: []pluginhost.BuiltIn{{Kind: protocol.KindPolicy, Name: policy.Name}},
		Launcher: pluginhost.Launcher{Logger: hclog.NewNullLogger(), Command: func(c pluginhost.Candidate) *exec.Cmd {
			return exec.Command(self, pluginhost.ServeArg, string(c.Kind), c.Name)
		}}}

	profile, err := audit.BuiltinProfile(audit.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	sev, _ := profile.Severity(TLS13Check)
	finding := func(account string) audit.Finding {
		return audit.Finding{ID: TLS13Check, Account: account, Aspect: audit.Chat, Endpoint: "xmpp:example.test:5222",
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
	out, err := corelogin.ReweighAudit(ctx, host, accounts, in)
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
