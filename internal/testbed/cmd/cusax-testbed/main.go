// Command cusax-testbed runs the integration test bed (Prosody + Kamailio on loopback) outside
// of `go test`, for demos and manual testing.
//
//	cusax-testbed up --dir DIR [--sip-digest MD5] [--seed-demo] [--callee NAME]
//	    start, write DIR/bed.json and DIR/bed.env, run until SIGINT/SIGTERM
//	cusax-testbed down --dir DIR      stop a bed started in the background
//	cusax-testbed callee --dir DIR    what the --callee baresip has answered and received
//	cusax-testbed tone --out FILE     write a test tone as a 16-bit PCM WAV (for cusax call --play)
//	cusax-testbed wav FILE...         samples, length, RMS and tone of WAV recordings
//	cusax-testbed invite --dir DIR --from USER --to URI [--header 'Name: value']... [--expect 486]
//	    place one call with sipp through the bed's Kamailio as USER; fail unless the final
//	    response is the expected one
//
// bed.json and bed.env appear only once both servers answer (and the callee, if any, is
// registered), so a script can start `up` in the background and wait for DIR/bed.env. They
// hold the users' passwords: this is a throwaway bed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

const usage = `usage:
  cusax-testbed up --dir DIR [--sip-digest SHA-256|MD5] [--seed-demo] [--callee NAME]
  cusax-testbed down --dir DIR
  cusax-testbed callee --dir DIR
  cusax-testbed tone --out FILE [--freq HZ] [--duration D]
  cusax-testbed wav FILE...
  cusax-testbed invite --dir DIR --from USER --to URI [--header 'Name: value']... [--expect STATUS] [--timeout D]
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("cusax-testbed "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var dir, digest, callee, out *string
	var seedDemo *bool
	var freq *float64
	var dur *time.Duration
	var inv inviteOptions
	switch args[0] {
	case "up", "down", "callee":
		dir = fs.String("dir", "", "directory for the bed's files (created if missing)")
	case "tone":
		out = fs.String("out", "", "WAV file to write")
		freq = fs.Float64("freq", 440, "tone frequency in Hz")
		dur = fs.Duration("duration", time.Second, "tone length")
	case "invite":
		dir = fs.String("dir", "", "directory of the running bed (its bed.json)")
		fs.StringVar(&inv.From, "from", "", "bed user `USER` who places the call (alice, bob or carol)")
		fs.StringVar(&inv.To, "to", "", "Request-URI, a plain sip: URI such as sip:alice@example.test")
		fs.Var(&inv.Headers, "header", "extra INVITE header `'Name: value'` (repeatable, kept in order)")
		fs.IntVar(&inv.Expect, "expect", 486, "final `STATUS` expected from the callee (300-699)")
		fs.DurationVar(&inv.Timeout, "timeout", 30*time.Second, "give up after this long")
	case "wav":
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if args[0] == "up" {
		digest = fs.String("sip-digest", "SHA-256", "digest algorithm Kamailio challenges with: SHA-256 or MD5")
		seedDemo = fs.Bool("seed-demo", false, "give alice a roster with vCards (the make demo data)")
		callee = fs.String("callee", "", "add SIP user `NAME` and answer its calls with baresip (with --seed-demo: in alice's roster)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if (args[0] == "wav") != (fs.NArg() != 0) || (dir != nil && *dir == "") || (out != nil && *out == "") ||
		(args[0] == "invite" && (inv.From == "" || inv.To == "")) {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "up":
		err = up(*dir, testbed.Options{SIPDigestAlgorithm: *digest}, *seedDemo, *callee, stderr)
	case "down":
		err = down(*dir, stderr)
	case "callee":
		err = calleeReport(*dir, stdout)
	case "tone":
		err = writeTone(*out, *freq, *dur)
	case "wav":
		err = wavReport(fs.Args(), stdout)
	case "invite":
		inv.Dir = *dir
		err = invite(inv, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "cusax-testbed: error: %v\n", err)
		if errors.Is(err, testbed.ErrNotInstalled) {
			fmt.Fprintf(stderr, "cusax-testbed: hint: %s\n", testbed.InstallHint)
		}
		return 1
	}
	return 0
}

func pidFile(dir string) string { return filepath.Join(dir, "cusax-testbed.pid") }

func up(dir string, opts testbed.Options, seedDemo bool, callee string, stderr io.Writer) error {
	if pid, alive := runningPid(dir); alive {
		return fmt.Errorf("a bed already runs in %s (pid %d); stop it with: cusax-testbed down --dir %s", dir, pid, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Catch signals before starting, so that an early Ctrl-C still stops what has started.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := os.WriteFile(pidFile(dir), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return err
	}
	defer os.Remove(pidFile(dir))
	jsonFile, envFile := filepath.Join(dir, "bed.json"), filepath.Join(dir, "bed.env")
	_ = os.Remove(jsonFile)
	_ = os.Remove(envFile)

	start := time.Now()
	b, err := testbed.StartWithDir(dir, opts)
	if err != nil {
		return err
	}
	defer func() {
		os.Remove(envFile)
		os.Remove(jsonFile)
	}()
	if callee != "" {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := b.AddUsers(actx, b.Domain, callee)
		cancel()
		if err != nil {
			return errors.Join(fmt.Errorf("callee: %w", err), b.Stop())
		}
	}
	if seedDemo {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := b.Seed(sctx, testbed.DemoSeed(b, callee))
		cancel()
		if err != nil {
			return errors.Join(fmt.Errorf("seed: %w", err), b.Stop())
		}
	}
	// The callee is stopped before the bed: unregistering its contact needs Kamailio.
	stopAll := b.Stop
	var bs *testbed.Baresip
	if callee != "" {
		var stopCallee func()
		var err error
		bs, stopCallee, err = startCallee(b, callee, stderr)
		if err != nil {
			return errors.Join(err, b.Stop())
		}
		stopAll = func() error { stopCallee(); return b.Stop() }
	}
	// The provider's web portal: WebFinger and provisioning documents (docs/provisioning.md).
	portal, err := b.StartPortal()
	if err != nil {
		return errors.Join(fmt.Errorf("portal: %w", err), stopAll())
	}
	defer portal.Close()
	if err := writeInfo(b, bs, portal, jsonFile, envFile); err != nil {
		return errors.Join(err, stopAll())
	}
	fmt.Fprintf(stderr, "testbed ready: xmpp %s (direct TLS %s), sip udp %s tcp %s tls %s, CA %s, env %s (%v)\n",
		b.XMPPAddr, b.XMPPDirectTLSAddr, b.SIPUDPAddr, b.SIPTCPAddr, b.SIPTLSAddr, b.CAFile, envFile,
		time.Since(start).Round(time.Millisecond))
	if bs != nil {
		fmt.Fprintf(stderr, "testbed: baresip answers %s at %s (log %s)\n", bs.URI, bs.Contact, filepath.Join(bs.Dir, "baresip.log"))
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "testbed: stopping")
	return stopAll()
}

// writeInfo writes bed.json and bed.env, each atomically: their appearance means "ready".
// callee is the --callee baresip, or nil; portal the provider's portal, or nil.
func writeInfo(b *testbed.Bed, callee *testbed.Baresip, portal *testbed.Portal, jsonFile, envFile string) error {
	jids := map[string]string{}
	for name := range b.Users {
		jids[name] = b.JID(name)
	}
	js, err := json.MarshalIndent(bedInfo{b, jids, b.LogFiles(), callee, portal}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(jsonFile, append(js, '\n')); err != nil {
		return err
	}
	return writeAtomic(envFile, []byte(envLines(b, callee, portal)))
}

// bedInfo is what bed.json holds.
type bedInfo struct {
	*testbed.Bed
	JIDs     map[string]string
	LogFiles []string
	Callee   *testbed.Baresip `json:",omitempty"` // the --callee baresip: User, URI, Contact, Dir
	Portal   *testbed.Portal  `json:",omitempty"` // the provider's portal: URL, Addr, PlainURL
}

// envLines renders the bed as shell assignments (`set -a; . DIR/bed.env` exports them);
// callee (nil: none) adds CUSAX_BED_CALLEE, _CALLEE_NAME (its DemoSeed roster name),
// _CALLEE_URI and _CALLEE_DIR; portal (nil: none) adds CUSAX_BED_PROVISION_URL (the
// provisioning document) and _PORTAL_ADDR (where WebFinger for the bed's domain answers).
func envLines(b *testbed.Bed, callee *testbed.Baresip, portal *testbed.Portal) string {
	vars := [][2]string{
		{"DIR", b.Dir},
		{"DOMAIN", b.Domain},
		{"DOMAIN2", b.Domain2},
		{"NOTLS_DOMAIN", b.NoTLSDomain},
		{"MUC_DOMAIN", b.MUCDomain},
		{"SIP_DOMAIN", b.SIPDomain()},
		{"CA", b.CAFile},
		{"OTHER_CA", b.OtherCAFile},
		{"XMPP_ADDR", b.XMPPAddr},
		{"XMPP_DIRECT_TLS_ADDR", b.XMPPDirectTLSAddr},
		{"SIP_UDP_ADDR", b.SIPUDPAddr},
		{"SIP_TCP_ADDR", b.SIPTCPAddr},
		{"SIP_TLS_ADDR", b.SIPTLSAddr},
		{"SIP_DIGEST_ALGORITHM", b.SIPDigestAlgorithm},
	}
	names := make([]string, 0, len(b.Users))
	for name := range b.Users {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		up := strings.ToUpper(name)
		vars = append(vars, [2]string{up + "_JID", b.JID(name)}, [2]string{up + "_PASSWORD", b.Users[name].Password})
	}
	if callee != nil {
		vars = append(vars, [2]string{"CALLEE", callee.User}, [2]string{"CALLEE_NAME", testbed.DemoCalleeName(callee.User)},
			[2]string{"CALLEE_URI", callee.URI}, [2]string{"CALLEE_DIR", callee.Dir})
	}
	if portal != nil {
		vars = append(vars, [2]string{"PROVISION_URL", portal.DocumentURL()}, [2]string{"PORTAL_ADDR", portal.Addr})
	}
	var sb strings.Builder
	sb.WriteString("# cusax test bed; source with: set -a; . " + shellQuote(filepath.Join(b.Dir, "bed.env")) + "; set +a\n")
	for _, v := range vars {
		fmt.Fprintf(&sb, "CUSAX_BED_%s=%s\n", v[0], shellQuote(v[1]))
	}
	return sb.String()
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]*$`)

func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// runningPid returns the pid in DIR's pid file and whether that process is a live cusax-testbed
// (a pid can be reused after a crash, so the command line is checked too).
func runningPid(dir string) (int, bool) {
	data, err := os.ReadFile(pidFile(dir))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "cusax-testbed") {
		return pid, false
	}
	return pid, true
}

func down(dir string, stderr io.Writer) error {
	pid, alive := runningPid(dir)
	if !alive {
		_ = os.Remove(pidFile(dir))
		fmt.Fprintf(stderr, "testbed: nothing running in %s\n", dir)
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		return fmt.Errorf("signal pid %d: %w", pid, err)
	}
	// The bed gives each server 5 s to exit before killing it.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, alive := runningPid(dir); !alive {
			fmt.Fprintf(stderr, "testbed: stopped (pid %d)\n", pid)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pid %d still running 15 s after SIGTERM", pid)
}
