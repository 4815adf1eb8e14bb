package session

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/policychain"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/protocol"
)

// Plugins are the running plugin processes an account needs.
type Plugins struct {
	Backends
	instances []*pluginhost.Instance

	host        *pluginhost.Host
	policyNames []string
	policies    policychain.Chain
	policyErr   error
	policyOnce  sync.Once
	mu          sync.Mutex
}

// Policies starts the account's policy chain on first use (most commands
// never need a decision, and each plugin costs a process start) and returns
// it in chain order (policychain.Order: the default policy first, then the
// account's policy list), bounded by the host's DecisionTimeout.
func (p *Plugins) Policies(ctx context.Context) (policychain.Chain, error) {
	p.policyOnce.Do(func() {
		p.policies.Timeout = p.host.DecisionTimeout
		for _, name := range p.policyNames {
			inst, err := p.host.Start(ctx, protocol.KindPolicy, name)
			if err != nil {
				p.policyErr = err
				return
			}
			p.mu.Lock()
			p.instances = append(p.instances, inst)
			p.mu.Unlock()
			pol, err := inst.Policy()
			if err != nil {
				p.policyErr = err
				return
			}
			p.policies.Members = append(p.policies.Members, policychain.Member{Name: name, Policy: pol, Exited: inst.Exited})
		}
	})
	return p.policies, p.policyErr
}

// Instances lists the running plugins (for --debug timing output).
func (p *Plugins) Instances() []*pluginhost.Instance { return p.instances }

// Close stops every plugin process.
func (p *Plugins) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range p.instances {
		i.Close()
	}
}

// BackendNames returns the plugin names the account's aspects use.
func BackendNames(a config.Account) (impp, telephony string) {
	if a.XMPP != nil {
		impp = a.XMPP.Backend
		if impp == "" {
			impp = "xmpp"
		}
	}
	if a.SIP != nil {
		telephony = a.SIP.Backend
		if telephony == "" {
			telephony = "sip"
		}
	}
	return impp, telephony
}

// Open starts the account's backends concurrently (each launch costs tens
// of milliseconds; see BenchmarkPluginLaunch). Policies start on first use.
func Open(ctx context.Context, host *pluginhost.Host, a config.Account) (*Plugins, error) {
	return OpenAspects(ctx, host, a, true, true)
}

// OpenAspects is Open for a command that needs only some aspects (chat,
// roster: only the IMPP backend), so no process is started for nothing.
func OpenAspects(ctx context.Context, host *pluginhost.Host, a config.Account, chat, telephony bool) (*Plugins, error) {
	type job struct {
		kind protocol.Kind
		name string
	}
	impp, tel := BackendNames(a)
	if !chat {
		impp = ""
	}
	if !telephony {
		tel = ""
	}
	var jobs []job
	if impp != "" {
		jobs = append(jobs, job{protocol.KindIMPP, impp})
	}
	if tel != "" {
		jobs = append(jobs, job{protocol.KindTelephony, tel})
	}
	policyNames := policychain.Order(a.Policy)
	insts := make([]*pluginhost.Instance, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			insts[i], errs[i] = host.Start(ctx, j.kind, j.name)
		}()
	}
	wg.Wait()
	p := &Plugins{host: host, policyNames: policyNames}
	for i, inst := range insts {
		if inst != nil {
			p.instances = append(p.instances, inst)
		}
		if errs[i] != nil {
			p.Close()
			return nil, errs[i]
		}
	}
	for _, inst := range p.instances {
		var err error
		switch inst.Candidate.Kind {
		case protocol.KindIMPP:
			p.IMPP, err = inst.IMPP()
		case protocol.KindTelephony:
			p.Telephony, err = inst.Telephony()
		}
		if err != nil {
			p.Close()
			return nil, err
		}
	}
	return p, nil
}

// Passwords resolves the account's passwords from its password commands or
// the secret store.
func Passwords(ctx context.Context, store secrets.Store, a config.Account) (xmpp, sip string, err error) {
	if a.XMPP != nil {
		xmpp, err = secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectXMPP}, a.XMPP.PasswordCommand)
		if err != nil {
			return "", "", fmt.Errorf("chat password: %w", err)
		}
	}
	if a.SIP != nil {
		sip, err = secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectSIP}, a.SIP.PasswordCommand)
		if err != nil {
			return "", "", fmt.Errorf("telephony password: %w", err)
		}
	}
	return xmpp, sip, nil
}

// ReadCA reads the account's CA file, if any.
func ReadCA(a config.Account) ([]byte, error) {
	if a.CAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(a.CAFile)
	if err != nil {
		return nil, fmt.Errorf("ca file: %w", err)
	}
	return b, nil
}

// JudgeParity runs the findings through the policy chain (RFC 7081 §7):
// each policy sees the findings as the policies before it adjusted them,
// and the last that does not abstain decides. When every policy abstains
// the core's findings stand, with Policy "none".
func JudgeParity(ctx context.Context, chain policychain.Chain, req protocol.ParityRequest) (protocol.ParityDecision, error) {
	findings := req.Findings
	res, err := policychain.Run(ctx, chain, policychain.Op[protocol.ParityDecision]{
		Name: "JudgeSecurityParity",
		Ask: func(ctx context.Context, p protocol.Policy, prior protocol.Prior) (protocol.ParityDecision, error) {
			r := req
			r.Findings, r.Prior = findings, prior
			d, err := p.JudgeSecurityParity(ctx, r)
			if err == nil && d.Verdict != protocol.Abstain && d.Verdict != "" {
				findings = d.Findings
			}
			return d, err
		},
		Decision: func(d *protocol.ParityDecision) *protocol.Decision { return &d.Decision },
	})
	if err != nil {
		return protocol.ParityDecision{}, err
	}
	d := res.Final
	if d.Verdict == protocol.Abstain {
		d.Verdict, d.Findings = protocol.Allow, req.Findings
	}
	return d, nil
}
