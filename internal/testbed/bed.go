package testbed

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// pickTCPPorts is freeTCPPorts, replaceable by tests to simulate a port taken after the probe.
var pickTCPPorts = freeTCPPorts

// readyTimeout bounds how long the servers may take to answer after they are started.
const readyTimeout = 20 * time.Second

// probeTimeout bounds one readiness probe: on loopback a healthy server answers in
// milliseconds, and a port held by someone else may accept and then say nothing.
const probeTimeout = 500 * time.Millisecond

// Options change how a Bed is set up. The zero value is the default, secure bed.
type Options struct {
	// SIPDigestAlgorithm is the digest algorithm Kamailio challenges with (its auth module's
	// "algorithm" parameter): "" means "SHA-256" (RFC 8760); "MD5" is the weak variant.
	SIPDigestAlgorithm string
	// SIPMaxExpires is the longest registration Kamailio grants, in seconds (its registrar's
	// max_expires; at least 10, its min_expires): 0 means 3600. A short one makes clients
	// show that they refresh in time (RFC 3261 §10.2.4).
	SIPMaxExpires int
}

// User is a test account. The password is the same for XMPP and SIP and random per run.
type User struct{ Name, Password string }

// Bed is a running Prosody and Kamailio on loopback. Its fields describe how to reach them;
// they never change after Start.
type Bed struct {
	Dir         string // per-run directory holding config, certificates, data and logs
	Domain      string // "example.test": XMPP VirtualHost and SIP domain
	Domain2     string // "biloxi.test": a second XMPP VirtualHost, a "foreign" domain without s2s
	NoTLSDomain string // "notls.test": XMPP VirtualHost without certificate: no STARTTLS, PLAIN in the clear

	CAFile      string         // PEM of the per-run CA that signed every server certificate
	CAPool      *x509.CertPool `json:"-"` // the same CA, ready for tls.Config.RootCAs
	OtherCAFile string         // PEM of an unrelated CA that signed nothing (for "unknown CA" tests)

	XMPPAddr          string // c2s with STARTTLS, 127.0.0.1:port
	XMPPDirectTLSAddr string // c2s with direct TLS (XEP-0368), 127.0.0.1:port; needs SNI
	MUCDomain         string // "conference.example.test" (also conference.biloxi.test exists)

	SIPUDPAddr, SIPTCPAddr, SIPTLSAddr string // Kamailio, 127.0.0.1:port each

	// Users: alice, bob and carol on Domain (XMPP and SIP), dave on Domain2 (XMPP only) and
	// eve on NoTLSDomain (XMPP only). JID gives each one's address.
	Users map[string]User

	SIPDigestAlgorithm string // what Kamailio challenges with: "SHA-256" or "MD5"
	SIPMaxExpires      int    // the longest registration Kamailio grants, in seconds

	extra    extraUsers // accounts added by AddUsers and SeedLargeRoster
	ca       *ca        // the per-run CA, to issue certificates for servers started later
	ownsDir  bool       // created by us under os.TempDir: removed by Stop
	prosody  *prosodyInstance
	kamailio *kamailioInstance
	stopOnce sync.Once
	started  time.Time // when both servers were ready; zero if never
	stopErr  error
}

// SIPDomain is the SIP domain Kamailio serves (the same as Domain, as RFC 7081 §3 expects).
func (b *Bed) SIPDomain() string { return b.Domain }

// JID returns the bare JID of a user of the bed ("alice@example.test"), including users added
// by AddUsers and SeedLargeRoster, or "" for an unknown name.
func (b *Bed) JID(name string) string {
	a, ok := b.account(name)
	if !ok {
		return ""
	}
	return a.Name + "@" + a.Domain
}

func (b *Bed) userDomain(name string) string {
	switch name {
	case "alice", "bob", "carol":
		return b.Domain
	case "dave":
		return b.Domain2
	case "eve":
		return b.NoTLSDomain
	}
	return ""
}

// account is a user with the domain it is created in.
type account struct{ Name, Domain, Password string }

// Logs returns the tail of every server log, labelled with its path, for failure messages.
func (b *Bed) Logs() string {
	var s string
	if b.prosody != nil {
		s += b.prosody.logs()
	}
	if b.kamailio != nil {
		s += b.kamailio.logs()
	}
	return s
}

// LogFiles lists the server logs.
func (b *Bed) LogFiles() []string {
	var fs []string
	if b.prosody != nil {
		f := b.prosody.files
		fs = append(fs, f.Log, f.ErrLog, f.Stdout)
	}
	if b.kamailio != nil {
		fs = append(fs, b.kamailio.files.Log)
	}
	return fs
}

// ErrNotInstalled is returned (wrapped) by StartWithDir when a server binary or the prosody
// account is missing.
var ErrNotInstalled = errors.New("test bed servers not installed")

// InstallHint is the command that installs what the bed needs.
const InstallHint = "run: sudo scripts/testbed/install.sh"

// checkInstalled reports what is missing, wrapped in ErrNotInstalled.
func checkInstalled() error {
	var missing []string
	for _, bin := range []string{"prosody", "prosodyctl", "kamailio"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if kamailioModulePath() == "" {
		missing = append(missing, "kamailio tls.so (kamailio-tls-modules)")
	}
	if _, err := prosodyAccount(); err != nil {
		missing = append(missing, "user "+prosodyUser)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %v", ErrNotInstalled, missing)
	}
	return nil
}

// StartWithDir starts Prosody and Kamailio with everything under dir and returns when both
// answer on every port. An empty dir means a fresh directory under os.TempDir that Stop
// removes; a given dir is kept (its prosody/ and kamailio/ subdirectories are replaced).
// On error nothing is left running, and the error carries the servers' log tails.
func StartWithDir(dir string, opts Options) (*Bed, error) {
	alg := opts.SIPDigestAlgorithm
	switch alg {
	case "":
		alg = "SHA-256"
	case "MD5", "SHA-256":
	default:
		return nil, fmt.Errorf("testbed: SIPDigestAlgorithm %q: want \"\", \"MD5\" or \"SHA-256\"", alg)
	}
	maxExp := opts.SIPMaxExpires
	switch {
	case maxExp == 0:
		maxExp = 3600
	case maxExp < 10:
		return nil, fmt.Errorf("testbed: SIPMaxExpires %d: want 0 or at least 10 (Kamailio's min_expires)", maxExp)
	}
	if err := checkInstalled(); err != nil {
		return nil, fmt.Errorf("testbed: %w (%s)", err, InstallHint)
	}
	as, err := prosodyAccount()
	if err != nil {
		return nil, err
	}
	b := &Bed{
		Domain: "example.test", Domain2: "biloxi.test", NoTLSDomain: "notls.test",
		MUCDomain: "conference.example.test", SIPDigestAlgorithm: alg, SIPMaxExpires: maxExp,
	}
	if err := b.makeDir(dir, as); err != nil {
		if b.ownsDir {
			_ = os.RemoveAll(b.Dir)
		}
		return nil, err
	}
	if err := b.start(as); err != nil {
		_ = b.stop(true)
		return nil, fmt.Errorf("testbed: %w\n(files kept in %s)", err, b.Dir)
	}
	b.started = time.Now()
	return b, nil
}

func (b *Bed) makeDir(dir string, as runAs) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "cusax-testbed-")
		if err != nil {
			return err
		}
		dir, b.ownsDir = d, true
		b.Dir = d
	} else {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		dir = abs
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// Left over from an earlier bed in the same dir: its accounts would clash.
		for _, sub := range []string{"prosody", "kamailio"} {
			if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
				return err
			}
		}
	}
	b.Dir = dir
	// MkdirTemp makes 0700; Prosody, running as its own user, must traverse it.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if as.cred != nil {
		for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
				return fmt.Errorf("testbed: %s is not traversable by user %s (chmod o+x it or use another dir)", d, prosodyUser)
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return nil
}

// start does the work of StartWithDir once b.Dir exists. The two servers start concurrently.
func (b *Bed) start(as runAs) error {
	mainCA, err := newCA("test")
	if err != nil {
		return err
	}
	otherCA, err := newCA("other")
	if err != nil {
		return err
	}
	b.CAFile = filepath.Join(b.Dir, "ca.pem")
	b.OtherCAFile = filepath.Join(b.Dir, "other-ca.pem")
	if err := os.WriteFile(b.CAFile, mainCA.certPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(b.OtherCAFile, otherCA.certPEM, 0o644); err != nil {
		return err
	}
	b.CAPool = x509.NewCertPool()
	b.CAPool.AddCert(mainCA.cert)
	b.ca = mainCA

	xmppCert, err := mainCA.issue([]string{b.Domain, b.MUCDomain, b.Domain2, "conference." + b.Domain2}, nil)
	if err != nil {
		return err
	}
	sipCert, err := mainCA.issue([]string{b.Domain}, []string{"sip:" + b.Domain})
	if err != nil {
		return err
	}

	b.Users = map[string]User{}
	var xmppUsers, sipUsers []account
	for _, name := range []string{"alice", "bob", "carol", "dave", "eve"} {
		a := account{Name: name, Domain: b.userDomain(name), Password: randomPassword()}
		b.Users[name] = User{Name: name, Password: a.Password}
		xmppUsers = append(xmppUsers, a)
		if a.Domain == b.Domain {
			sipUsers = append(sipUsers, a)
		}
	}

	deadline := time.Now().Add(readyTimeout)
	var wg sync.WaitGroup
	var perr, kerr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		perr = b.startProsody(as, xmppCert, xmppUsers, deadline)
	}()
	go func() {
		defer wg.Done()
		kerr = b.startKamailio(sipCert, sipUsers, deadline)
	}()
	wg.Wait()
	return errors.Join(perr, kerr)
}

func (b *Bed) startProsody(as runAs, cert *leaf, users []account, deadline time.Time) error {
	files := newProsodyFiles(filepath.Join(b.Dir, "prosody"))
	for attempt := 0; ; attempt++ {
		ports, err := pickTCPPorts(2)
		if err != nil {
			return err
		}
		cfg := prosodyConfig{
			F: files, C2SPort: ports[0], DirectTLSPort: ports[1],
			Domain: b.Domain, Domain2: b.Domain2, NoTLSDomain: b.NoTLSDomain,
			MUC: b.MUCDomain, MUC2: "conference." + b.Domain2,
		}
		if err := writeProsodyConfig(cfg, cert, as); err != nil {
			return fmt.Errorf("prosody config: %w", err)
		}
		var regErr chan error
		if attempt == 0 {
			// Accounts are files in data_path that Prosody reads at login, not at start-up:
			// creating them while Prosody starts saves a few hundred ms.
			regErr = make(chan error, 1)
			go func() { regErr <- registerProsodyUsers(files, as, users) }()
		}
		inst, err := startProsody(cfg, as, b.CAPool, deadline)
		if regErr != nil {
			if rerr := <-regErr; rerr != nil {
				if inst != nil {
					_ = inst.proc.stop()
				}
				return rerr
			}
		}
		if errors.Is(err, errBind) && attempt == 0 {
			// Someone took a port between our probe and Prosody's bind. Keep that attempt's
			// logs aside: the bind error in them must not fail the next attempt.
			setAside(files.Log, files.ErrLog, files.Stdout)
			continue
		}
		if err != nil {
			return err
		}
		b.prosody = inst
		b.XMPPAddr = loopback(cfg.C2SPort)
		b.XMPPDirectTLSAddr = loopback(cfg.DirectTLSPort)
		return nil
	}
}

func (b *Bed) startKamailio(cert *leaf, users []account, deadline time.Time) error {
	files := newKamailioFiles(filepath.Join(b.Dir, "kamailio"))
	for attempt := 0; ; attempt++ {
		tcp, err := pickTCPPorts(2)
		if err != nil {
			return err
		}
		udp, err := freeUDPPort()
		if err != nil {
			return err
		}
		cfg := kamailioConfig{
			F: files, ModulePath: kamailioModulePath(), Domain: b.Domain,
			UDPPort: udp, TCPPort: tcp[0], TLSPort: tcp[1],
			Algorithm: b.SIPDigestAlgorithm, Users: users,
			RPC: rpcUsable(files), MaxExpires: b.SIPMaxExpires,
		}
		if err := writeKamailioConfig(cfg, cert); err != nil {
			return fmt.Errorf("kamailio config: %w", err)
		}
		if attempt == 0 {
			if err := checkKamailioConfig(files); err != nil {
				return err
			}
		}
		inst, err := startKamailio(cfg, b.CAPool, deadline)
		if errors.Is(err, errBind) && attempt == 0 {
			setAside(files.Log)
			continue
		}
		if err != nil {
			return err
		}
		inst.cert = cert
		b.kamailio = inst
		b.SIPUDPAddr = loopback(cfg.UDPPort)
		b.SIPTCPAddr = loopback(cfg.TCPPort)
		b.SIPTLSAddr = loopback(cfg.TLSPort)
		return nil
	}
}

// setAside renames the logs of a failed attempt to *.attempt1.
func setAside(files ...string) {
	for _, f := range files {
		_ = os.Rename(f, f+".attempt1")
	}
}

// Stop stops both servers (SIGTERM, then SIGKILL after 5 s) and removes the directory if
// StartWithDir created it. It is safe to call more than once.
func (b *Bed) Stop() error { return b.stop(false) }

// stop stops the servers; keep leaves the directory in place for a post-mortem.
func (b *Bed) stop(keep bool) error {
	b.stopOnce.Do(func() {
		if !b.started.IsZero() {
			b.appendRunLog(b.started)
		}
		var wg sync.WaitGroup
		var perr, kerr error
		if b.prosody != nil {
			wg.Add(1)
			go func() { defer wg.Done(); perr = b.prosody.proc.stop() }()
		}
		if b.kamailio != nil {
			wg.Add(1)
			go func() { defer wg.Done(); kerr = b.kamailio.proc.stop() }()
		}
		wg.Wait()
		b.stopErr = errors.Join(perr, kerr)
		if b.ownsDir && !keep {
			b.stopErr = errors.Join(b.stopErr, os.RemoveAll(b.Dir))
		}
	})
	return b.stopErr
}

// randomPassword is 128 random bits in URL-safe base64: nothing in it needs quoting in Lua,
// Kamailio's config or a shell.
func randomPassword() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// clientTLS is a verifying client config for a server of the bed.
func clientTLS(pool *x509.CertPool, serverName string, alpn ...string) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: serverName, NextProtos: alpn, MinVersion: tls.VersionTLS12}
}

// waitReady polls probe until it succeeds, the process exits, or the deadline passes.
func waitReady(p *process, deadline time.Time, probe func(context.Context) error) error {
	var last error
	for {
		if ok, err := p.exited(); ok {
			return fmt.Errorf("%s exited during start-up: %v", p.name, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		last = probe(ctx)
		cancel()
		if last == nil {
			return nil
		}
		if errors.Is(last, errBind) {
			return last
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w", p.name, readyTimeout, last)
		}
		time.Sleep(25 * time.Millisecond)
	}
}
