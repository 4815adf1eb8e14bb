package examplepolicy

import (
	"context"
	"reflect"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	goplugin "github.com/hashicorp/go-plugin"
)

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
