package testbed

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestRestart: after RestartProsody and RestartKamailio the servers answer
// on the same addresses, a user added at run time can still log in to
// Prosody (its account is a file) and is back in Kamailio's user table.
func TestRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers")
	}
	b := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	users, err := b.AddUsers(ctx, b.Domain, "restarted")
	if err != nil {
		t.Fatal(err)
	}
	xmpp, sipUDP := b.XMPPAddr, b.SIPUDPAddr
	pids := [2]int{b.prosody.proc.cmd.Process.Pid, b.kamailio.proc.cmd.Process.Pid}
	if err := b.RestartProsody(); err != nil {
		t.Fatal(err)
	}
	if err := b.RestartKamailio(ctx); err != nil {
		t.Fatal(err)
	}
	if now := [2]int{b.prosody.proc.cmd.Process.Pid, b.kamailio.proc.cmd.Process.Pid}; now[0] == pids[0] || now[1] == pids[1] {
		t.Errorf("not restarted: pids %v, before %v", now, pids)
	}
	if b.XMPPAddr != xmpp || b.SIPUDPAddr != sipUDP {
		t.Errorf("addresses changed: %s %s", b.XMPPAddr, b.SIPUDPAddr)
	}
	c, err := loginXMPP(ctx, b.XMPPAddr, b.CAPool, "restarted", b.Domain, users["restarted"].Password)
	if err != nil {
		t.Fatalf("login after restart: %v", err)
	}
	_ = c.close()
	res, err := b.kamailioRPC(ctx, "htable.get", "users", "restarted")
	if err != nil || !strings.Contains(string(res), users["restarted"].Password) {
		t.Errorf("kamailio user table after restart: %s %v", res, err)
	}
	if err := sipOptionsUDP(ctx, b.SIPUDPAddr, b.Domain); err != nil {
		t.Errorf("kamailio after restart: %v", err)
	}
}
