package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
)

// BenchmarkAuditContacts100 (issue 20): `cusax audit-contacts --all` over
// 100 accounts of the bed (SIP over TLS + XMPP each), every roster the
// same 5 contacts (4 with a SIP URI Kamailio knows, 1 it does not), every
// own vCard listing its AOR. It reports the wall time of one run of the
// real binary and what the servers saw during it: Prosody's logins and
// IQs (its debug log), Kamailio's requests by method (its request log).
// Run with -benchtime=1x (make bench-audit-contacts); not part of make test.
func BenchmarkAuditContacts100(b *testing.B) {
	bed := testbed.Shared(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	d := bed.Domain
	const accounts, contacts = 100, 5
	stamp := fmt.Sprintf("%d", time.Now().UnixNano()%100000)
	var names, cnames []string
	for i := range accounts {
		names = append(names, fmt.Sprintf("acb%s-%03d", stamp, i))
	}
	for i := range contacts {
		cnames = append(cnames, fmt.Sprintf("acbc%s-%d", stamp, i))
	}
	users, err := bed.AddUsers(ctx, d, append(append([]string{}, names...), cnames...)...)
	if err != nil {
		b.Fatal(err)
	}
	seed := testbed.Seed{Rosters: map[string][]testbed.Contact{}, VCard4: map[string]string{}}
	var roster []testbed.Contact
	for i, c := range cnames {
		roster = append(roster, testbed.Contact{JID: c + "@" + d})
		uri := "sip:" + c + "@" + d
		if i == contacts-1 {
			uri = "sip:" + c + "-gone@" + d // unknown to Kamailio: 404
		}
		seed.VCard4[c] = vcard4("voice|" + uri)
	}
	for _, n := range names {
		seed.Rosters[n] = roster
		seed.VCard4[n] = vcard4("voice|sip:" + n + "@" + d)
	}
	sctx, scancel := context.WithTimeout(ctx, 3*time.Minute)
	defer scancel()
	if err := bed.Seed(sctx, seed); err != nil {
		b.Fatalf("seed: %v", err)
	}
	bin := cusaxBinary(b)
	home := b.TempDir()
	rt, err := os.MkdirTemp("", "rt-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(rt)
	env := append(os.Environ(), "CUSAX_CONFIG="+home+"/config.toml", "CUSAX_SECRETS=file", "XDG_CACHE_HOME="+home+"/cache",
		"XDG_DATA_HOME="+home+"/data", "XDG_STATE_HOME="+home+"/state", "XDG_RUNTIME_DIR="+rt, "CUSAX_PLUGIN_PATH=", "CUSAX_NO_AGENT=1")
	for _, n := range names {
		login := exec.Command(bin, "login", "--name", n, "--jid", n+"@"+d, "--xmpp-server", bed.XMPPAddr,
			"--aor", "sip:"+n+"@"+d, "--sip-proxy", tlsProxy(bed), "--ca-file", bed.CAFile, "--password-stdin")
		login.Env, login.Stdin = env, strings.NewReader(users[n].Password+"\n")
		if out, err := login.CombinedOutput(); err != nil {
			b.Fatalf("login %s: %v\n%s", n, err, out)
		}
	}
	prosodyLog := filepath.Join(bed.Dir, "prosody", "prosody.log")
	kamailioLog := filepath.Join(bed.Dir, "kamailio", "kamailio.log")
	var wall time.Duration
	var rep audit.Report
	var pro, kam string
	for b.Loop() {
		p0, k0 := fileSize(b, prosodyLog), fileSize(b, kamailioLog)
		cmd := exec.Command(bin, "audit-contacts", "--all", "--json", "--rate", "20", "--parallel", "8")
		cmd.Env = env
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		out, err := cmd.Output()
		wall = time.Since(start)
		if code := cmd.ProcessState.ExitCode(); code != audit.ExitCritical {
			b.Fatalf("audit-contacts: exit %d (%v), want 2 (the unknown contact)\n%s", code, err, stderr.String())
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			b.Fatal(err)
		}
		pro, kam = tail(b, prosodyLog, p0), tail(b, kamailioLog, k0)
	}
	logins := strings.Count(pro, "Authenticated as ")
	iqs := strings.Count(pro, "Received[c2s]: <iq")
	stanzas := strings.Count(pro, "Received[c2s]: ")
	options := strings.Count(kam, "<script>: OPTIONS ")
	invites := strings.Count(kam, "<script>: INVITE ")
	registers := strings.Count(kam, "<script>: REGISTER ")
	allSIP := strings.Count(kam, "<script>: ")
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(float64(logins), "xmpp-logins")
	b.ReportMetric(float64(iqs), "xmpp-iqs")
	b.ReportMetric(float64(options), "sip-options")
	b.ReportMetric(float64(invites), "sip-invites")
	fmt.Printf("audit-contacts --all: %d accounts x %d contacts in %s; %d findings (%d failed, %d errored), exit %d\n",
		accounts, contacts, wall.Round(10*time.Millisecond), len(rep.Findings), rep.Summary.Status[audit.Fail], rep.Summary.Status[audit.Error], rep.Summary.ExitCode)
	fmt.Printf("prosody: %d logins, %d c2s stanzas (%d IQs); kamailio: %d requests (%d OPTIONS incl. digest retries, %d REGISTER, %d INVITE)\n",
		logins, stanzas, iqs, allSIP, options, registers, invites)
}

func fileSize(tb testing.TB, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return st.Size()
}

func tail(tb testing.TB, path string, from int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b[from:])
}
