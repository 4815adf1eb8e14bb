package agent

import (
	"context"
	"errors"
	"sync"

	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// aspectPlugin is the backend plugin of one aspect, started on first use
// (session.Open with Only(kind)) and started again after it exited: a
// crashed plugin must not leave the aspect down until someone restarts
// the agent.
type aspectPlugin struct {
	acc  *account
	kind protocol.Kind

	mu sync.Mutex
	p  *session.Plugins
}

// get returns the running plugins; fresh is true when they were (re)started
// now, so sessions of the old process are gone.
func (ap *aspectPlugin) get(ctx context.Context) (p *session.Plugins, fresh bool, err error) {
	ap.mu.Lock()
	defer ap.mu.Unlock()
	if ap.p != nil {
		if why := exitedWhy(ap.p); why == "" {
			return ap.p, false, nil
		} else {
			ap.acc.logf(aspectOf(ap.kind), "backend plugin exited (%s); starting it again", why)
		}
		ap.p.Close()
		ap.p = nil
	}
	p, err = session.Open(ctx, ap.acc.a.opts.Source, ap.acc.conf, session.Only(ap.kind))
	if err != nil {
		return nil, false, err
	}
	ap.p = p
	return p, true, nil
}

// failed drops the plugins when err says their process went away, so the
// next get starts them again.
func (ap *aspectPlugin) failed(err error) {
	if !errors.Is(err, cusaxv1.ErrPluginGone) {
		return
	}
	ap.mu.Lock()
	p := ap.p
	ap.p = nil
	ap.mu.Unlock()
	if p != nil {
		ap.acc.logf(aspectOf(ap.kind), "backend plugin gone; starting it again")
		p.Close()
	}
}

func (ap *aspectPlugin) close() {
	ap.mu.Lock()
	p := ap.p
	ap.p = nil
	ap.mu.Unlock()
	if p != nil {
		p.Close()
	}
}

// exitedWhy says how a plugin process ended, "" while all run.
func exitedWhy(p *session.Plugins) string {
	for _, st := range p.Started() {
		if st.Exited != nil {
			if why := st.Exited(); why != "" {
				return why
			}
		}
	}
	return ""
}

func aspectOf(k protocol.Kind) protocol.Aspect {
	if k == protocol.KindTelephony {
		return protocol.AspectTelephony
	}
	return protocol.AspectChat
}
