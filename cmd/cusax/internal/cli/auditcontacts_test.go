package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/jsoncheck"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditreport/reporttest"
	"github.com/cusax/cusax/pkg/core/contactaudit"
)

// kamailioLog returns the bed's Kamailio log and a function giving what
// was written to it since.
func kamailioLog(t *testing.T, bed *testbed.Bed) func() string {
	t.Helper()
	files := bed.LogFiles()
	path := files[len(files)-1]
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return func() string {
		now, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(now[len(before):])
	}
}

// callIDs returns the distinct Call-IDs of Kamailio's request log lines
// ("{1 2 OPTIONS CALLID} <script>: OPTIONS sip:…") that contain what.
func callIDs(log, what string) map[string]bool {
	ids := map[string]bool{}
	re := regexp.MustCompile(`\{\d+ \d+ \S+ (\S+)\} <script>: `)
	for _, line := range strings.Split(log, "\n") {
		if m := re.FindStringSubmatch(line); m != nil && strings.Contains(line, what) {
			ids[m[1]] = true
		}
	}
	return ids
}

func vcard4(tels ...string) string {
	var b strings.Builder
	b.WriteString(`<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>x</text></fn>`)
	for _, t := range tels {
		types, uri, _ := strings.Cut(t, "|")
		b.WriteString(`<tel><parameters><type>`)
		for ty := range strings.SplitSeq(types, ",") {
			b.WriteString(`<text>` + ty + `</text>`)
		}
		b.WriteString(`</type></parameters><uri>` + uri + `</uri></tel>`)
	}
	b.WriteString(`</vcard>`)
	return b.String()
}

// audit-contacts against the real bed: Prosody holds the rosters and
// vCards, Kamailio answers the OPTIONS (404 for a user it does not know,
// 480 for one not registered, a registered baresip answers itself with
// its SDP). One account's own vCard lacks its AOR. Every finding is what
// the servers made it, the exit codes are the documented ones, and
// Kamailio saw OPTIONS only: no INVITE.
func TestAuditContactsBed(t *testing.T) {
	bed := testbed.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d := bed.Domain
	users, err := bed.AddUsers(ctx, d, "acaud", "acgood", "acok", "acghost", "acvid", "acnovc", "acphone")
	if err != nil {
		t.Fatal(err)
	}
	// acaud and acok share presence, so acaud may read acok's XEP-0152
	// addresses (published with access model "presence").
	contacts := []testbed.Contact{{JID: "acok@" + d, Mutual: true}, {JID: "acghost@" + d}, {JID: "acvid@" + d}, {JID: "acnovc@" + d}, {JID: "acphone@" + d}}
	err = bed.Seed(ctx, testbed.Seed{
		Rosters: map[string][]testbed.Contact{"acaud": contacts, "acgood": {{JID: "acok@" + d}}},
		VCard4: map[string]string{
			"acaud":   vcard4("voice|sip:someone-else@" + d), // not its own AOR
			"acgood":  vcard4("voice|sip:acgood@" + d),       // its own AOR
			"acok":    vcard4("voice|sip:acok@" + d),         // known, not registered: 480
			"acghost": vcard4("voice|sip:acghost-gone@" + d), // unknown to Kamailio: 404
			"acvid":   vcard4("voice,video|sip:acvid@" + d),  // baresip answers: audio only
			"acphone": vcard4("cell|tel:+1-555-0199"),        // no SIP URI
		},
	})
	if err != nil {
		t.Fatalf("seed: %v\n%s", err, bed.Logs())
	}
	// acok advertises an address its vCard does not list. Published once
	// the subscription is mutual: seen here, Prosody 0.12 did not let
	// acaud read an address (access model "presence") published in the
	// same Seed as the subscription, before it became mutual.
	if err := bed.Seed(ctx, testbed.Seed{Reach: map[string][]string{"acok": {"sip:acok@" + d, "sip:acok-elsewhere@" + d}}}); err != nil {
		t.Fatalf("seed reach: %v", err)
	}
	bed.StartBaresip(t, testbed.BaresipOptions{User: "acvid"})
	home := t.TempDir()
	for _, n := range []string{"acaud", "acgood"} {
		r := runCLI(t, home, users[n].Password+"\n", "login", "--name", n, "--jid", n+"@"+d, "--xmpp-server", bed.XMPPAddr,
			"--aor", "sip:"+n+"@"+d, "--sip-proxy", tlsProxy(bed), "--ca-file", bed.CAFile, "--password-stdin")
		if r.code != 0 {
			t.Fatalf("login %s: exit %d", n, r.code)
		}
	}
	since := kamailioLog(t, bed)

	r := runCLI(t, home, "", "audit-contacts", "--all", "--json", "--rate", "50")
	jsoncheck.Validate(t, r.stdout)
	var rep audit.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Schema != contactaudit.Schema {
		t.Errorf("schema %q", rep.Schema)
	}
	// The unknown SIP URI is a high failure: CRITICAL under the defaults.
	if r.code != audit.ExitCritical || rep.Summary.ExitCode != audit.ExitCritical {
		t.Errorf("exit %d (report says %d), want %d", r.code, rep.Summary.ExitCode, audit.ExitCritical)
	}
	got := map[string]audit.Finding{}
	for _, f := range rep.Findings {
		got[f.Account+" "+f.ID+" "+f.Endpoint] = f
	}
	for _, w := range []struct {
		key      string
		status   audit.Status
		evidence string
	}{
		{"acaud contacts.own-aor ", audit.Fail, "sip:someone-else@" + d},
		{"acgood contacts.own-aor ", audit.Pass, "sip:acgood@" + d},
		{"acaud contacts.sip-uri acok@" + d, audit.Pass, "sip:acok@" + d},
		{"acaud contacts.sip-known acok@" + d, audit.Pass, "480"},
		{"acaud contacts.sip-known acghost@" + d, audit.Fail, "404"},
		{"acaud contacts.sip-known acvid@" + d, audit.Pass, "200"},
		{"acaud contacts.video acvid@" + d, audit.Fail, "offers audio only"},
		{"acaud contacts.video acok@" + d, audit.Skipped, "carried an SDP"},
		{"acaud contacts.vcard acnovc@" + d, audit.Fail, "no vCard"},
		{"acaud contacts.sip-uri acphone@" + d, audit.Fail, "tel:+15550199"},
		{"acgood contacts.sip-known acok@" + d, audit.Pass, "480"},
		{"acaud contacts.reach acok@" + d, audit.Fail, "sip:acok-elsewhere@" + d},
		{"acgood contacts.reach acok@" + d, audit.Skipped, "no XEP-0152"},
	} {
		f, ok := got[w.key]
		if !ok {
			t.Errorf("no finding %q", w.key)
			continue
		}
		if f.Status != w.status || !strings.Contains(f.Evidence, w.evidence) {
			t.Errorf("%s: %s %q, want %s with %q", w.key, f.Status, f.Evidence, w.status, w.evidence)
		}
	}

	// Kamailio: OPTIONS for the contacts, never an INVITE. acok is asked
	// once for both accounts (same proxy): one transaction (one Call-ID;
	// Kamailio logs the request and its digest-authenticated retry).
	log := since()
	if n := len(callIDs(log, "OPTIONS sip:acok@"+d)); n != 1 {
		t.Errorf("%d OPTIONS transactions for acok (want 1, shared by both accounts):\n%s", n, log)
	}
	for _, u := range []string{"acghost-gone", "acvid"} {
		if !strings.Contains(log, "OPTIONS sip:"+u+"@"+d) {
			t.Errorf("Kamailio saw no OPTIONS for %s", u)
		}
	}
	// OPTIONS only: every request Kamailio logged during the audit (its
	// request route logs "<script>: METHOD URI from …") is an OPTIONS; no
	// INVITE, no REGISTER.
	for _, m := range regexp.MustCompile(`<script>: (\S+) sip:`).FindAllStringSubmatch(log, -1) {
		if m[1] != "OPTIONS" {
			t.Errorf("Kamailio saw a %s during the audit:\n%s", m[1], log)
		}
	}

	// The thresholds move the exit code: warn-on high, fail-on critical
	// makes the same findings a WARNING; one account with no unknown SIP
	// URI is OK.
	if r2 := runCLI(t, home, "", "audit-contacts", "--all", "--warn-on", "high", "--fail-on", "critical", "--format", "ndjson"); r2.code != audit.ExitWarning {
		t.Errorf("warn-on high, fail-on critical: exit %d, want 1", r2.code)
	} else {
		for _, line := range bytes.Split(bytes.TrimSpace([]byte(r2.stdout)), []byte("\n")) {
			if !bytes.HasPrefix(line, []byte(`{"schema":"cusax.audit-contacts/v1",`)) {
				t.Errorf("ndjson line without the schema first: %s", line)
			}
		}
		jsoncheck.Validate(t, r2.stdout)
	}
	// --jq on the report: the contacts with a failed check, raw strings.
	r4 := runCLI(t, home, "", "audit-contacts", "acaud", "--jq", `[.findings[] | select(.status=="fail" and .endpoint) | .endpoint] | unique | .[]`)
	if want := "acghost@" + d + "\nacnovc@" + d + "\nacok@" + d + "\nacphone@" + d + "\nacvid@" + d + "\n"; r4.stdout != want {
		t.Errorf("--jq failed endpoints (exit %d):\n%q\nwant\n%q", r4.code, r4.stdout, want)
	}
	r3 := runCLI(t, home, "", "audit-contacts", "acgood", "--header")
	if r3.code != audit.ExitOK || !strings.Contains(r3.stdout, "account\tcontacts\tpassed\tfailed\terrored\tskipped\tworst\n") ||
		!regexp.MustCompile(`(?m)^acgood\t1\t\d+\t0\t0\t\d+\t-$`).MatchString(r3.stdout) {
		t.Errorf("acgood alone: exit %d, summary table:\n%s", r3.code, r3.stdout)
	}
	// Text: failures worst first with evidence, ref and fix; the summary row.
	r5 := runCLI(t, home, "", "audit-contacts", "acaud")
	t.Logf("text report:\n%s", r5.stdout)
	for _, want := range []string{
		"HIGH     contacts.sip-known  contact's SIP URI is unknown to the SIP service  [telephony acghost@" + d + "]",
		"evidence: OPTIONS sip:acghost-gone@" + d + ": 404 Not Found (unknown user)",
		"MEDIUM   contacts.own-aor  own vCard does not list the account's own SIP AOR  [cusax]",
		"\nacaud\t5\t",
	} {
		if !strings.Contains(r5.stdout, want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	// The operators' formats of audit-tls (pkg/core/auditreport): the
	// metrics pass promtool, the page has the account's row and the
	// unknown SIP URI's finding; same exit code as --json.
	om := runCLI(t, home, "", "audit-contacts", "acaud", "--format", "openmetrics")
	if om.code != audit.ExitCritical || !strings.Contains(om.stdout, `check="contacts.sip-known"`) || !strings.Contains(om.stdout, `command="audit-contacts"`) {
		t.Errorf("openmetrics: exit %d\n%s", om.code, om.stdout)
	}
	reporttest.CheckMetrics(t, om.stdout)
	page := runCLI(t, home, "", "audit-contacts", "acaud", "--format", "html")
	if page.code != audit.ExitCritical || !strings.Contains(page.stdout, "acghost-gone@"+d) {
		t.Errorf("html: exit %d", page.code)
	}
	reporttest.RenderDOM(t, []byte(page.stdout))
	// Bad input: UNKNOWN (3), never read as CRITICAL by a monitor.
	for _, args := range [][]string{{"--rate", "0"}, {"--format", "xml"}, {"nosuchaccount"}, {"--all", "acgood"}} {
		if r := runCLI(t, home, "", append([]string{"audit-contacts"}, args...)...); r.code != audit.ExitUnknown {
			t.Errorf("audit-contacts %v: exit %d, want 3", args, r.code)
		}
	}
}
