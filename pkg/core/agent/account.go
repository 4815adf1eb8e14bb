package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// account keeps one configured account's aspects connected.
type account struct {
	a    *Agent
	conf config.Account
	chat *chatAspect // nil without an XMPP aspect
	tel  *telAspect  // nil without a SIP aspect
}

func newAccount(a *Agent, conf config.Account) *account {
	acc := &account{a: a, conf: conf}
	impp, tel := session.BackendNames(conf)
	if conf.SIP != nil {
		acc.tel = &telAspect{acc: acc, st: newAspectState(conf.SIP.AOR, tel),
			plugin: &aspectPlugin{acc: acc, kind: protocol.KindTelephony}}
	}
	if conf.XMPP != nil {
		acc.chat = &chatAspect{acc: acc, st: newAspectState(conf.XMPP.JID, impp), kick: make(chan struct{}, 1),
			plugin: &aspectPlugin{acc: acc, kind: protocol.KindIMPP}}
	}
	return acc
}

func (acc *account) logf(aspect protocol.Aspect, format string, args ...any) {
	acc.a.logf("%s: %s: %s", acc.conf.Name, aspect, fmt.Sprintf(format, args...))
}

func (acc *account) status() *agentapi.AccountStatus {
	s := &agentapi.AccountStatus{Name: acc.conf.Name}
	if acc.chat != nil {
		s.Chat = acc.chat.st.status()
	}
	if acc.tel != nil {
		s.Telephony = acc.tel.st.status()
	}
	return s
}

// run keeps SIP up first and XMPP after it (RFC 7081 §2); each aspect
// starts its backend plugin itself (and again if it exits).
func (acc *account) run(ctx context.Context) {
	xpw, spw, err := session.Passwords(ctx, acc.a.opts.Store, acc.conf)
	if err == nil {
		var ca []byte
		ca, err = session.ReadCA(acc.conf)
		if err == nil {
			acc.connectRequests(xpw, spw, ca)
		}
	}
	if err != nil {
		acc.a.logf("%s: %v; not connecting", acc.conf.Name, err)
		acc.each(func(st *aspectState) { st.set(StateDown, err.Error()) })
		return
	}
	var wg sync.WaitGroup
	first := make(chan struct{}) // closed after SIP's first attempt
	if acc.tel != nil {
		wg.Add(1)
		go func() { defer wg.Done(); acc.tel.run(ctx, first) }()
	} else {
		close(first)
	}
	if acc.chat != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// SIP registered first, XMPP after it (RFC 7081 §2, strategy
			// 11); a SIP side that is down does not keep chat down.
			select {
			case <-first:
			case <-ctx.Done():
				return
			}
			acc.chat.run(ctx)
		}()
	}
	wg.Wait()
}

func (acc *account) each(f func(*aspectState)) {
	if acc.tel != nil {
		f(acc.tel.st)
	}
	if acc.chat != nil {
		f(acc.chat.st)
	}
}

func (acc *account) connectRequests(xpw, spw string, ca []byte) {
	c := acc.conf
	t := acc.a.opts.Timeout
	if acc.chat != nil {
		acc.chat.req = protocol.ConnectRequest{
			Address: c.XMPP.JID, Password: xpw, Server: c.XMPP.Server, DirectTLS: c.XMPP.DirectTLS,
			CAPEM: ca, AllowPlaintext: c.XMPP.AllowPlaintext, Mechanisms: c.XMPP.Mechanisms, MinTLS: c.MinTLS(),
			Timeout: t, Resource: agentResource(),
		}
	}
	if acc.tel != nil {
		acc.tel.req = protocol.ConnectRequest{
			Address: c.SIP.AOR, Username: c.SIP.Username, Password: spw, Server: c.SIP.Proxy,
			CAPEM: ca, AllowPlaintext: c.SIP.AllowPlaintext, MinTLS: c.MinTLS(), Timeout: t,
		}
	}
}

// shutdown logs both aspects out (SIP unregistered by Close, XMPP
// presence unavailable first) and stops the plugins.
func (acc *account) shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	if acc.tel != nil {
		wg.Add(1)
		go func() { defer wg.Done(); acc.tel.shutdown(ctx) }()
	}
	if acc.chat != nil {
		wg.Add(1)
		go func() { defer wg.Done(); acc.chat.shutdown(ctx) }()
	}
	wg.Wait()
	if acc.tel != nil {
		acc.tel.plugin.close()
	}
	if acc.chat != nil {
		acc.chat.plugin.close()
	}
}

// sameAddress compares addresses as the user wrote them: case-insensitive
// (JID domains and SIP hosts are; local parts rarely differ by case only).
func sameAddress(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

func since(t time.Time) string { return fmt.Sprintf("%.1fs", time.Since(t).Seconds()) }

// agentResource is the agent's XMPP resource: "cusax-agent-HOST", so that
// a new agent on this machine replaces the session a killed one left
// (RFC 6120 §7.7.2.2: the server ends the old one), while agents on two
// machines do not throw each other out in turn.
func agentResource() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "cusax-agent"
	}
	h = strings.Map(func(r rune) rune {
		if r <= ' ' || r == '/' || r == '@' || r > 0x7e {
			return -1
		}
		return r
	}, h)
	if len(h) > 64 {
		h = h[:64]
	}
	return "cusax-agent-" + h
}
