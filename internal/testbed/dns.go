package testbed

// A real DNS server for discovery tests (issue 6, `cusax audit-tls
// --domain`): dnsmasq (Debian package dnsmasq-base) on a free loopback
// port, answering SRV, NAPTR, A and AAAA records given by the test and
// nothing else: no upstream, no /etc/hosts, no /etc/resolv.conf.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNSZone is what a test DNS server answers.
type DNSZone struct {
	SRV   []SRVRecord
	NAPTR []NAPTRRecord
	Hosts []HostRecord
	// Local are the domains answered from this zone only: a name under
	// one of them that has no record gets NXDOMAIN (a name with records
	// of other types gets an empty answer). A name under no Local domain
	// gets REFUSED. nil means []string{"test"}.
	Local []string
	// Extra are further dnsmasq options, e.g.
	// "--server=/slow.test/127.0.0.1#9" to forward a domain to a server
	// that never answers (queries there time out).
	Extra []string
}

// SRVRecord is one SRV record (RFC 2782). An empty Target or "." is the
// "service decidedly not available" record (target ".").
type SRVRecord struct {
	Name                   string // "_xmpp-client._tcp.example.test"
	Target                 string
	Port, Priority, Weight int
}

// NAPTRRecord is one NAPTR record (RFC 3403).
type NAPTRRecord struct {
	Name                         string
	Order, Preference            int
	Flags, Service, Regexp, Repl string
}

// HostRecord gives a name A and/or AAAA records.
type HostRecord struct {
	Name  string
	Addrs []string // at most one IPv4 and one IPv6 address (dnsmasq's --host-record)
}

// DNS is a running dnsmasq.
type DNS struct {
	// Addr is "127.0.0.1:port", UDP and TCP.
	Addr string
	// Dir holds the log (every query is logged) and the pid file.
	Dir     string
	LogFile string
	p       *process
	started time.Time
}

// dnsmasqPath finds dnsmasq; it lives in /usr/sbin, often not on a
// non-root PATH.
func dnsmasqPath() (string, error) {
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/dnsmasq"); err == nil {
		return "/usr/sbin/dnsmasq", nil
	}
	return "", fmt.Errorf("%w: missing dnsmasq (package dnsmasq-base)", ErrNotInstalled)
}

// StartDNS starts dnsmasq for one test and stops it when the test ends
// (keeping its log, printed, if the test failed). A missing dnsmasq skips
// the test, or fails it when CI=true; -short skips it.
func StartDNS(tb testing.TB, zone DNSZone) *DNS {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("testbed: real servers are not started in -short mode")
	}
	if _, err := dnsmasqPath(); err != nil {
		if inCI() {
			tb.Fatalf("testbed: %v; CI=true, so this is a failure, not a skip (%s)", err, InstallHint)
		}
		tb.Skipf("testbed: %v (%s)", err, InstallHint)
	}
	d, err := StartDNSWithDir(tb.TempDir(), zone)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Stop(); err != nil {
			tb.Errorf("testbed: stop dnsmasq: %v", err)
		}
		if tb.Failed() {
			tb.Logf("testbed: dnsmasq log %s:\n%s", d.LogFile, tailFile(d.LogFile, 40))
		}
	})
	return d
}

// StartDNSWithDir starts dnsmasq with its log and pid file in dir and
// returns once it answers queries. The error wraps ErrNotInstalled when
// dnsmasq is missing, and carries the log tail when it would not start;
// nothing is left running then. A port taken between picking and binding
// is retried.
func StartDNSWithDir(dir string, zone DNSZone) (*DNS, error) {
	bin, err := dnsmasqPath()
	if err != nil {
		return nil, err
	}
	args, err := zone.args()
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		d, err := startDNSOnce(bin, dir, args)
		if errors.Is(err, errBind) && attempt < 3 {
			continue
		}
		return d, err
	}
}

func startDNSOnce(bin, dir string, zoneArgs []string) (*DNS, error) {
	port, err := freeDNSPort()
	if err != nil {
		return nil, err
	}
	d := &DNS{Addr: loopback(port), Dir: dir, LogFile: filepath.Join(dir, "dnsmasq.log"), started: time.Now()}
	_ = os.Remove(d.LogFile)
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
		"--listen-address=127.0.0.1", "--bind-interfaces", "--port=" + strconv.Itoa(port),
		"--pid-file=" + filepath.Join(dir, "dnsmasq.pid"),
		"--log-queries", "--log-facility=-",
	}
	if os.Geteuid() == 0 {
		// As root dnsmasq drops to a user after binding; the default
		// ("nobody") is also what we want, but say so.
		args = append(args, "--user=nobody")
	}
	cmd := exec.Command(bin, append(args, zoneArgs...)...)
	p, err := startProcess("dnsmasq", cmd, d.LogFile)
	if err != nil {
		return nil, err
	}
	d.p = p
	deadline := time.Now().Add(5 * time.Second)
	for {
		if done, werr := p.exited(); done {
			log := tailFile(d.LogFile, 20)
			if isBindError(log) {
				return nil, fmt.Errorf("dnsmasq on %s: %w", d.Addr, errBind)
			}
			return nil, fmt.Errorf("dnsmasq exited at start (%v); log %s:\n%s", werr, d.LogFile, log)
		}
		if d.answers() {
			return d, nil
		}
		if time.Now().After(deadline) {
			err := d.p.stop()
			return nil, errors.Join(fmt.Errorf("dnsmasq did not answer on %s within 5s; log %s:\n%s", d.Addr, d.LogFile, tailFile(d.LogFile, 20)), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answers reports whether the server answers a query at all.
func (d *DNS) answers() bool {
	m := new(dns.Msg)
	m.SetQuestion("ready.testbed.invalid.", dns.TypeA)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	_, _, err := c.Exchange(m, d.Addr)
	return err == nil
}

// freeDNSPort returns a loopback port free for both UDP and TCP.
func freeDNSPort() (int, error) {
	for range 10 {
		port, err := freeUDPPort()
		if err != nil {
			return 0, err
		}
		if ok, err := tcpPortFree(port); err == nil && ok {
			return port, nil
		}
	}
	return 0, errors.New("no loopback port free for both UDP and TCP")
}

// Stop stops dnsmasq and, when EnvRunLog is set, appends a line to the run
// log. A second call is harmless.
func (d *DNS) Stop() error {
	if d == nil || d.p == nil {
		return nil
	}
	err := d.p.stop()
	d.p = nil
	if path := os.Getenv(EnvRunLog); path != "" {
		line := fmt.Sprintf("testbed: %s: %s on %s: %d queries answered, up %s\n", filepath.Base(os.Args[0]),
			serverVersion("dnsmasq-base"), d.Addr, countIn(d.LogFile, "]: query["), time.Since(d.started).Round(100*time.Millisecond))
		if f, ferr := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); ferr == nil {
			_, _ = f.WriteString(line)
			f.Close()
		}
	}
	return err
}

var queryLine = regexp.MustCompile(`\]: query\[([A-Z0-9]+)\] (\S+) from `)

// Queries returns the questions dnsmasq received so far, in order, as
// "TYPE name" ("SRV _sips._tcp.example.test").
func (d *DNS) Queries() []string {
	data, err := os.ReadFile(d.LogFile)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range queryLine.FindAllSubmatch(data, -1) {
		out = append(out, string(m[1])+" "+string(m[2]))
	}
	return out
}

// args turns the zone into dnsmasq options. A value with a comma (the
// option separator) is refused, since dnsmasq would read it differently.
func (z DNSZone) args() ([]string, error) {
	var out []string
	local := z.Local
	if local == nil {
		local = []string{"test"}
	}
	for _, l := range local {
		out = append(out, "--local=/"+l+"/")
	}
	check := func(vals ...string) error {
		for _, v := range vals {
			if strings.ContainsAny(v, ",\n") {
				return fmt.Errorf("testbed: dns zone value %q contains a comma or newline", v)
			}
		}
		return nil
	}
	for _, s := range z.SRV {
		if err := check(s.Name, s.Target); err != nil {
			return nil, err
		}
		if s.Target == "" || s.Target == "." {
			// dnsmasq's SRV without target is "0 0 1 ." ("not available").
			out = append(out, "--srv-host="+s.Name)
			continue
		}
		out = append(out, fmt.Sprintf("--srv-host=%s,%s,%d,%d,%d", s.Name, strings.TrimSuffix(s.Target, "."), s.Port, s.Priority, s.Weight))
	}
	for _, n := range z.NAPTR {
		if err := check(n.Name, n.Flags, n.Service, n.Regexp, n.Repl); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("--naptr-record=%s,%d,%d,%s,%s,%s,%s", n.Name, n.Order, n.Preference, n.Flags, n.Service, n.Regexp, strings.TrimSuffix(n.Repl, ".")))
	}
	for _, h := range z.Hosts {
		if err := check(append([]string{h.Name}, h.Addrs...)...); err != nil {
			return nil, err
		}
		out = append(out, "--host-record="+strings.Join(append([]string{h.Name}, h.Addrs...), ","))
	}
	return append(out, z.Extra...), nil
}

// tcpPortFree reports whether port can be bound on loopback TCP.
func tcpPortFree(port int) (bool, error) {
	l, err := net.Listen("tcp", loopback(port))
	if err != nil {
		return false, nil
	}
	return true, l.Close()
}
