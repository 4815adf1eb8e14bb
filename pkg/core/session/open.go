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

// Plugins are the running plugins an account needs.
type Plugins struct {
	Backends
	started []*Started

	source      Source
	policyNames []string
	policies    policychain.Chain
	policyErr   error
	policyOnce  sync.Once
	mu          sync.Mutex
}

// Policies starts the account's policy chain on first use (most commands
// never need a decision, and each plugin costs a process start) and returns
// it in chain order (policychain.Order: the default policy first, then the
// account's policy list), bounded by the source's DecisionTimeout.
func (p *Plugins) Policies(ctx context.Context) (policychain.Chain, error) {
	p.policyOnce.Do(func() {
		p.policies.Timeout = p.source.DecisionTimeout()
		for _, name := range p.policyNames {
			st, err := p.source.Start(ctx, protocol.KindPolicy, name)
			if err != nil {
				p.policyErr = err
				return
			}
			p.mu.Lock()
			p.started = append(p.started, st)
			p.mu.Unlock()
			pol, ok := st.Plugin.(protocol.Policy)
			if !ok {
				p.policyErr = fmt.Errorf("plugin %s is not a policy: %w", name, pluginhost.ErrIncompatible)
				return
			}
			p.policies.Members = append(p.policies.Members, policychain.Member{Name: name, Policy: pol, Exited: st.exited})
		}
	})
	return p.policies, p.policyErr
}

// Started lists the running plugins (for --debug timing output).
func (p *Plugins) Started() []*Started {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Started(nil), p.started...)
}

// Info returns the self-description of the running backend of kind.
func (p *Plugins) Info(kind protocol.Kind) protocol.Info {
	for _, st := range p.Started() {
		if st.Kind == kind {
			return st.Info
		}
	}
	return protocol.Info{}
}

// Lent reports whether the backend of kind is a lease on a live session
// the agent keeps (Lender; Started.Lease), for --debug and for callers
// that skip what only a fresh login needs.
func (p *Plugins) Lent(kind protocol.Kind) bool {
	for _, st := range p.Started() {
		if st.Kind == kind {
			return st.Lease
		}
	}
	return false
}

// TelephonyInfo is the running telephony backend's self-description (for
// Request.TelephonyInfo), nil when none runs.
func (p *Plugins) TelephonyInfo() *protocol.Info {
	for _, st := range p.Started() {
		if st.Kind == protocol.KindTelephony {
			i := st.Info
			return &i
		}
	}
	return nil
}

// Close stops every plugin.
func (p *Plugins) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.started {
		st.close()
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

// An Option narrows what Open starts.
type Option func(*openOptions)

type openOptions struct {
	impp, telephony bool
	fresh           bool
	imppName        string // overrides BackendNames' IMPP plugin (IMPPNamed)
}

// IMPPNamed starts the IMPP plugin name instead of the XMPP aspect's (chat
// over SIP: Serve(a).Chat).
func IMPPNamed(name string) Option {
	return func(o *openOptions) { o.imppName = name }
}

// Fresh starts the backends even when the source lends live sessions
// (Lender): `cusax login` proves that the account's credentials work,
// which only a login of its own shows.
func Fresh() Option { return func(o *openOptions) { o.fresh = true } }

// Only starts just the backends of the kinds named (chat and roster need
// only the IMPP backend, a call only the telephony one), so no process is
// started for nothing. Only() with no kind starts no backend: the result
// serves the account's policies alone.
func Only(kinds ...protocol.Kind) Option {
	return func(o *openOptions) {
		o.impp, o.telephony = false, false
		for _, k := range kinds {
			switch k {
			case protocol.KindIMPP:
				o.impp = true
			case protocol.KindTelephony:
				o.telephony = true
			}
		}
	}
}

// PoliciesOnly starts no backend: the result serves the account's policies.
func PoliciesOnly() Option { return Only() }

// Open starts the backends of the account's aspects (all of them, unless an
// Option narrows it) concurrently: each launch costs tens of milliseconds
// (see BenchmarkPluginLaunch). Policies start on first use.
func Open(ctx context.Context, src Source, a config.Account, opts ...Option) (*Plugins, error) {
	o := openOptions{impp: true, telephony: true}
	for _, opt := range opts {
		opt(&o)
	}
	type job struct {
		kind protocol.Kind
		name string
	}
	impp, tel := BackendNames(a)
	if o.imppName != "" {
		impp = o.imppName
	}
	if !o.impp {
		impp = ""
	}
	if !o.telephony {
		tel = ""
	}
	var jobs []job
	if impp != "" {
		jobs = append(jobs, job{protocol.KindIMPP, impp})
	}
	if tel != "" {
		jobs = append(jobs, job{protocol.KindTelephony, tel})
	}
	started := make([]*Started, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	addrs := map[protocol.Kind]string{}
	if a.XMPP != nil && o.imppName == "" {
		// The agent keeps the XMPP aspect only: chat over SIP
		// (IMPPNamed) starts its own plugin.
		addrs[protocol.KindIMPP] = a.XMPP.JID
	}
	if a.SIP != nil {
		addrs[protocol.KindTelephony] = a.SIP.AOR
	}
	for i, j := range jobs {
		// An aspect the agent keeps connected is lent, not started.
		if !o.fresh {
			if st := lend(ctx, src, j.kind, addrs[j.kind]); st != nil {
				started[i] = st
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			started[i], errs[i] = src.Start(ctx, j.kind, j.name)
		}()
	}
	wg.Wait()
	p := &Plugins{source: src, policyNames: policychain.Order(a.Policy)}
	for i, st := range started {
		if st != nil {
			p.started = append(p.started, st)
		}
		if errs[i] != nil {
			p.Close()
			return nil, errs[i]
		}
	}
	for _, st := range p.started {
		var ok bool
		switch st.Kind {
		case protocol.KindIMPP:
			p.IMPP, ok = st.Plugin.(protocol.IMPP)
		case protocol.KindTelephony:
			p.Telephony, ok = st.Plugin.(protocol.Telephony)
		}
		if !ok {
			p.Close()
			return nil, fmt.Errorf("plugin %s is not a %s backend: %w", st.Name, st.Kind, pluginhost.ErrIncompatible)
		}
	}
	return p, nil
}

// Passwords resolves the account's passwords from its password commands or
// the secret store.
func Passwords(ctx context.Context, store secrets.Store, a config.Account) (xmpp, sip string, err error) {
	return passwords(ctx, nil, store, a)
}

// PasswordsFor is Passwords for the aspects src does not lend (Lender):
// a lent aspect logs nobody in, so its password is not looked up at all
// (no keyring round trip, no password command) and comes back "".
func PasswordsFor(ctx context.Context, src Source, store secrets.Store, a config.Account) (xmpp, sip string, err error) {
	return passwords(ctx, src, store, a)
}

func passwords(ctx context.Context, src Source, store secrets.Store, a config.Account) (xmpp, sip string, err error) {
	if a.XMPP != nil && !Lends(ctx, src, protocol.KindIMPP, a.XMPP.JID) {
		xmpp, err = secrets.Resolve(ctx, store, secrets.Ref{Account: a.Name, Aspect: config.AspectXMPP}, a.XMPP.PasswordCommand)
		if err != nil {
			return "", "", fmt.Errorf("chat password: %w", err)
		}
	}
	if a.SIP != nil && !Lends(ctx, src, protocol.KindTelephony, a.SIP.AOR) {
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
