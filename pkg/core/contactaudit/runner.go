package contactaudit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cusax/cusax/pkg/contacts"
	"github.com/cusax/cusax/pkg/core/addressbook"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/vcardxml"
)

// Chat is an open Chat aspect; Close logs out and stops its plugin.
type Chat struct {
	Session protocol.IMPPSession
	Info    protocol.Info
	Close   func()
}

// Telephony is a prepared Telephony aspect (Connect done, nothing
// registered); Close stops it.
type Telephony struct {
	Session protocol.TelephonySession
	Info    protocol.Info
	Close   func()
}

// Runner audits accounts: at most Parallel at a time, OPTIONS at most
// Rate per second over the whole run.
type Runner struct {
	// OpenChat and OpenTelephony open an account's aspects (the command
	// passes the Factory's; tests pass fakes).
	OpenChat      func(ctx context.Context, a config.Account) (Chat, error)
	OpenTelephony func(ctx context.Context, a config.Account) (Telephony, error)
	// Parallel bounds the accounts audited at once (default 4).
	Parallel int
	// Rate bounds OPTIONS requests per second over the run (<= 0: none).
	Rate float64
	// Progress, if set, is called after each account.
	Progress func(done, total int)

	lim    *limiter
	mu     sync.Mutex
	probes map[string]*sharedProbe
	sent   int
}

// sharedProbe is one OPTIONS asked once for all accounts behind the same
// proxy: many accounts of one service share contacts. An answer is kept;
// an error is not (the next account asks through its own aspect).
type sharedProbe struct {
	mu       sync.Mutex
	answered *Probe
}

// Sent returns how many OPTIONS requests Run asked the backends for.
func (r *Runner) Sent() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent
}

// Run audits the accounts and returns their facts in order. Failures of
// an account (login, roster, SIP aspect) are facts, not errors; Run's
// error is ctx's.
func (r *Runner) Run(ctx context.Context, accounts []config.Account) ([]Facts, error) {
	r.lim = newLimiter(r.Rate)
	r.probes = map[string]*sharedProbe{}
	n := r.Parallel
	if n <= 0 {
		n = 4
	}
	out := make([]Facts, len(accounts))
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	// Accounts start in order (the semaphore is taken before each
	// starts), so with Parallel 1 the run is sequential.
	for i := range accounts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = Facts{Account: accounts[i].Name, Contacts: []ContactFacts{}, ChatError: ctx.Err().Error()}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = r.account(ctx, accounts[i])
			if r.Progress != nil {
				mu.Lock()
				done++
				r.Progress(done, len(accounts))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, ctx.Err()
}

func (r *Runner) account(ctx context.Context, a config.Account) Facts {
	f := Facts{Account: a.Name, Contacts: []ContactFacts{}}
	if a.SIP != nil {
		f.AOR = a.SIP.AOR
	}
	if a.XMPP == nil {
		f.ChatError = "the account has no Chat (XMPP) aspect: no roster or vCards to audit"
		return f
	}
	f.JID = a.XMPP.JID
	chat, err := r.OpenChat(ctx, a)
	if err != nil {
		f.ChatError = err.Error()
		return f
	}
	defer chat.Close()
	if !chat.Info.Has(protocol.CapVCard) {
		f.ChatError = fmt.Sprintf("the Chat backend %s does not declare %q", chat.Info.Name, protocol.CapVCard)
		return f
	}
	f.Own = ownVCard(ctx, chat.Session)
	book, err := addressbook.Build(ctx, chat.Session, chat.Info, addressbook.Options{AccountDomain: domainOf(a.XMPP.JID)})
	if err != nil {
		f.ChatError = err.Error()
		return f
	}
	need := false
	for _, c := range book {
		cf := ContactFacts{JID: c.JID, Reach: c.Reach,
			VCard: VCardFacts{Present: c.VCard != nil, Error: c.VCardError, Source: c.VCardSource, Tels: c.Tels}}
		need = need || len(SIPTels(c.Tels)) > 0
		f.Contacts = append(f.Contacts, cf)
	}
	if need {
		r.probeAll(ctx, a, &f)
	}
	return f
}

// ownVCard fetches the account's own vCard (jid "").
func ownVCard(ctx context.Context, s protocol.IMPPSession) VCardFacts {
	v, err := s.VCard(ctx, "")
	switch {
	case errors.Is(err, protocol.ErrNotFound):
		return VCardFacts{}
	case err != nil:
		return VCardFacts{Error: err.Error()}
	}
	card, err := vcardxml.ParseText(v.Text)
	if err != nil {
		return VCardFacts{Error: "unreadable vCard: " + err.Error()}
	}
	return VCardFacts{Present: true, Source: v.Source, Tels: contacts.Tels(card)}
}

// probeAll sends OPTIONS for every contact's SIP URIs through the
// account's telephony backend.
func (r *Runner) probeAll(ctx context.Context, a config.Account, f *Facts) {
	if a.SIP == nil {
		f.TelephonyError = "the account has no SIP aspect to send OPTIONS through"
		return
	}
	var tel *Telephony
	var telErr error
	var openOnce sync.Once
	asker := func() (protocol.OptionsAsker, error) {
		openOnce.Do(func() {
			t, err := r.OpenTelephony(ctx, a)
			if err != nil {
				telErr = fmt.Errorf("SIP aspect: %w", err)
				return
			}
			tel = &t
			if _, ok := t.Session.(protocol.OptionsAsker); !ok || !t.Info.Has(protocol.CapOptions) {
				telErr = fmt.Errorf("the telephony backend %s does not declare %q (SIP OPTIONS)", t.Info.Name, protocol.CapOptions)
			}
		})
		if telErr != nil {
			return nil, telErr
		}
		return tel.Session.(protocol.OptionsAsker), nil
	}
	defer func() {
		if tel != nil {
			tel.Close()
		}
	}()
	scope := a.SIP.Proxy + "|" + domainOf(a.SIP.AOR)
	for i := range f.Contacts {
		c := &f.Contacts[i]
		for _, t := range SIPTels(c.VCard.Tels) {
			sp := r.shared(scope + "|" + t.URI)
			sp.mu.Lock()
			p := Probe{URI: t.URI}
			switch {
			case sp.answered != nil:
				p = *sp.answered
			default:
				p.Result, p.Error = r.ask(ctx, asker, t.URI)
				if p.Result != nil {
					sp.answered = &p
				}
			}
			sp.mu.Unlock()
			c.Probes = append(c.Probes, p)
		}
	}
	if telErr != nil {
		f.TelephonyError = telErr.Error()
	}
}

// ask sends one OPTIONS, rate-limited.
func (r *Runner) ask(ctx context.Context, asker func() (protocol.OptionsAsker, error), uri string) (*protocol.OptionsResult, string) {
	o, err := asker()
	if err != nil {
		return nil, err.Error()
	}
	if err := r.lim.wait(ctx); err != nil {
		return nil, err.Error()
	}
	r.mu.Lock()
	r.sent++
	r.mu.Unlock()
	res, err := o.Options(ctx, uri)
	if err != nil {
		return nil, err.Error()
	}
	return &res, ""
}

func (r *Runner) shared(key string) *sharedProbe {
	r.mu.Lock()
	defer r.mu.Unlock()
	sp := r.probes[key]
	if sp == nil {
		sp = &sharedProbe{}
		r.probes[key] = sp
	}
	return sp
}

// domainOf is the part after '@' (and before any parameter or port).
func domainOf(addr string) string {
	_, d, ok := strings.Cut(addr, "@")
	if !ok {
		d = strings.TrimPrefix(strings.TrimPrefix(addr, "sips:"), "sip:")
	}
	d, _, _ = strings.Cut(d, ";")
	d, _, _ = strings.Cut(d, "/")
	return strings.ToLower(d)
}
