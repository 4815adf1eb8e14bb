package auditrun

import (
	"context"
	"sync"

	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// backendCaps is one telephony plugin's answer, asked once per run.
type backendCaps struct {
	done chan struct{}
	srtp audit.Tri
	err  string
}

// mediaFacts is how account a protects call media: its setting, the
// transport of its SIP flow as planned (a proxy with transport=udp/tcp, or
// TLS), and whether its telephony backend declares SRTP. The backend is
// asked only when the SIP flow is TLS (otherwise the check does not
// apply) and Backends is set; it is asked on wg, while the endpoints are
// probed, and the answer is in the facts once wg is done.
func (r *Runner) mediaFacts(ctx context.Context, a config.Account, pl plan, wg *sync.WaitGroup) *audit.MediaFacts {
	_, backend := session.BackendNames(a)
	m := &audit.MediaFacts{Setting: a.SIP.MediaEncryption, SIPTransport: "tls", Backend: backend}
	if pl.plaintext != "" {
		m.SIPTransport = pl.plaintext
		return m
	}
	if r.Backends == nil {
		return m
	}
	wg.Go(func() {
		c := r.backendCaps(ctx, backend)
		m.BackendSRTP, m.BackendError = c.srtp, c.err
	})
	return m
}

// backendCaps starts the telephony plugin name once per run (accounts
// sharing a backend share the answer) and reads its Info: the plugin
// declares its capabilities as data (protocol.Describer), no network IO.
func (r *Runner) backendCaps(ctx context.Context, name string) *backendCaps {
	r.capsMu.Lock()
	if r.caps == nil {
		r.caps = map[string]*backendCaps{}
	}
	c, ok := r.caps[name]
	if !ok {
		c = &backendCaps{done: make(chan struct{})}
		r.caps[name] = c
	}
	r.capsMu.Unlock()
	if ok {
		select {
		case <-c.done:
		case <-ctx.Done():
			return &backendCaps{err: ctx.Err().Error()}
		}
		return c
	}
	defer close(c.done)
	st, err := r.Backends.Start(ctx, protocol.KindTelephony, name)
	if err != nil {
		c.err = err.Error()
		return c
	}
	if st.Stop != nil {
		defer st.Stop()
	}
	c.srtp = audit.TriOf(st.Info.Has(protocol.CapSRTP))
	return c
}
