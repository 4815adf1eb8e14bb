package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditreport/reporttest"
	"github.com/cusax/cusax/pkg/core/config"
)

// A batch of two accounts against the test bed (SIP over TLS, and SIP over
// UDP), audited three times: --json, --format openmetrics --output and
// --format html --output. promtool accepts the metrics file; headless
// Chromium renders the page; both carry every failed check of the JSON
// report, and the exit code is the same whatever the format.
func TestAuditTLSFormatsBatch(t *testing.T) {
	bed := testbed.Shared(t)
	home := t.TempDir()
	cfg := &config.Config{Default: "tls", Accounts: []config.Account{
		{Name: "tls", Related: true, CAFile: bed.CAFile,
			XMPP: &config.XMPPAspect{JID: "alice@" + bed.Domain, Server: bed.XMPPAddr},
			SIP:  &config.SIPAspect{AOR: "sip:alice@" + bed.Domain, Proxy: tlsProxy(bed)}},
		{Name: "udp", Related: true, CAFile: bed.CAFile,
			XMPP: &config.XMPPAspect{JID: "bob@" + bed.Domain, Server: bed.XMPPAddr},
			SIP:  &config.SIPAspect{AOR: "sip:bob@" + bed.Domain, Proxy: "sip:" + bed.SIPUDPAddr + ";transport=udp"}},
	}}
	if err := config.Save(filepath.Join(home, "cusax", "config.toml"), cfg); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	metrics, page := filepath.Join(out, "cusax_audit_tls.prom"), filepath.Join(out, "report.html")

	rep := decodeAudit(t, runCLI(t, home, "", "audit-tls", "--all", "--json", "--no-state"))
	rm := runCLI(t, home, "", "audit-tls", "--all", "--format", "openmetrics", "--output", metrics, "--no-state")
	rh := runCLI(t, home, "", "audit-tls", "--all", "--format", "html", "--output", page, "--no-state")
	if rm.code != rep.Summary.ExitCode || rh.code != rep.Summary.ExitCode || rm.stdout != "" || rh.stdout != "" {
		t.Errorf("exit %d (openmetrics), %d (html), want %d as --json; stdout %q %q", rm.code, rh.code, rep.Summary.ExitCode, rm.stdout, rh.stdout)
	}
	var failedKeys []string
	for _, f := range rep.Findings {
		if f.Status == audit.Fail {
			failedKeys = append(failedKeys, f.Account+" "+f.ID)
		}
	}
	if !slices.Contains(failedKeys, "udp "+audit.CheckCUSAXEnc) {
		t.Fatalf("the UDP account lacks its critical cusax.encryption failure: %v", failedKeys)
	}

	// Metrics: Prometheus's parser, and one series at 1 per failed check.
	b, err := os.ReadFile(metrics)
	if err != nil {
		t.Fatal(err)
	}
	reporttest.CheckMetrics(t, string(b))
	for _, f := range rep.Findings {
		if f.Status != audit.Fail {
			continue
		}
		want := fmt.Sprintf(`target=%q,aspect=%q,`, f.Account, f.Aspect)
		found := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "cusax_audit_check_failed{") && strings.Contains(line, want) &&
				strings.Contains(line, fmt.Sprintf(`check=%q,severity=%q} 1`, f.ID, f.Severity)) {
				found = true
			}
		}
		if !found {
			t.Errorf("no failed series for %s %s %s", f.Account, f.Aspect, f.ID)
		}
	}
	for _, want := range []string{
		`cusax_audit_certificate_not_after_timestamp_seconds{command="audit-tls",target="tls",aspect="chat",`,
		`cusax_audit_certificate_not_after_timestamp_seconds{command="audit-tls",target="tls",aspect="telephony",`,
		fmt.Sprintf("cusax_audit_exit_code{command=\"audit-tls\"} %d\n", rep.Summary.ExitCode),
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// The page, as Chromium built it: a summary row per account, a finding
	// row per failed check in the account's section, no script.
	b, err = os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	doc := reporttest.RenderDOM(t, b)
	var rows, found []string
	var walk func(n *html.Node, section string)
	walk = func(n *html.Node, section string) {
		if n.Type == html.ElementNode {
			if n.DataAtom == atom.Script {
				t.Errorf("script element in the page")
			}
			cls := attrOf(n, "class")
			switch {
			case n.DataAtom == atom.Section:
				section = attrOf(n, "data-target")
			case n.DataAtom == atom.Tr && cls == "target-row":
				rows = append(rows, strings.TrimSpace(nodeText(n.FirstChild)))
			case n.DataAtom == atom.Tr && cls == "finding" && attrOf(n, "data-status") == "fail":
				found = append(found, section+" "+attrOf(n, "data-check"))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, section)
		}
	}
	walk(doc, "")
	if !slices.Equal(rows, []string{"tls", "udp"}) {
		t.Errorf("summary rows %q, want tls and udp", rows)
	}
	slices.Sort(found)
	slices.Sort(failedKeys)
	if !slices.Equal(found, failedKeys) {
		t.Errorf("failed checks on the page %q, in the JSON report %q", found, failedKeys)
	}
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func nodeText(n *html.Node) string {
	if n == nil {
		return ""
	}
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(nodeText(c))
	}
	return b.String()
}
