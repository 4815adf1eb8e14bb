package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil/cmdtest"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/addressbook"
)

// TestSameDomainAcrossCommands (issue 14): with the account's JID and AOR
// spelling the bed's domain in upper case, call, roster and whois-caller
// judge the same contacts the same way against the real roster and vCards:
// carol (example.test, a number) is on the account's domain, dave
// (biloxi.test, a number) is not (RFC 7081 §5). The IDN forms of the same
// question are unit tests of the three call sites (TestVerdictDomainForms,
// TestDerive, TestHintLookupDomainForms) and of pkg/address: the bed has
// no IDN domain.
func TestSameDomainAcrossCommands(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "casey", "")
	cfgPath := filepath.Join(c.home, "cusax", "config.toml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	upper := strings.ReplaceAll(string(cfg), "casey@"+bed.Domain+"'", "casey@"+strings.ToUpper(bed.Domain)+"'")
	if strings.Count(upper, "casey@"+strings.ToUpper(bed.Domain)) < 2 {
		t.Fatalf("no jid and aor to rewrite in\n%s", cfg)
	}
	if err := os.WriteFile(cfgPath, []byte(upper), 0o600); err != nil {
		t.Fatal(err)
	}
	same := map[string]bool{"carol": true, "dave": false}

	t.Run("call --dry-run", func(t *testing.T) {
		for name, local := range same {
			p := decodePlan(t, c.call(t, name, "--dry-run", "--json"))
			if p.InterDomain == local || !p.PSTN || p.Via != "lab" {
				t.Errorf("%s: inter_domain %v pstn %v via %q, want inter_domain %v (plan %+v)", name, p.InterDomain, p.PSTN, p.Via, !local, p)
			}
		}
	})
	t.Run("roster", func(t *testing.T) {
		r := runCLI(t, c.home, "", "roster", "--json")
		if r.code != 0 {
			t.Fatalf("roster: exit %d: %s", r.code, r.stderr)
		}
		var list []addressbook.Contact
		if err := cmdtest.UnmarshalList(r.stdout, "contacts", &list); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		seen := 0
		for _, ct := range list {
			local, ok := same[strings.Split(ct.JID, "@")[0]]
			if !ok {
				continue
			}
			seen++
			if ct.InterDomain == local || !ct.PSTN {
				t.Errorf("%s: inter_domain %v pstn %v, want inter_domain %v", ct.JID, ct.InterDomain, ct.PSTN, !local)
			}
		}
		if seen != len(same) {
			t.Errorf("%d of %d contacts in the roster output:\n%s", seen, len(same), r.stdout)
		}
	})
	t.Run("whois-caller", func(t *testing.T) {
		for _, tc := range []struct{ from, hint, jid string }{
			{"<sip:+15550100@" + strings.ToUpper(bed.Domain) + ";user=phone>", "carol@" + strings.ToUpper(bed.Domain), "carol@" + bed.Domain},
			{"<sip:+442079460000@" + strings.ToUpper(bed.Domain) + ";user=phone>", "dave@" + strings.ToUpper(bed.Domain2) + ".", "dave@" + bed.Domain2},
		} {
			r := runCLI(t, c.home, invite(tc.from, "Call-Info: <xmpp:"+tc.hint+">;purpose=impp"), "whois-caller", "--json")
			var v verdictJSON
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &v) != nil {
				t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
			}
			if v.Verdict != "verified" || v.JID != tc.jid {
				t.Errorf("hint %s: %+v, want verified %s", tc.hint, v, tc.jid)
			}
		}
	})
}
