package testbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EnvRunLog names a file to which every bed appends one line when it stops:
// which real servers ran, for how long, and how much they were used. `make
// test` prints it, so a green run shows that real Prosody and Kamailio were
// started and used, not skipped.
const EnvRunLog = "CUSAX_TESTBED_RUNLOG"

func (b *Bed) appendRunLog(started time.Time) {
	path := os.Getenv(EnvRunLog)
	if path == "" {
		return
	}
	auths := countIn(filepath.Join(b.Dir, "prosody", "prosody.log"), "Authenticated as ")
	regs := countIn(filepath.Join(b.Dir, "kamailio", "kamailio.log"), "cusax-testbed: REGISTER ")
	calls := countIn(filepath.Join(b.Dir, "kamailio", "kamailio.log"), "cusax-testbed: INVITE ")
	line := fmt.Sprintf("testbed: %s: %s on %s (c2s) and %s (direct TLS), %s on udp %s, tcp %s, tls %s: %d XMPP logins, %d SIP REGISTERs accepted, %d INVITEs relayed to a callee, up %s\n",
		filepath.Base(os.Args[0]), serverVersion("prosody"), b.XMPPAddr, b.XMPPDirectTLSAddr, serverVersion("kamailio"),
		b.SIPUDPAddr, b.SIPTCPAddr, b.SIPTLSAddr, auths, regs, calls, time.Since(started).Round(100*time.Millisecond))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(line)
}

func countIn(path, needle string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte(needle))
}

var versions = map[string]string{}

// serverVersion asks the installed package for its version (dpkg is quick
// and does not start the server).
func serverVersion(pkg string) string {
	if v, ok := versions[pkg]; ok {
		return v
	}
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	v := pkg
	if err == nil && len(out) > 0 {
		v = pkg + " " + strings.TrimSpace(string(out))
	}
	versions[pkg] = v
	return v
}
