package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/config"
)

// BenchmarkAuditVsTestssl audits the same endpoints with `cusax audit-tls`
// and with testssl.sh (Debian package testssl.sh, installed here when
// missing), side by side (issue 6). Each account is one XMPP endpoint and
// one SIP TLS endpoint: the test bed's Prosody (STARTTLS) and Kamailio
// (TLS), and the weak Go endpoints of audittls_weak_test.go that testssl
// can judge. Per account it times one `cusax audit-tls --json --no-state`
// (the real binary, whole process, both aspects) and testssl on each of the
// two endpoints, one after the other (wall clock, the sum is the account's
// testssl time), and maps testssl's JSON findings onto cusax check IDs.
//
//	go test -run '^$' -bench AuditVsTestssl -benchtime 1x -v ./cmd/cusax/internal/cli
//
// Environment:
//
//	CUSAX_TESTSSL_TABLE=path    write the markdown agreement table there (else b.Log)
//	CUSAX_TESTSSL_ACCOUNTS=re   only the accounts whose name matches re
//	CUSAX_TESTSSL_KEEP=dir      keep testssl's JSON and logs and cusax's reports there
//	CUSAX_TESTSSL_TIMEOUT=dur   bound on each testssl run (default 10m)
//	CUSAX_TESTSSL_PARALLEL=n    testssl scans after the first account's, n at a time
//	                            (default 1; more shortens the run on a busy machine
//	                            but inflates those scans' wall times)
//
// The table lists, per endpoint, each mapped check where either tool saw a
// problem or the two disagree; checks both tools pass are counted, not
// listed. "cusax MISS" marks a problem testssl reports for a check cusax
// claims to cover while cusax passes it: a cusax bug.
func BenchmarkAuditVsTestssl(b *testing.B) {
	if dir := os.Getenv("CUSAX_TESTSSL_REPLAY"); dir != "" {
		replayTestssl(b, dir)
		return
	}
	ts := requireTestssl(b)
	bed := testbed.Start(b, testbed.Options{})
	bin := cusaxBinary(b)
	caPEM, err := os.ReadFile(bed.CAFile)
	if err != nil {
		b.Fatal(err)
	}
	// One CA file (the bed's CA and the weak endpoints' throwaway CA) given
	// to both tools: cusax as the account's ca_file, testssl as --add-ca.
	w := benchWeakFixture(b, caPEM)
	accounts := testsslAccounts(b, bed, w)
	if re := os.Getenv("CUSAX_TESTSSL_ACCOUNTS"); re != "" {
		m := regexp.MustCompile(re)
		accounts = slices.DeleteFunc(accounts, func(a *tsAccount) bool { return !m.MatchString(a.name) })
	}
	if len(accounts) == 0 {
		b.Fatal("no account selected")
	}
	keep := os.Getenv("CUSAX_TESTSSL_KEEP")
	limit := 10 * time.Minute
	if v := os.Getenv("CUSAX_TESTSSL_TIMEOUT"); v != "" {
		if limit, err = time.ParseDuration(v); err != nil {
			b.Fatalf("CUSAX_TESTSSL_TIMEOUT: %v", err)
		}
	}
	loadBefore := loadAvg()
	b.Logf("testssl %s; load before: %s", ts.version, loadBefore)

	parallel := 1
	if v := os.Getenv("CUSAX_TESTSSL_PARALLEL"); v != "" {
		if _, err := fmt.Sscan(v, &parallel); err != nil || parallel < 1 {
			b.Fatalf("CUSAX_TESTSSL_PARALLEL=%q: want a positive number", v)
		}
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// cusax: each account cusaxRuns times, one run at a time.
		for _, a := range accounts {
			for range cusaxRuns {
				a.cusax = runCusaxAudit(b, bin, a, keep)
				a.cusaxWall = append(a.cusaxWall, a.cusax.wall)
			}
		}
		// testssl scans each distinct endpoint once per iteration: the
		// first account's two (the bed's: the headline figure) alone and
		// one after the other, then the others, `parallel` at a time. An
		// account's testssl time is the sum of its two endpoints' scans.
		scanned := map[string]tsResult{}
		var mu sync.Mutex
		var errs []error
		scan := func(a *tsAccount, ep *tsEndpoint) {
			bound := limit
			if ep.limit > 0 && ep.limit < bound {
				bound = ep.limit
			}
			res, err := runTestssl(b, ts, a, ep, bound, keep)
			mu.Lock()
			defer mu.Unlock()
			scanned[ep.addr] = res
			if err != nil {
				errs = append(errs, err)
			}
		}
		type job struct {
			a  *tsAccount
			ep *tsEndpoint
		}
		var rest []job
		queued := map[string]bool{}
		for n, a := range accounts {
			for _, ep := range []*tsEndpoint{&a.chat, &a.sip} {
				if queued[ep.addr] {
					continue
				}
				queued[ep.addr] = true
				if n == 0 {
					scan(a, ep)
				} else {
					rest = append(rest, job{a, ep})
				}
			}
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, parallel)
		for _, j := range rest {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				scan(j.a, j.ep)
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			b.Fatal(errors.Join(errs...))
		}
		for _, a := range accounts {
			var sum time.Duration
			for _, ep := range []*tsEndpoint{&a.chat, &a.sip} {
				ep.res = scanned[ep.addr]
				sum += ep.res.wall
			}
			a.testsslWall = append(a.testsslWall, sum)
			b.Logf("%s: cusax %.0f ms (median of %d, exit %d); testssl %.1f s (chat %.1f s%s, telephony %.1f s%s)", a.name,
				median(a.cusaxWall), len(a.cusaxWall), a.cusax.code, sum.Seconds(),
				a.chat.res.wall.Seconds(), timedOutNote(a.chat.res), a.sip.res.wall.Seconds(), timedOutNote(a.sip.res))
		}
	}
	b.StopTimer()
	load := loadAvg()
	if keep != "" {
		writeManifest(b, keep, accounts, fmt.Sprintf("testssl %s, %s, GOMAXPROCS %d, b.N %d, testssl scans after the first account %d at a time, load before: %s, after: %s",
			ts.version, runtime.Version(), runtime.GOMAXPROCS(0), b.N, parallel, loadBefore, load))
	}

	for _, a := range accounts {
		b.ReportMetric(median(a.cusaxWall), a.name+"-cusax-ms")
		b.ReportMetric(median(a.testsslWall)/1000, a.name+"-testssl-s")
	}
	// The headline: the first account (the bed), whose scans ran alone.
	head := accounts[0]
	b.ReportMetric(median(head.cusaxWall), "cusax-ms/account")
	b.ReportMetric(median(head.testsslWall)/1000, "testssl-s/account")
	b.ReportMetric(median(head.testsslWall)/median(head.cusaxWall), "ratio")

	table, agree, differ, misses := agreementTable(accounts)
	b.ReportMetric(float64(agree), "agree")
	b.ReportMetric(float64(differ), "differ")
	b.ReportMetric(float64(misses), "cusax-misses")
	var md strings.Builder
	fmt.Fprintf(&md, "<!-- BenchmarkAuditVsTestssl, %s, testssl %s, %s, GOMAXPROCS %d, b.N %d, testssl scans after the first account %d at a time, load before: %s, after: %s -->\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), ts.version, runtime.Version(), runtime.GOMAXPROCS(0), b.N, parallel, loadBefore, load)
	md.WriteString(timesTable(accounts))
	md.WriteString("\n")
	md.WriteString(table)
	if path := os.Getenv("CUSAX_TESTSSL_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(md.String()), 0o644); err != nil {
			b.Fatal(err)
		}
		b.Logf("table written to %s", path)
	} else {
		b.Log("\n" + md.String())
	}
	if misses > 0 {
		b.Errorf("%d problems testssl reports and cusax passes (cusax MISS rows in the table)", misses)
	}
}

// testssl is the testssl.sh executable found (or installed) and its version.
type testssl struct{ path, version string }

// requireTestssl finds testssl.sh, installing the Debian package when it is
// missing; the test bed's install script does not (CI must not pay for it).
func requireTestssl(b *testing.B) testssl {
	b.Helper()
	find := func() string {
		for _, name := range []string{"testssl", "testssl.sh"} {
			if p, err := exec.LookPath(name); err == nil {
				return p
			}
		}
		return ""
	}
	p := find()
	if p == "" {
		b.Log("testssl.sh not found: apt-get install -y testssl.sh")
		cmd := exec.Command("apt-get", "install", "-y", "testssl.sh")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if p = find(); p == "" {
			b.Fatalf("testssl.sh is needed and could not be installed (apt-get install -y testssl.sh: %v); install it by hand\n%s", err, lastLines(string(out), 15))
		}
	}
	// The script's own declaration (`testssl --version` runs a slow
	// local OpenSSL survey first).
	script, _ := os.ReadFile(p)
	v := "unknown"
	if m := regexp.MustCompile(`(?m)^declare -r VERSION="([^"]+)"`).FindSubmatch(script); m != nil {
		v = string(m[1])
	}
	return testssl{path: p, version: v}
}

// benchWeakFixture is newWeakFixture for a benchmark: a throwaway CA and a
// file with it and extraCA.
func benchWeakFixture(tb testing.TB, extraCA ...[]byte) weakFixture {
	tb.Helper()
	ca, err := testbed.NewWeakCA()
	if err != nil {
		tb.Fatal(err)
	}
	file, err := testbed.WriteWeakCAFile(tb.TempDir(), append([][]byte{ca.PEM}, extraCA...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return weakFixture{ca: ca, caFile: file}
}

func issue(tb testing.TB, w weakFixture, spec testbed.WeakCertSpec) tls.Certificate {
	tb.Helper()
	c, err := w.ca.Issue(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// cusaxRuns is how many times each account is audited per iteration (the
// median is reported): one run takes about a second, a testssl scan minutes.
const cusaxRuns = 5

// tsEndpoint is one endpoint as both tools see it.
type tsEndpoint struct {
	aspect audit.Aspect // chat or telephony
	addr   string       // 127.0.0.1:port
	label  string       // names the endpoint in the table
	// limit bounds testssl on this endpoint when it is known to hang.
	limit time.Duration
	res   tsResult
}

// file is the base name of the endpoint's kept testssl output.
func (ep *tsEndpoint) file() string {
	_, port, _ := net.SplitHostPort(ep.addr)
	return string(ep.aspect) + "-" + port
}

// tsAccount is one account: its config, its two endpoints, and the results.
type tsAccount struct {
	name, what string
	config     string // config.toml for cusax
	caFile     string
	domain     string
	chat, sip  tsEndpoint

	cusax                  cusaxResult
	cusaxWall, testsslWall []time.Duration
}

// testsslAccounts starts the endpoints: the bed, and each weak case of
// TestAuditTLSWeakEndpoints / TestAuditTLSWeakBed that is a TLS property
// testssl can judge, against clean counterparts.
func testsslAccounts(b *testing.B, bed *testbed.Bed, w weakFixture) []*tsAccount {
	strong := func() *tls.Config {
		return testbed.StrongTLSConfig(issue(b, w, testbed.WeakCertSpec{DNSNames: []string{"example.test"}}))
	}
	// One clean XMPP and one clean SIP endpoint serve as the unchanged
	// aspect of every weak account, so testssl scans each only once.
	cleanXMPPAddr := testbed.WeakXMPP{TLS: strong(), AdvertiseStartTLS: true, RequireStartTLS: true,
		PostTLS: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}}.Serve(b)
	cleanSIPAddr := testbed.ServeWeakTLS(b, strong())
	cleanXMPP := func() string { return cleanXMPPAddr }
	cleanSIP := func() string { return cleanSIPAddr }
	sipWith := func(cert tls.Certificate) string { return testbed.ServeWeakTLS(b, testbed.StrongTLSConfig(cert)) }

	labels := map[string]string{
		bed.XMPPAddr: "bed Prosody (STARTTLS)", bed.SIPTLSAddr: "bed Kamailio (TLS)",
		cleanXMPPAddr: "clean Go XMPP (chat of the weak accounts)", cleanSIPAddr: "clean Go SIP TLS (telephony of the weak accounts)",
	}
	label := func(addr, name string, aspect audit.Aspect) string {
		if l, ok := labels[addr]; ok {
			return l
		}
		return name + " " + string(aspect)
	}
	var out []*tsAccount
	add := func(name, what, chat, sip string, chatLimit time.Duration) {
		a := &tsAccount{name: name, what: what, caFile: w.caFile, domain: bed.Domain,
			chat: tsEndpoint{aspect: audit.Chat, addr: chat, limit: chatLimit, label: label(chat, name, audit.Chat)},
			sip:  tsEndpoint{aspect: audit.Telephony, addr: sip, label: label(sip, name, audit.Telephony)}}
		dir := b.TempDir()
		a.config = filepath.Join(dir, "config.toml")
		cfg := &config.Config{Default: "lab", Accounts: []config.Account{{
			Name: "lab", Related: true, CAFile: w.caFile,
			XMPP: &config.XMPPAspect{JID: "alice@" + bed.Domain, Server: chat},
			SIP:  &config.SIPAspect{AOR: "sip:alice@" + bed.Domain, Proxy: sipTLS(sip)},
		}}}
		if err := config.Save(a.config, cfg); err != nil {
			b.Fatal(err)
		}
		out = append(out, a)
	}

	add("bed", "test bed: Prosody STARTTLS + Kamailio TLS", bed.XMPPAddr, bed.SIPTLSAddr, 0)

	tls10 := strong()
	tls10.MinVersion, tls10.CipherSuites = tls.VersionTLS10, nil
	add("tls10", "SIP accepts TLS 1.0 and 1.1", cleanXMPP(), testbed.ServeWeakTLS(b, tls10), 0)

	add("expired", "SIP certificate expired", cleanXMPP(), sipWith(issue(b, w, testbed.WeakCertSpec{DNSNames: []string{"example.test"},
		NotBefore: time.Now().Add(-60 * 24 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})), 0)

	add("wrong-name", "SIP certificate for wrong.test", cleanXMPP(),
		sipWith(issue(b, w, testbed.WeakCertSpec{DNSNames: []string{"wrong.test"}})), 0)

	add("self-signed", "SIP certificate self-signed", cleanXMPP(),
		sipWith(issue(b, w, testbed.WeakCertSpec{DNSNames: []string{"example.test"}, SelfSigned: true})), 0)

	srv := issue(b, w, testbed.WeakCertSpec{SRVNames: []string{"_xmpp-client.example.test"}})
	add("srv-id-only", "XMPP certificate with only the SRV-ID _xmpp-client.example.test", testbed.WeakXMPP{
		TLS: testbed.StrongTLSConfig(srv), AdvertiseStartTLS: true, RequireStartTLS: true,
		PostTLS: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}}.Serve(b), cleanSIP(), 0)

	// testssl waits for <starttls> in the features and hangs when it is not
	// there (research report §1.1): bounded.
	strip := testbed.NewProxy(b, bed.XMPPAddr, testbed.ProxyOptions{StripStartTLS: true})
	add("starttls-stripped", "Prosody's <starttls/> not advertised (accepted when sent)", strip.Addr, cleanSIP(), 60*time.Second)
	return out
}

// cusaxResult is one `cusax audit-tls` run.
type cusaxResult struct {
	wall time.Duration
	code int
	rep  audit.Report
}

func runCusaxAudit(b *testing.B, bin string, a *tsAccount, keep string) cusaxResult {
	b.Helper()
	home := filepath.Dir(a.config)
	cmd := exec.Command(bin, "--config", a.config, "audit-tls", "--json", "--no-state")
	cmd.Env = append(os.Environ(), "CUSAX_SECRETS=file", "CUSAX_PLUGIN_PATH=",
		"XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home+"/data", "XDG_CACHE_HOME="+home+"/cache")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := cusaxResult{wall: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		b.Fatalf("cusax audit-tls (%s): %v", a.name, err)
	}
	if keep != "" {
		_ = os.MkdirAll(keep, 0o755)
		_ = os.WriteFile(filepath.Join(keep, a.name+".cusax.json"), stdout.Bytes(), 0o644)
	}
	if err := json.Unmarshal(stdout.Bytes(), &r.rep); err != nil {
		b.Fatalf("cusax audit-tls (%s) exit %d: not JSON: %v\n%s\n%s", a.name, r.code, err, stdout.String(), stderr.String())
	}
	if r.code >= audit.ExitUnknown {
		b.Fatalf("cusax audit-tls (%s) exit %d (UNKNOWN)\n%s", a.name, r.code, stderr.String())
	}
	return r
}

// tsFinding is one entry of testssl's flat JSON (--jsonfile).
type tsFinding struct {
	ID       string `json:"id"`
	IP       string `json:"ip"`
	Port     string `json:"port"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

// tsResult is one testssl run on one endpoint.
type tsResult struct {
	wall     time.Duration
	code     int
	timedOut bool
	findings []tsFinding
	args     []string
	tail     string // the end of its output, for the reader
}

// runTestssl runs testssl on one endpoint: every default check (no
// selection of tests), batch mode, no colour, no DNS, the account's CA
// added to every trust store. XMPP endpoints get the STARTTLS dialog with
// the account's domain as stream to=” (also SNI and reference identity);
// SIP endpoints are scanned as plain TLS under the domain's name, pinned to
// the loopback address with --ip, so SNI and the name check see the SIP
// domain as cusax does.
func runTestssl(b *testing.B, ts testssl, a *tsAccount, ep *tsEndpoint, limit time.Duration, keep string) (tsResult, error) {
	dir := b.TempDir()
	jsonFile := filepath.Join(dir, "testssl.json")
	args := []string{"--quiet", "--color", "0", "--warnings", "batch", "--nodns", "none",
		"--add-ca", a.caFile, "--jsonfile", jsonFile}
	host, port, err := net.SplitHostPort(ep.addr)
	if err != nil {
		return tsResult{}, err
	}
	if ep.aspect == audit.Chat {
		args = append(args, "--starttls", "xmpp", "--xmpphost", a.domain)
	}
	// --ip one needs DNS; --ip 127.0.0.1 pins the domain to the endpoint.
	args = append(args, "--ip", host, net.JoinHostPort(a.domain, port))
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, ts.path, args...)
	// testssl forks openssl and subshells: kill the whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	r := tsResult{wall: time.Since(start), args: args, tail: lastLines(out.String(), 12)}
	if ctx.Err() != nil {
		r.timedOut, r.code = true, -1
	} else if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		return r, fmt.Errorf("testssl %s: %v", strings.Join(args, " "), err)
	}
	if r.code >= 242 && ep.limit == 0 { // ERR_* codes: testssl failed, no verdict (expected only where limit is set)
		return r, fmt.Errorf("testssl %s: exit %d\n%s", strings.Join(args, " "), r.code, r.tail)
	}
	raw, _ := os.ReadFile(jsonFile)
	if r.findings, err = parseTestsslJSON(raw); err != nil && !r.timedOut {
		return r, fmt.Errorf("testssl JSON %s: %v\n%s", jsonFile, err, r.tail)
	}
	if keep != "" {
		base := filepath.Join(keep, ep.file())
		_ = os.MkdirAll(keep, 0o755)
		_ = os.WriteFile(base+".testssl.json", raw, 0o644)
		_ = os.WriteFile(base+".testssl.txt", out.Bytes(), 0o644)
	}
	return r, nil
}

func timedOutNote(r tsResult) string {
	if r.timedOut {
		return ", timed out"
	}
	return ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func loadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// parseTestsslJSON reads testssl's flat JSON. testssl writes it as it goes
// and closes the array at the end; a run stopped early leaves it open, and
// what was written is still read.
func parseTestsslJSON(raw []byte) ([]tsFinding, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	var fs []tsFinding
	err := json.Unmarshal(raw, &fs)
	if err != nil && !bytes.HasSuffix(raw, []byte("]")) {
		fixed := append(bytes.TrimSuffix(raw, []byte(",")), '\n', ']')
		if err2 := json.Unmarshal(fixed, &fs); err2 == nil {
			return fs, nil
		}
	}
	return fs, err
}

// A verdict is one tool's reading of one check on one endpoint.
type verdict int

const (
	vNone  verdict = iota // not judged (absent, skipped, errored, scan stopped)
	vOK                   // passes / OK or INFO
	vIssue                // fails / LOW or worse
)

// tsSeverity orders testssl's severities; WARN, DEBUG and FATAL are about
// the scan, not the server.
var tsSeverity = map[string]int{"INFO": 1, "OK": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5}

// tsMapping maps one cusax check onto the testssl ids that judge the same
// property. judge, when set, reads the findings instead of their
// severities. covered: the check is one cusax claims to cover that testssl
// judges too, so a testssl problem cusax passes is a cusax MISS; otherwise
// a disagreement is only "differs".
type tsMapping struct {
	check   string
	aspect  audit.Aspect // "" for either
	ids     []string
	judge   func(fs []tsFinding, r tsResult) (verdict, string)
	covered bool
	// why explains a disagreement (known differences of method or
	// threshold); agreeWhy an agreement that needs explaining.
	why, agreeWhy string
	// dialog: the check is about the STARTTLS dialog, judged even when
	// testssl got no TLS result.
	dialog bool
	// testsslWrong recognises, from cusax's evidence of a pass, a known
	// testssl error: then a testssl problem is "differs (testssl wrong)",
	// not a cusax miss.
	testsslWrong func(cusaxEvidence string) bool
}

var testsslMappings = []tsMapping{
	{check: audit.CheckXMPPOffered, aspect: audit.Chat, judge: judgeStartTLS, dialog: true,
		agreeWhy: "both stop at the missing <starttls/>, but testssl only by failing: it proceeds only when <starttls/> is advertised (regex starttls(.*)features) and reports no finding about it",
		why:      "testssl only proceeds when <starttls/> is advertised (regex starttls(.*)features); it reports no finding about it, the scan just fails"},
	{check: audit.CheckXMPPStartTLS, aspect: audit.Chat, judge: judgeStartTLS, dialog: true,
		why: "cusax sends <starttls/> even when not advertised and Prosody accepts it; testssl gives up (and hangs) when it is not advertised"},
	{check: audit.CheckTLSSSL, ids: []string{"SSLv2", "SSLv3"}, covered: true},
	{check: audit.CheckTLS10, ids: []string{"TLS1"}, covered: true},
	{check: audit.CheckTLS11, ids: []string{"TLS1_1"}, covered: true},
	{check: audit.CheckTLS13, ids: []string{"TLS1_3"}, covered: true},
	{check: audit.CheckSuitesBroken, ids: []string{"cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "FREAK"}, covered: true},
	{check: audit.CheckSuitesRC4, ids: []string{"RC4"}, covered: true},
	{check: audit.CheckSuites3DES, ids: []string{"cipherlist_3DES_IDEA", "SWEET32"}, covered: true},
	{check: audit.CheckSuitesCBC, ids: []string{"cipherlist_AVERAGE", "BEAST", "BEAST_CBC_TLS1", "BEAST_CBC_SSL3", "LUCKY13"}, covered: true,
		why: "testssl rates any CBC suite LOW (cipherlist_AVERAGE \"offered\", LUCKY13 \"potentially vulnerable\"); cusax fails a CBC suite only without encrypt_then_mac (RFC 9325 §4.2), which Go's crypto/tls never negotiates"},
	{check: audit.CheckFS, ids: []string{"PFS"}, covered: true},
	{check: audit.CheckRenegInfo, ids: []string{"secure_renego"}, covered: true},
	{check: audit.CheckCompression, ids: []string{"CRIME_TLS"}, covered: true},
	{check: audit.CheckTicket, ids: []string{"TLS_session_ticket"}, covered: true},
	{check: audit.CheckCertTrust, ids: []string{"cert_chain_of_trust"}, covered: true},
	{check: audit.CheckCertIDXMPP, aspect: audit.Chat, ids: []string{"cert_trust"}, covered: true,
		testsslWrong: func(ev string) bool { return strings.Contains(ev, "SRV-ID") },
		why:          "testssl compares SRV-IDs only with _xmpp-server.<domain> (testssl.sh l.8497), never _xmpp-client: a valid c2s certificate (RFC 6120 §13.7.1.2) fails there"},
	{check: audit.CheckCertIDSIP, aspect: audit.Telephony, ids: []string{"cert_trust"}, covered: true,
		why: "testssl has no sip: URI-ID logic; it checks DNS-IDs and the CN against the host name it was given (here the SIP domain)"},
	{check: audit.CheckCertValidity, ids: []string{"cert_expirationStatus"}, judge: judgeExpired, covered: true},
	{check: audit.CheckCertSoon, ids: []string{"cert_expirationStatus"}, judge: judgeExpiring(0, 14), covered: true},
	{check: audit.CheckCertWarn, ids: []string{"cert_expirationStatus"}, judge: judgeExpiring(14, 30), covered: true,
		why: "thresholds differ: testssl warns at 60 days (MEDIUM) and 30 days (HIGH); cusax at 14 days (cert.expires-soon) and 30 days (cert.expiry-warning), and skips the latter when the former already fails"},
	{check: audit.CheckCertLifetime, ids: []string{"cert_validityPeriod"}, covered: true},
	{check: audit.CheckCertKey, ids: []string{"cert_keySize"}, covered: true},
	{check: audit.CheckCertSig, ids: []string{"cert_signatureAlgorithm"}, covered: true},
	{check: audit.CheckCertChain, ids: []string{"certs_list_ordering_problem"}, covered: true},
}

// scanGotTLS: did testssl get a protocol result (a TLS handshake)?
func scanGotTLS(r tsResult) bool {
	for _, f := range r.findings {
		if f.ID == "TLS1_2" || f.ID == "TLS1_3" {
			return true
		}
	}
	return false
}

// judgeStartTLS: did testssl get through the XMPP STARTTLS dialog (any
// protocol result means it did)? It reads the whole scan.
func judgeStartTLS(_ []tsFinding, r tsResult) (verdict, string) {
	fs := r.findings
	for _, f := range fs {
		if f.ID == "TLS1_2" || f.ID == "TLS1_3" {
			return vOK, "STARTTLS dialog completed"
		}
	}
	for _, f := range fs {
		if f.ID == "scanProblem" {
			return vIssue, f.Severity + " " + f.Finding
		}
	}
	if r.timedOut {
		return vIssue, fmt.Sprintf("no protocol result; killed after %.0f s", r.wall.Seconds())
	}
	return vIssue, "no protocol result"
}

func findingsFor(fs []tsFinding, id string) []tsFinding {
	var out []tsFinding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

// judgeExpired reads cert_expirationStatus for an expired certificate only.
func judgeExpired(fs []tsFinding, _ tsResult) (verdict, string) {
	if len(fs) == 0 {
		return vNone, ""
	}
	for _, f := range fs {
		if strings.Contains(strings.ToLower(f.Finding), "expired") {
			return vIssue, f.Severity + " " + f.Finding
		}
	}
	return vOK, fs[0].Severity + " " + fs[0].Finding
}

// judgeExpiring reads cert_expirationStatus as "expires within days", from
// its text ("expires < 60 days (59)"), ignoring expired certificates and,
// like cusax, those already inside the shorter window from (cusax skips
// cert.expiry-warning when cert.expires-soon fails).
func judgeExpiring(from, days int) func([]tsFinding, tsResult) (verdict, string) {
	re := regexp.MustCompile(`\((-?\d+)\)`)
	return func(fs []tsFinding, _ tsResult) (verdict, string) {
		if len(fs) == 0 {
			return vNone, ""
		}
		f := fs[0]
		ev := f.Severity + " " + f.Finding
		if strings.Contains(strings.ToLower(f.Finding), "expired") {
			return vNone, ev + " (expired: see cert.validity)"
		}
		if m := re.FindStringSubmatch(f.Finding); m != nil {
			var left int
			fmt.Sscan(m[1], &left)
			if left < from {
				return vNone, ev + " (inside the shorter window: see cert.expires-soon)"
			}
			if left < days {
				return vIssue, ev
			}
			return vOK, ev
		}
		if tsSeverity[f.Severity] >= tsSeverity["LOW"] {
			return vIssue, ev
		}
		return vOK, ev
	}
}

// judgeSeverity: the worst severity of the findings with the given ids.
func judgeSeverity(fs []tsFinding) (verdict, string) {
	worst, ev := 0, []string{}
	for _, f := range fs {
		s, ok := tsSeverity[f.Severity]
		if !ok {
			continue
		}
		worst = max(worst, s)
		ev = append(ev, f.ID+" "+f.Severity+" "+f.Finding)
	}
	switch {
	case worst == 0:
		return vNone, strings.Join(ev, "; ")
	case worst >= tsSeverity["LOW"]:
		var bad []string
		for _, f := range fs {
			if tsSeverity[f.Severity] >= tsSeverity["LOW"] {
				bad = append(bad, f.ID+" "+f.Severity+" "+f.Finding)
			}
		}
		return vIssue, strings.Join(bad, "; ")
	}
	return vOK, strings.Join(ev, "; ")
}

func (m tsMapping) testssl(r tsResult) (verdict, string) {
	var fs []tsFinding
	for _, id := range m.ids {
		fs = append(fs, findingsFor(r.findings, id)...)
	}
	if m.judge != nil {
		return m.judge(fs, r)
	}
	return judgeSeverity(fs)
}

// cusaxVerdict: the worst status of check on aspect in the report.
func cusaxVerdict(rep audit.Report, check string, aspect audit.Aspect) (verdict, string) {
	v, ev := vNone, ""
	for _, f := range rep.Findings {
		if f.ID != check || f.Aspect != aspect {
			continue
		}
		switch f.Status {
		case audit.Fail:
			return vIssue, f.Severity.String() + ": " + f.Evidence
		case audit.Pass:
			v, ev = vOK, f.Evidence
		case audit.Error, audit.Skipped:
			if v == vNone {
				ev = string(f.Status) + ": " + f.Evidence
			}
		}
	}
	return v, ev
}

// testsslOnlyWhy explains testssl problems on ids no cusax check maps to.
var testsslOnlyWhy = map[string]string{
	"cert_subjectAltName":        "testssl reads a SAN without a DNS name as \"no SAN\"; cusax reads the SRVName otherName (RFC 6120 §13.7.1.2) and passes it",
	"cipher_order":               "the server does not impose its own suite order (Prosody as configured by the bed) and testssl rates that HIGH; cusax judges what is negotiated and accepted (tls.forward-secrecy, tls.suites-*), not the order",
	"OCSP_stapling":              "no OCSP responder in a private test CA; cusax does not check OCSP (not required by RFC 7590 or RFC 9325 for XMPP/SIP)",
	"cert_ocspURL":               "the test CA has no OCSP URL; not a cusax check",
	"cert_crlDistributionPoints": "the test CA publishes no CRL; not a cusax check",
	"cert_revocation":            "no revocation information in the test CA; not a cusax check",
	"DNS_CAArecord":              "no DNS for the test domain (--nodns none); CAA is not a cusax check",
	"BREACH":                     "HTTP only; not applicable to XMPP or SIP",
	"secure_client_renego":       "client-initiated renegotiation (a DoS vector) is not a cusax check; cusax checks only that secure renegotiation (RFC 5746) is acknowledged",
	"cert_notBefore":             "the other half of the validity period; cusax reports it under cert.validity",
	"scanProblem":                "testssl could not complete its scan",
	"fallback_SCSV":              "TLS_FALLBACK_SCSV (RFC 7507) is not a cusax check; Go's crypto/tls does not implement it",
	"certificate_transparency":   "no SCTs from a private CA; not a cusax check",
}

// tsDuplicates are testssl ids that repeat a mapped one (the same
// observation twice): not listed as testssl-only.
var tsDuplicates = map[string]bool{
	"cert_notAfter": true, // the date of cert_expirationStatus, rated alike
}

// tsRow is one line of the agreement table.
type tsRow struct {
	endpoint, check, cusax, testssl, verdict, why string
}

func (v verdict) String() string {
	switch v {
	case vOK:
		return "ok"
	case vIssue:
		return "PROBLEM"
	}
	return "not judged"
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 160 {
		s = s[:157] + "…"
	}
	return s
}

// agreementTable compares, per account and endpoint, each mapped check,
// and lists testssl problems on unmapped ids and cusax failures on checks
// testssl has no counterpart for. It returns the markdown and the counts:
// agree (both judged alike, listed or not), differ (judged differently,
// or judged by one tool only), cusax misses.
func agreementTable(accounts []*tsAccount) (string, int, int, int) {
	var rows []tsRow
	agree, differ, misses := 0, 0, 0
	quietAgree := map[string]int{} // endpoint label -> checks both pass, not listed
	oneSided := map[string][]string{}
	mapped := map[string]bool{}
	mappedChecks := map[string]bool{}
	for _, m := range testsslMappings {
		for _, id := range m.ids {
			mapped[id] = true
		}
		mappedChecks[m.check] = true
	}
	done := map[string]bool{}
	var order []*tsEndpoint
	for _, a := range accounts {
		for _, ep := range []*tsEndpoint{&a.chat, &a.sip} {
			// An endpoint shared by several accounts is compared once.
			if done[ep.addr] {
				continue
			}
			done[ep.addr] = true
			order = append(order, ep)
			key := ep.label
			scanned := scanGotTLS(ep.res)
			for _, m := range testsslMappings {
				if m.aspect != "" && m.aspect != ep.aspect {
					continue
				}
				if !scanned && !m.dialog {
					continue // no testssl result at all: one row below
				}
				cv, cev := cusaxVerdict(a.cusax.rep, m.check, ep.aspect)
				tv, tev := m.testssl(ep.res)
				row := tsRow{endpoint: ep.label, check: m.check,
					cusax: cv.String(), testssl: tv.String()}
				if cev != "" && cv != vOK {
					row.cusax += " (" + cev + ")"
				}
				if tev != "" && tv != vOK {
					row.testssl += " (" + tev + ")"
				}
				switch {
				case cv == vNone && tv == vNone:
					continue
				case (cv == vNone && tv == vOK) || (cv == vOK && tv == vNone):
					// Judged by one tool only, and no problem: not a
					// finding either way; counted, not listed.
					oneSided[key] = append(oneSided[key], m.check+" ("+map[bool]string{true: "testssl", false: "cusax"}[cv == vNone]+")")
					continue
				case cv == tv && cv == vOK:
					agree++
					quietAgree[key]++
					continue
				case cv == tv:
					agree++
					row.verdict, row.why = "agree", m.agreeWhy
				case cv == vOK && tv == vIssue && m.testsslWrong != nil && m.testsslWrong(cev):
					differ++
					row.cusax += " (" + cev + ")"
					row.verdict, row.why = "differs (testssl wrong)", m.why
				case cv == vOK && tv == vIssue && m.covered:
					misses++
					differ++
					row.verdict, row.why = "**cusax MISS**", m.why
				default:
					differ++
					row.verdict, row.why = "differs", m.why
					if row.why == "" && (cv == vNone || tv == vNone) {
						row.why = "judged by one tool only"
					}
				}
				rows = append(rows, row)
			}
			// cusax failures on checks testssl has no counterpart for
			// (XMPP stream, SIP, discovery).
			for _, f := range a.cusax.rep.Findings {
				if mappedChecks[f.ID] || f.Status != audit.Fail || f.Aspect != ep.aspect {
					continue
				}
				differ++
				rows = append(rows, tsRow{endpoint: ep.label, check: f.ID,
					cusax: "PROBLEM (" + f.Severity.String() + ": " + f.Evidence + ")", testssl: "no such check",
					verdict: "cusax only", why: cusaxOnlyWhy(f.ID)})
			}
			// testssl problems no mapped check covers.
			for _, f := range ep.res.findings {
				if mapped[f.ID] || tsDuplicates[f.ID] || tsSeverity[f.Severity] < tsSeverity["LOW"] {
					continue
				}
				differ++
				rows = append(rows, tsRow{endpoint: ep.label, check: "—",
					cusax: "no such check", testssl: f.ID + " " + f.Severity + " " + f.Finding,
					verdict: "testssl only", why: testsslOnlyWhy[f.ID]})
			}
			switch {
			case !scanned && ep.res.timedOut:
				rows = append(rows, tsRow{endpoint: ep.label, check: "(all TLS and certificate checks)",
					cusax: "judged", testssl: fmt.Sprintf("no TLS result; killed after %.0f s", ep.res.wall.Seconds()),
					verdict: "testssl hangs", why: "testssl waits for <starttls> in the stream features, which never comes (research report §1.1)"})
			case !scanned:
				rows = append(rows, tsRow{endpoint: ep.label, check: "(all TLS and certificate checks)",
					cusax: "judged", testssl: fmt.Sprintf("no TLS result (exit %d)", ep.res.code),
					verdict: "testssl failed", why: "see the kept testssl output"})
			case ep.res.timedOut:
				rows = append(rows, tsRow{endpoint: ep.label, check: "—", cusax: "—",
					testssl: fmt.Sprintf("killed after %.0f s, results so far read", ep.res.wall.Seconds()),
					verdict: "testssl incomplete", why: "CUSAX_TESTSSL_TIMEOUT reached"})
			}
		}
		// Cross-aspect failures, per account: testssl has no counterpart.
		for _, f := range a.cusax.rep.Findings {
			if f.Aspect != audit.CUSAX || f.Status != audit.Fail {
				continue
			}
			differ++
			rows = append(rows, tsRow{endpoint: "account " + a.name, check: f.ID,
				cusax: "PROBLEM (" + f.Severity.String() + ": " + f.Evidence + ")", testssl: "no such check",
				verdict: "cusax only", why: cusaxOnlyWhy(f.ID)})
		}
	}
	var sb strings.Builder
	sb.WriteString("| endpoint | cusax check | cusax | testssl | verdict | why |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s |\n", r.endpoint, r.check,
			cell(r.cusax), cell(r.testssl), r.verdict, cell(r.why))
	}
	sb.WriteString("\nChecks both tools pass, per endpoint (not listed above, counted as agree):")
	for _, ep := range order {
		fmt.Fprintf(&sb, "\n- %s: %d", ep.label, quietAgree[ep.label])
	}
	sb.WriteString("\n\nChecks only one tool judged, with no problem found (not listed above, not counted):")
	for _, ep := range order {
		fmt.Fprintf(&sb, "\n- %s: %s", ep.label, strings.Join(oneSided[ep.label], ", "))
	}
	fmt.Fprintf(&sb, "\n\nTotals: %d agree, %d differ, %d cusax misses.\n", agree, differ, misses)
	return sb.String(), agree, differ, misses
}

func cusaxOnlyWhy(id string) string {
	switch {
	case strings.HasPrefix(id, "cusax."):
		return "cross-aspect comparison of one account (RFC 7081 §7); testssl scans one endpoint at a time"
	case strings.HasPrefix(id, "xmpp."):
		return "XMPP stream features (STARTTLS offered/required, SASL before and after TLS); testssl reads no stream features"
	case strings.HasPrefix(id, "sip."):
		return "SIP over TLS and digest challenges; testssl has no SIP dialog"
	case strings.HasPrefix(id, "disc."):
		return "DNS SRV/NAPTR discovery; testssl was run with --nodns none on given addresses"
	case id == audit.CheckEMS:
		return "testssl lists extended master secret under TLS_extensions (INFO) but does not rate its absence"
	case id == audit.CheckSuitesNoFS:
		return "testssl 3.0.8 rates forward secrecy (PFS) by what is offered, not the absence of static-RSA suites"
	}
	return ""
}

// timesTable: wall times per account.
func timesTable(accounts []*tsAccount) string {
	var sb strings.Builder
	sb.WriteString("| account | endpoints | cusax audit-tls (ms) | testssl chat (s) | testssl telephony (s) | testssl total (s) | ratio |\n|---|---|---|---|---|---|---|\n")
	for _, a := range accounts {
		c, t := median(a.cusaxWall), median(a.testsslWall)
		fmt.Fprintf(&sb, "| %s | %s | %.0f | %.1f%s | %.1f%s | %.1f | %.0f× |\n", a.name, a.what, c,
			a.chat.res.wall.Seconds(), timedOutNote(a.chat.res), a.sip.res.wall.Seconds(), timedOutNote(a.sip.res),
			t/1000, t/c)
	}
	return sb.String()
}

// The manifest of a kept run (CUSAX_TESTSSL_KEEP): enough to rebuild the
// tables from the kept outputs with CUSAX_TESTSSL_REPLAY=dir, without
// scanning again (the mapping can change; the observations do not).
type tsManifest struct {
	When     string      `json:"when"`
	Setup    string      `json:"setup"`
	Accounts []tsManAcct `json:"accounts"`
}

type tsManAcct struct {
	Name, What  string
	Chat, SIP   tsManEP
	CusaxWallMS []float64
}

type tsManEP struct {
	Aspect   audit.Aspect
	Addr     string
	Label    string
	WallMS   []float64
	TimedOut bool
	Code     int
}

func writeManifest(b *testing.B, dir string, accounts []*tsAccount, setup string) {
	m := tsManifest{When: time.Now().UTC().Format("2006-01-02 15:04 MST"), Setup: setup}
	ep := func(e *tsEndpoint, walls []time.Duration) tsManEP {
		return tsManEP{Aspect: e.aspect, Addr: e.addr, Label: e.label, TimedOut: e.res.timedOut, Code: e.res.code,
			WallMS: []float64{float64(e.res.wall.Microseconds()) / 1000}}
	}
	for _, a := range accounts {
		ma := tsManAcct{Name: a.name, What: a.what, Chat: ep(&a.chat, nil), SIP: ep(&a.sip, nil)}
		for _, d := range a.cusaxWall {
			ma.CusaxWallMS = append(ma.CusaxWallMS, float64(d.Microseconds())/1000)
		}
		m.Accounts = append(m.Accounts, ma)
	}
	raw, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), raw, 0o644); err != nil {
		b.Fatal(err)
	}
}

// replayTestssl rebuilds the tables of a kept run (the last iteration's
// observations; wall times as recorded).
func replayTestssl(b *testing.B, dir string) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		b.Fatal(err)
	}
	var m tsManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		b.Fatal(err)
	}
	var accounts []*tsAccount
	for _, ma := range m.Accounts {
		a := &tsAccount{name: ma.Name, what: ma.What}
		for _, v := range ma.CusaxWallMS {
			a.cusaxWall = append(a.cusaxWall, time.Duration(v*1000)*time.Microsecond)
		}
		rep, err := os.ReadFile(filepath.Join(dir, a.name+".cusax.json"))
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(rep, &a.cusax.rep); err != nil {
			b.Fatal(err)
		}
		var sum time.Duration
		for _, pair := range []struct {
			ep *tsEndpoint
			me tsManEP
		}{{&a.chat, ma.Chat}, {&a.sip, ma.SIP}} {
			*pair.ep = tsEndpoint{aspect: pair.me.Aspect, addr: pair.me.Addr, label: pair.me.Label}
			r := &pair.ep.res
			r.timedOut, r.code = pair.me.TimedOut, pair.me.Code
			r.wall = time.Duration(pair.me.WallMS[len(pair.me.WallMS)-1]*1000) * time.Microsecond
			js, _ := os.ReadFile(filepath.Join(dir, pair.ep.file()+".testssl.json"))
			if r.findings, err = parseTestsslJSON(js); err != nil && !r.timedOut {
				b.Fatalf("%s: %v", pair.ep.file(), err)
			}
			sum += r.wall
		}
		a.testsslWall = []time.Duration{sum}
		accounts = append(accounts, a)
	}
	table, agree, differ, misses := agreementTable(accounts)
	md := fmt.Sprintf("<!-- BenchmarkAuditVsTestssl, %s, %s (tables rebuilt from the kept outputs) -->\n\n", m.When, m.Setup) +
		timesTable(accounts) + "\n" + table
	b.ReportMetric(float64(agree), "agree")
	b.ReportMetric(float64(differ), "differ")
	b.ReportMetric(float64(misses), "cusax-misses")
	if path := os.Getenv("CUSAX_TESTSSL_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			b.Fatal(err)
		}
		return
	}
	b.Log("\n" + md)
}
