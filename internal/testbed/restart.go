package testbed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Restarts for fault tests (make soak): the server is stopped (SIGTERM, SIGKILL after 5 s)
// and started again from the config files it ran with, on the same ports, so clients that
// reconnect find it where it was. Neither is safe to call concurrently with Stop or with
// the other.

// RestartProsody stops Prosody and starts it again. Accounts, rosters and vCards are files in
// its data directory and survive; sessions and unacknowledged stanzas in its memory do not.
func (b *Bed) RestartProsody() error {
	old := b.prosody
	if old == nil {
		return errors.New("prosody is not running")
	}
	_ = old.proc.stop()
	c2s, err := portOf(b.XMPPAddr)
	if err != nil {
		return err
	}
	dtls, err := portOf(b.XMPPDirectTLSAddr)
	if err != nil {
		return err
	}
	as, err := prosodyAccount()
	if err != nil {
		return err
	}
	cfg := prosodyConfig{F: old.files, C2SPort: c2s, DirectTLSPort: dtls, Domain: b.Domain, Domain2: b.Domain2,
		NoTLSDomain: b.NoTLSDomain, MUC: b.MUCDomain, MUC2: "conference." + b.Domain2}
	// The old process may hold the ports a moment after it exits (TIME_WAIT is not a bind
	// conflict for a listener with SO_REUSEADDR, which Prosody sets); retry a bind error once.
	for attempt := 0; ; attempt++ {
		inst, err := startProsody(cfg, as, b.CAPool, time.Now().Add(readyTimeout))
		if errors.Is(err, errBind) && attempt == 0 {
			time.Sleep(time.Second)
			continue
		}
		if err != nil {
			return fmt.Errorf("restart prosody: %w", err)
		}
		b.prosody = inst
		return nil
	}
}

// RestartKamailio stops Kamailio and starts it again. Registrations (usrloc, in memory) are
// lost, as on a real restart: clients must register again. Users added by AddUsers live in
// an in-memory table and are added again.
func (b *Bed) RestartKamailio() error {
	old := b.kamailio
	if old == nil {
		return errors.New("kamailio is not running")
	}
	_ = old.proc.stop()
	var ports [3]int
	for i, addr := range []string{b.SIPUDPAddr, b.SIPTCPAddr, b.SIPTLSAddr} {
		p, err := portOf(addr)
		if err != nil {
			return err
		}
		ports[i] = p
	}
	cfg := kamailioConfig{F: old.files, Domain: b.Domain, UDPPort: ports[0], TCPPort: ports[1], TLSPort: ports[2], RPC: old.rpc}
	for attempt := 0; ; attempt++ {
		inst, err := startKamailio(cfg, b.CAPool, time.Now().Add(readyTimeout))
		if errors.Is(err, errBind) && attempt == 0 {
			time.Sleep(time.Second)
			continue
		}
		if err != nil {
			return fmt.Errorf("restart kamailio: %w", err)
		}
		b.kamailio = inst
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b.extra.mu.Lock()
	var again []account
	for _, a := range b.extra.m {
		if a.Domain == b.Domain {
			again = append(again, a)
		}
	}
	b.extra.mu.Unlock()
	for _, a := range again {
		if _, err := b.kamailioRPC(ctx, "htable.sets", "users", a.Name, a.Password); err != nil {
			return fmt.Errorf("restart kamailio: user %s: %w", a.Name, err)
		}
	}
	return nil
}

func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}
