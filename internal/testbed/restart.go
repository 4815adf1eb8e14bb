package testbed

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// RestartProsody is for fault tests (make soak): Prosody is stopped (SIGTERM, SIGKILL after
// 5 s) and started again from the config files it ran with, on the same ports, so clients
// that reconnect find it where it was. Not safe to call concurrently with Stop. Kamailio's
// counterpart is RestartKamailio (kamailio.go).

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

func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}
