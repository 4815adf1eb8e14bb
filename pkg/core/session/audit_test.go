package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/policychain"
	"github.com/cusax/cusax/pkg/protocol"
)

// auditPol is a policy whose audit decision is canned.
type auditPol struct {
	protocol.AbstainingPolicy
	name string
	d    protocol.AuditFindingsDecision
	err  error
	got  *[]protocol.AuditFindingsRequest
	// empty answers the zero decision (no verdict) instead of abstaining.
	empty bool
}

func (p auditPol) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: p.name}, nil
}

func (p auditPol) JudgeAuditFindings(_ context.Context, req protocol.AuditFindingsRequest) (protocol.AuditFindingsDecision, error) {
	if p.got != nil {
		*p.got = append(*p.got, req)
	}
	if p.d.Verdict == "" && !p.empty {
		p.d.Verdict = protocol.Abstain
	}
	return p.d, p.err
}

// oldPol is a policy written before protocol.AuditJudge.
type oldPol struct{ protocol.Policy }

func (oldPol) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: "old"}, nil
}

// mkChain names each policy as its Info does (the config name, in life).
func mkChain(ps ...protocol.Policy) policychain.Chain {
	var c policychain.Chain
	for _, p := range ps {
		info, _ := p.Info(context.Background())
		c.Members = append(c.Members, policychain.Member{Name: info.Name, Policy: p})
	}
	return c
}

func allow(changes ...protocol.AuditSeverityChange) protocol.AuditFindingsDecision {
	return protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Allow}, Changes: changes}
}

var raise = protocol.AuditSeverityChange{ID: audit.CheckTLS13, Severity: "high", Reason: "we require TLS 1.3"}

func TestJudgeAudit(t *testing.T) {
	abstain := auditPol{name: "abstainer"}
	unsupported := auditPol{name: "old-binary", err: fmt.Errorf("judge: %w", protocol.ErrUnsupported)}
	tests := []struct {
		name    string
		chain   []protocol.Policy
		verdict protocol.Verdict
		policy  string
		decided []string // policies whose changes apply, in order
		err     string
	}{
		{name: "empty chain", verdict: protocol.Abstain, policy: "none"},
		{name: "all abstain, old ones too",
			chain:   []protocol.Policy{oldPol{}, unsupported, abstain},
			verdict: protocol.Abstain, policy: "none"},
		{name: "every allow applies, in chain order; the last decides",
			chain:   []protocol.Policy{oldPol{}, unsupported, abstain, auditPol{name: "strict", d: allow(raise)}, auditPol{name: "later", d: allow()}},
			verdict: protocol.Allow, policy: "later", decided: []string{"strict", "later"}},
		{name: "the chain's name is recorded, not the plugin's claim",
			chain:   []protocol.Policy{auditPol{name: "strict", d: protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Allow, Policy: "default"}}}},
			verdict: protocol.Allow, policy: "strict", decided: []string{"strict"}},
		{name: "error names the policy",
			chain: []protocol.Policy{abstain, auditPol{name: "broken", err: errors.New("rules file missing")}, auditPol{name: "strict", d: allow(raise)}},
			err:   `policy "broken": JudgeAuditFindings: rules file missing`},
		{name: "an empty verdict is a protocol error",
			chain: []protocol.Policy{auditPol{name: "sloppy", empty: true}},
			err:   `policy "sloppy" answered JudgeAuditFindings with verdict "" (want abstain or allow)`},
		{name: "deny is not a verdict on findings",
			chain: []protocol.Policy{auditPol{name: "grumpy", d: protocol.AuditFindingsDecision{Decision: protocol.Decision{Verdict: protocol.Deny}}}},
			err:   `policy "grumpy" answered JudgeAuditFindings with verdict "deny" (want abstain or allow)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decided, d, err := JudgeAudit(context.Background(), mkChain(tt.chain...), protocol.AuditFindingsRequest{Account: "work"})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range decided {
				names = append(names, d.Policy)
			}
			if d.Verdict != tt.verdict || d.Policy != tt.policy || strings.Join(names, ",") != strings.Join(tt.decided, ",") || len(d.Chain) != len(tt.chain) {
				t.Errorf("decision %+v by %v, want %s by %s, changes from %v", d, names, tt.verdict, tt.policy, tt.decided)
			}
		})
	}
}

func auditReport() audit.Report {
	fs := []audit.Finding{
		{ID: audit.CheckTLS13, Account: "work", Aspect: audit.Chat, Endpoint: "xmpp:a:5222", Severity: audit.Medium, Status: audit.Fail, Evidence: "no TLS 1.3", Ref: "RFC 9325 §3.1.1"},
		{ID: audit.CheckTLS10, Account: "work", Aspect: audit.Chat, Endpoint: "xmpp:a:5222", Severity: audit.High, Status: audit.Pass},
		{ID: audit.CheckTLS13, Account: "home", Aspect: audit.Telephony, Endpoint: "sip:b:5061", Severity: audit.Medium, Status: audit.Fail},
	}
	p, _ := audit.BuiltinProfile(audit.DefaultProfile)
	return audit.NewReport(audit.Tool{Name: "cusax"}, time.Unix(0, 0), time.Unix(1, 0), p, audit.Medium, audit.High, fs)
}

func TestReweighAudit(t *testing.T) {
	var got []protocol.AuditFindingsRequest
	lower := protocol.AuditSeverityChange{ID: audit.CheckTLS13, Severity: "low", Reason: "lab: TLS 1.3 optional"}
	chains := map[string]policychain.Chain{
		// default first; strict raises, then lab lowers: the later wins.
		"work": mkChain(auditPol{name: "default", got: &got}, auditPol{name: "strict", d: allow(raise), got: &got}, auditPol{name: "lab", d: allow(lower), got: &got}),
		"home": mkChain(auditPol{name: "default", got: &got}, auditPol{name: "strict", d: allow(raise), got: &got}),
	}
	var started, stopped []string
	start := func(a config.Account) (policychain.Chain, func(), error) {
		started = append(started, a.Name)
		return chains[a.Name], func() { stopped = append(stopped, a.Name) }, nil
	}
	accounts := []config.Account{{Name: "work"}, {Name: "home"}, {Name: "work"}, {Name: "idle"}}
	in := auditReport()
	r, err := reweighAudit(context.Background(), start, accounts, in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(started, ",") != "work,home" || strings.Join(stopped, ",") != "work,home" {
		t.Errorf("started %v, stopped %v; want work and home once each, not idle", started, stopped)
	}
	// Every policy of each chain was asked, each with the decision so far.
	if len(got) != 5 || got[0].Account != "work" || got[0].Profile != "bcp195" || len(got[0].Findings) != 2 ||
		got[3].Account != "home" || len(got[3].Findings) != 1 {
		t.Fatalf("requests %+v", got)
	}
	if got[0].Prior != (protocol.Prior{}) || got[2].Prior.Policy != "strict" || got[2].Prior.Verdict != protocol.Allow {
		t.Errorf("priors %+v, %+v", got[0].Prior, got[2].Prior)
	}
	if want := (protocol.AuditFinding{ID: "tls.tls13", Aspect: "chat", Endpoint: "xmpp:a:5222", Severity: "medium", Status: "fail",
		Evidence: "no TLS 1.3", Ref: "RFC 9325 §3.1.1"}); got[0].Findings[0] != want {
		t.Errorf("finding on the request %+v, want %+v", got[0].Findings[0], want)
	}
	f := r.Findings[0]
	if f.Severity != audit.Low || f.Override == nil || f.Override.Policy != "lab" || f.Override.Reason != "lab: TLS 1.3 optional" {
		t.Errorf("work's tls.tls13 = %+v (override %+v), want lab's change applied after strict's", f, f.Override)
	}
	if h := r.Findings[2]; h.Severity != audit.High || h.Override == nil || h.Override.Policy != "strict" {
		t.Errorf("home's finding = %+v, want strict's change", h)
	}
	if in.Summary.ExitCode != audit.ExitWarning || r.Summary.ExitCode != audit.ExitCritical {
		t.Errorf("exit code %d → %d, want WARNING → CRITICAL", in.Summary.ExitCode, r.Summary.ExitCode)
	}
}

func TestReweighAuditErrors(t *testing.T) {
	tests := []struct {
		name  string
		start func(config.Account) (policychain.Chain, func(), error)
		want  string
	}{
		{name: "plugin does not start",
			start: func(config.Account) (policychain.Chain, func(), error) {
				return policychain.Chain{}, nil, errors.New("plugin policy/strict not found")
			},
			want: "account work: policies: plugin policy/strict not found"},
		{name: "unknown check",
			start: func(config.Account) (policychain.Chain, func(), error) {
				return mkChain(auditPol{name: "strict", d: allow(protocol.AuditSeverityChange{ID: "tls.tls09", Severity: "high"})}), func() {}, nil
			},
			want: `policy "strict" re-weighing the audit of account work: unknown check IDs: "tls.tls09"`},
		{name: "status for a severity",
			start: func(config.Account) (policychain.Chain, func(), error) {
				return mkChain(auditPol{name: "strict", d: allow(protocol.AuditSeverityChange{ID: "tls.tls13", Severity: "pass"})}), func() {}, nil
			},
			want: `policy "strict" re-weighing the audit of account work: bad severities`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reweighAudit(context.Background(), tt.start, []config.Account{{Name: "work"}}, auditReport())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// parityPol lowers every finding to info, or abstains; it records the
// findings and prior it was given.
type parityPol struct {
	protocol.AbstainingPolicy
	name    string
	lower   bool
	gotSev  *[]string
	gotPrio *[]string
}

func (p parityPol) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: p.name}, nil
}

func (p parityPol) JudgeSecurityParity(_ context.Context, req protocol.ParityRequest) (protocol.ParityDecision, error) {
	*p.gotSev = append(*p.gotSev, p.name+":"+req.Findings[0].Severity)
	*p.gotPrio = append(*p.gotPrio, p.name+":"+req.Prior.Policy)
	if !p.lower {
		return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Abstain}, Findings: req.Findings}, nil
	}
	fs := append([]protocol.ParityFinding(nil), req.Findings...)
	for i := range fs {
		fs[i].Severity = "info"
	}
	return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Allow, Reason: "lab"}, Findings: fs}, nil
}

// Parity runs in chain order: each policy sees the findings as the ones
// before it left them, and the last that did not abstain decides.
func TestJudgeParityChain(t *testing.T) {
	var sev, prio []string
	chain := mkChain(
		parityPol{name: "default", lower: false, gotSev: &sev, gotPrio: &prio},
		parityPol{name: "lab", lower: true, gotSev: &sev, gotPrio: &prio},
		parityPol{name: "quiet", gotSev: &sev, gotPrio: &prio},
	)
	req := protocol.ParityRequest{Account: "work", Findings: []protocol.ParityFinding{{ID: "parity.encryption", Severity: "warning"}}}
	d, err := JudgeParity(context.Background(), chain, req)
	if err != nil {
		t.Fatal(err)
	}
	if d.Policy != "lab" || d.Verdict != protocol.Allow || d.Findings[0].Severity != "info" || len(d.Chain) != 3 {
		t.Errorf("decision %+v", d)
	}
	if got := strings.Join(sev, " "); got != "default:warning lab:warning quiet:info" {
		t.Errorf("findings seen %s", got)
	}
	if got := strings.Join(prio, " "); got != "default: lab: quiet:lab" {
		t.Errorf("priors seen %s", got)
	}
	// Nobody decides: the core's findings stand.
	d, err = JudgeParity(context.Background(), mkChain(parityPol{name: "quiet", gotSev: &sev, gotPrio: &prio}), req)
	if err != nil || d.Verdict != protocol.Allow || d.Policy != "none" || d.Findings[0].Severity != "warning" {
		t.Errorf("all abstain: %+v %v", d, err)
	}
}
