package fake

import (
	"context"
	"slices"
	"sync"

	"github.com/cusax/cusax/pkg/protocol"
)

// Policy is a policy whose decisions the test sets; a nil func abstains.
// It records the decisions it was asked for (Asked).
type Policy struct {
	Name         string
	Capabilities []protocol.Capability // nil: every decision with a func set

	OnChooseAccount func(protocol.ChooseAccountRequest) protocol.Decision
	OnApproveCost   func(protocol.CostRequest) protocol.Decision
	OnCallerBinding func(protocol.BindingRequest) protocol.Decision
	OnParity        func(protocol.ParityRequest) protocol.ParityDecision
	OnAudit         func(protocol.AuditFindingsRequest) protocol.AuditFindingsDecision

	mu    sync.Mutex
	asked []string
}

// Asked lists the decisions asked for, in order (e.g. "ApproveCost").
func (p *Policy) Asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asked)
}

func (p *Policy) ask(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, op)
}

// Info implements protocol.Describer.
func (p *Policy) Info(context.Context) (protocol.Info, error) {
	caps := p.Capabilities
	if caps == nil {
		for c, set := range map[protocol.Capability]bool{
			protocol.CapChooseAccount: p.OnChooseAccount != nil, protocol.CapApproveCost: p.OnApproveCost != nil,
			protocol.CapCallerBinding: p.OnCallerBinding != nil, protocol.CapSecurityParity: p.OnParity != nil,
			protocol.CapAuditFindings: p.OnAudit != nil,
		} {
			if set {
				caps = append(caps, c)
			}
		}
		slices.Sort(caps)
	}
	name := p.Name
	if name == "" {
		name = "fake"
	}
	return protocol.Info{Kind: protocol.KindPolicy, Name: name, Version: "0.0.0-fake", APIVersion: protocol.APIVersion, Capabilities: caps}, nil
}

var abstain = protocol.Decision{Verdict: protocol.Abstain}

func (p *Policy) ChooseAccount(_ context.Context, req protocol.ChooseAccountRequest) (protocol.Decision, error) {
	p.ask("ChooseAccount")
	if p.OnChooseAccount == nil {
		return abstain, nil
	}
	return p.OnChooseAccount(req), nil
}

func (p *Policy) ApproveCost(_ context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	p.ask("ApproveCost")
	if p.OnApproveCost == nil {
		return abstain, nil
	}
	return p.OnApproveCost(req), nil
}

func (p *Policy) JudgeCallerBinding(_ context.Context, req protocol.BindingRequest) (protocol.Decision, error) {
	p.ask("JudgeCallerBinding")
	if p.OnCallerBinding == nil {
		return abstain, nil
	}
	return p.OnCallerBinding(req), nil
}

func (p *Policy) JudgeSecurityParity(_ context.Context, req protocol.ParityRequest) (protocol.ParityDecision, error) {
	p.ask("JudgeSecurityParity")
	if p.OnParity == nil {
		return protocol.ParityDecision{Decision: abstain, Findings: req.Findings}, nil
	}
	return p.OnParity(req), nil
}

func (p *Policy) JudgeAuditFindings(_ context.Context, req protocol.AuditFindingsRequest) (protocol.AuditFindingsDecision, error) {
	p.ask("JudgeAuditFindings")
	if p.OnAudit == nil {
		return protocol.AuditFindingsDecision{Decision: abstain}, nil
	}
	return p.OnAudit(req), nil
}

var (
	_ protocol.Policy     = (*Policy)(nil)
	_ protocol.AuditJudge = (*Policy)(nil)
)
