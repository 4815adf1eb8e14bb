package login

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/core/secrets"
	"github.com/cusax/cusax/pkg/protocol"
)

// Plugins are the running plugin processes an account needs.
type Plugins struct {
	Backends
	instances []*pluginhost.Instance

	host        *pluginhost.Host
	policyNames []string
	policies    []protocol.Policy
	policyErr   error
	policyOnce  sync.Once
	mu          sync.Mutex
}

// Policies starts the account's policy chain on first use (most commands
// never need a decision, and each plugin costs a process start) and returns
// it in chain order, the default policy last.
func (p *Plugins) Policies(ctx context.Context) ([]protocol.Policy, error) {
	p.policyOnce.Do(func() {
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
			p.policies = append(p.policies, pol)
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
	var policyNames []string
	seen := map[string]bool{}
	for _, name := range append(append([]string(nil), a.Policy...), "default") {
		if !seen[name] {
			seen[name] = true
			policyNames = append(policyNames, name)
		}
	}
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

// JudgeParity runs the findings through the policy chain: the first policy
// that does not abstain decides, and may adjust severities.
func JudgeParity(ctx context.Context, policies []protocol.Policy, req protocol.ParityRequest) (protocol.ParityDecision, error) {
	for _, p := range policies {
		d, err := p.JudgeSecurityParity(ctx, req)
		if err != nil {
			return protocol.ParityDecision{}, fmt.Errorf("parity policy: %w", err)
		}
		if d.Verdict != protocol.Abstain {
			if d.Policy == "" {
				if info, err := p.Info(ctx); err == nil {
					d.Policy = info.Name
				}
			}
			return d, nil
		}
	}
	return protocol.ParityDecision{Decision: protocol.Decision{Verdict: protocol.Allow, Policy: "none"}, Findings: req.Findings}, nil
}
