package cusaxv1

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// auditPolicy raises every failed finding to critical, and echoes the
// request back in the reason so the test sees what crossed the wire.
type auditPolicy struct {
	protocol.AbstainingPolicy
	got  *protocol.AuditFindingsRequest
	fail error
}

func (auditPolicy) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: "strict", Version: "1", APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapAuditFindings}}, nil
}

func (p auditPolicy) JudgeAuditFindings(_ context.Context, req protocol.AuditFindingsRequest) (protocol.AuditFindingsDecision, error) {
	if p.fail != nil {
		return protocol.AuditFindingsDecision{}, p.fail
	}
	if p.got != nil {
		*p.got = req
	}
	d := protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Allow, Reason: "strict"}}
	for _, f := range req.Findings {
		if f.Status == "fail" {
			d.Changes = append(d.Changes, protocol.AuditSeverityChange{ID: f.ID, Aspect: f.Aspect, Endpoint: f.Endpoint,
				Severity: protocol.AuditCritical, Reason: "strict: every failure is critical"})
		}
	}
	return d, nil
}

// plainPolicy implements protocol.Policy and nothing more, as a policy
// written before protocol.AuditJudge existed.
type plainPolicy struct{}

func (plainPolicy) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: "plain", Version: "1", APIVersion: protocol.APIVersion}, nil
}
func (plainPolicy) ChooseAccount(context.Context, protocol.ChooseAccountRequest) (protocol.Decision, error) {
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}
func (plainPolicy) ApproveCost(context.Context, protocol.CostRequest) (protocol.Decision, error) {
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}
func (plainPolicy) JudgeCallerBinding(context.Context, protocol.BindingRequest) (protocol.Decision, error) {
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}
func (plainPolicy) JudgeSecurityParity(_ context.Context, req protocol.ParityRequest) (protocol.ParityDecision, error) {
	return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Abstain}, Findings: req.Findings}, nil
}

// abstainer embeds protocol.AbstainingPolicy, as the docs tell plugin
// authors to.
type abstainer struct{ protocol.AbstainingPolicy }

func (abstainer) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: "abstainer", Version: "1", APIVersion: protocol.APIVersion}, nil
}

// oldPolicyPlugin serves the policy service as a plugin binary built
// before JudgeAuditFindings existed would: every RPC it does not know is
// the generated Unimplemented stub.
type oldPolicyPlugin struct{ plugin.NetRPCUnsupportedPlugin }

type oldPolicyServer struct{ UnimplementedPolicyServer }

func (oldPolicyServer) Info(context.Context, *InfoRequest) (*PluginInfo, error) {
	return &PluginInfo{Kind: string(protocol.KindPolicy), Name: "old", Version: "0.9", ApiVersion: protocol.APIVersion}, nil
}

func (*oldPolicyPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	RegisterPolicyServer(s, oldPolicyServer{})
	return nil
}

func (*oldPolicyPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (interface{}, error) {
	return NewPolicyHost(cc), nil
}

func dispensePolicy(t *testing.T, p plugin.Plugin) protocol.Policy {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{"policy": p})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense("policy")
	if err != nil {
		t.Fatal(err)
	}
	return raw.(protocol.Policy)
}

func judge(t *testing.T, p protocol.Policy) protocol.AuditJudge {
	t.Helper()
	j, ok := p.(protocol.AuditJudge)
	if !ok {
		t.Fatalf("%T does not implement protocol.AuditJudge", p)
	}
	return j
}

func TestAuditFindingsCrossTheWire(t *testing.T) {
	var got protocol.AuditFindingsRequest
	host := dispensePolicy(t, &PolicyPlugin{Impl: auditPolicy{got: &got}})
	req := protocol.AuditFindingsRequest{Account: "work", Profile: "acme", Findings: []protocol.AuditFinding{
		{ID: "tls.tls10", Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "high", Status: "fail", Evidence: "TLS 1.0 accepted", Ref: "RFC 9325 §3.1.1"},
		{ID: "cusax.suites", Aspect: "cusax", Severity: "medium", Status: "pass"},
	}}
	d, err := judge(t, host).JudgeAuditFindings(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Errorf("request changed on the wire:\n got %+v\nwant %+v", got, req)
	}
	want := protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Allow, Reason: "strict"},
		Changes: []protocol.AuditSeverityChange{{ID: "tls.tls10", Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "critical", Reason: "strict: every failure is critical"}}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decision changed on the wire:\n got %+v\nwant %+v", d, want)
	}
}

func TestAuditFindingsErrorCrossesTheWire(t *testing.T) {
	host := dispensePolicy(t, &PolicyPlugin{Impl: auditPolicy{fail: fmt.Errorf("rules file: %w", protocol.ErrInvalid)}})
	_, err := judge(t, host).JudgeAuditFindings(context.Background(), protocol.AuditFindingsRequest{Account: "work"})
	if !errors.Is(err, protocol.ErrInvalid) || err.Error() != "rules file: invalid request" {
		t.Fatalf("got %v, want the plugin's ErrInvalid", err)
	}
}

// A policy without the decision and a plugin binary older than the RPC
// both answer ErrUnsupported, which the chain reads as abstaining.
func TestAuditFindingsUnsupported(t *testing.T) {
	for name, p := range map[string]plugin.Plugin{
		"policy without AuditJudge": &PolicyPlugin{Impl: plainPolicy{}},
		"plugin built before RPC":   &oldPolicyPlugin{},
	} {
		t.Run(name, func(t *testing.T) {
			host := dispensePolicy(t, p)
			_, err := judge(t, host).JudgeAuditFindings(context.Background(), protocol.AuditFindingsRequest{Account: "work"})
			if !errors.Is(err, protocol.ErrUnsupported) {
				t.Fatalf("got %v, want ErrUnsupported", err)
			}
		})
	}
}

// The conformance suite holds for each of them over gRPC.
func TestPolicyConformanceOverGRPC(t *testing.T) {
	for name, p := range map[string]plugin.Plugin{
		"audit policy":              &PolicyPlugin{Impl: auditPolicy{}},
		"abstaining policy":         &PolicyPlugin{Impl: abstainer{}},
		"policy without AuditJudge": &PolicyPlugin{Impl: plainPolicy{}},
	} {
		t.Run(name, func(t *testing.T) { protocoltest.RunPolicy(t, dispensePolicy(t, p)) })
	}
}

// echoPolicy records the cost request it was sent.
type echoPolicy struct {
	abstainer
	got *protocol.CostRequest
}

func (p echoPolicy) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	*p.got = req
	return protocol.Decision{Verdict: protocol.Abstain}, nil
}

// The decision so far (Prior) and the region reach the next policy as
// sent; an empty Prior stays empty (the first policy of a chain).
func TestPriorCrossesTheWire(t *testing.T) {
	var got protocol.CostRequest
	host := dispensePolicy(t, &PolicyPlugin{Impl: echoPolicy{got: &got}})
	for name, req := range map[string]protocol.CostRequest{
		"first policy": {Target: "+4990012345", URI: "tel:+4990012345", PSTN: true, Region: "DE"},
		"after default": {Target: "+4990012345", URI: "tel:+4990012345", PSTN: true, Region: "DE",
			Prior: protocol.Prior{Verdict: protocol.Allow, Reason: "confirmed with --yes", Policy: "default"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := host.ApproveCost(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, req) {
				t.Errorf("request changed on the wire:\n got %+v\nwant %+v", got, req)
			}
		})
	}
}
