package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// policyPluginDir builds the toll guard and the misbehaving test policy,
// each as its own executable, into a fresh plugin directory.
func policyPluginDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, pkg := range map[string]string{
		"cusax-plugin-policy-tollguard": "github.com/cusax/cusax/plugins/tollguard/cmd/cusax-plugin-policy-tollguard",
		"cusax-plugin-policy-bad":       "github.com/cusax/cusax/internal/testplugins/badpolicy",
	} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, b)
		}
	}
	return dir
}

// setPolicies rewrites the caller's config: the account's policy list,
// the [policies.NAME] tables and [plugins] decision_timeout; and clears
// calls.cost_allow (setCostAllow sets it).
func setPolicies(t *testing.T, home string, chain []string, settings map[string]map[string]string, timeout string) {
	setConfig(t, home, func(c *config.Config) {
		c.Accounts[0].Policy = chain
		c.Policies = settings
		c.Plugins.DecisionTimeout = timeout
		c.Calls.CostAllow = nil
	})
}

func setConfig(t *testing.T, home string, change func(*config.Config)) {
	t.Helper()
	path := filepath.Join(home, "cusax", "config.toml")
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	change(c)
	if err := config.Save(path, c); err != nil {
		t.Fatal(err)
	}
}

type chainStep struct {
	Policy    string  `json:"policy"`
	Verdict   string  `json:"verdict"`
	Reason    string  `json:"reason"`
	ElapsedMS float64 `json:"elapsed_ms"`
}

type chainPlan struct {
	URI  string `json:"uri"`
	Cost struct {
		Verdict, Reason, Policy string
		Chain                   []chainStep `json:"chain"`
	} `json:"cost_decision"`
	Account struct {
		Policy string
		Chain  []chainStep `json:"chain"`
	} `json:"account_decision"`
}

func trail(steps []chainStep) string {
	var s []string
	for _, st := range steps {
		s = append(s, st.Policy+" "+st.Verdict)
	}
	return strings.Join(s, ", ")
}

// pluginProcesses counts running processes started from dir (Linux).
func pluginProcesses(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err == nil && strings.HasPrefix(string(b), dir+"/") {
			n++
		}
	}
	return n
}

// TestCallPolicyChain: the toll guard, an external plugin found in a
// plugin directory and chained after the default policy, refuses a
// premium-rate call the default allowed (RFC 7081 §5), and lets an
// ordinary SIP call through to a real callee behind Kamailio. A policy
// that crashes or hangs mid-decision fails the call with exit code 6 and
// one clear line, within the decision timeout, and leaves no process.
func TestCallPolicyChain(t *testing.T) {
	bed := testbed.Shared(t)
	dir := policyPluginDir(t)
	c := newCaller(t, bed, "guarded", "")
	call := func(args ...string) cliResult {
		t.Helper()
		return runCLI(t, c.home, "", append([]string{"--plugin-dir", dir, "call"}, args...)...)
	}
	n := phonenumbers.GetExampleNumberForType("DE", phonenumbers.PREMIUM_RATE)
	premium := phonenumbers.Format(n, phonenumbers.E164) // +499001234567
	guard := func(action string) map[string]map[string]string {
		return map[string]map[string]string{"tollguard": {"premium_rate": action, "region": "DE"}}
	}

	t.Run("premium-rate refused after the default allowed it", func(t *testing.T) {
		setPolicies(t, c.home, []string{"tollguard"}, guard("deny"), "")
		var p chainPlan
		r := call(premium, "--yes", "--dry-run", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
			t.Fatalf("plan: exit %d, %v\n%s", r.code, err, r.stdout)
		}
		if got := trail(p.Cost.Chain); got != "default allow, tollguard deny" || p.Cost.Verdict != "deny" || p.Cost.Policy != "tollguard" {
			t.Errorf("cost decision %+v, trail %q", p.Cost, got)
		}
		want := `tollguard: +49 900 1 234567 is a premium-rate number (DE); premium_rate = "deny"`
		if p.Cost.Reason != want {
			t.Errorf("reason %q, want %q", p.Cost.Reason, want)
		}
		if got := trail(p.Account.Chain); got != "default allow, tollguard abstain" || p.Account.Policy != "default" {
			t.Errorf("account trail %q by %s", got, p.Account.Policy)
		}

		r = call(premium, "--yes", "--debug")
		if r.code != cmdutil.ExitDenied || r.stdout != "" {
			t.Fatalf("exit %d (want %d), stdout %q", r.code, cmdutil.ExitDenied, r.stdout)
		}
		for _, line := range []string{
			"cusax: policy default: ApproveCost allow (calling a phone number may cost money (RFC 7081 §5); confirmed with --yes) ",
			"cusax: policy tollguard: ApproveCost deny (" + want + ") ",
			"cusax: error: " + want + " (policy tollguard): denied by policy",
		} {
			if !strings.Contains(r.stderr, line) {
				t.Errorf("stderr lacks %q", line)
			}
		}
		// Kamailio logs every request it receives (xlog "$rm $ru from …"):
		// the refused call never reached it, and the same call with the
		// guard set to allow does (404: no such user).
		if n := invitesFor(t, bed, premium); n != 0 {
			t.Errorf("Kamailio received %d INVITE(s) for the refused number", n)
		}
		setPolicies(t, c.home, []string{"tollguard"}, guard("allow"), "")
		r = call(premium, "--yes", "--json")
		if o := decodeOutcome(t, r); r.code != cmdutil.ExitNotFound || o.StatusCode != 404 {
			t.Errorf("guard allows: exit %d, outcome %+v", r.code, o)
		}
		if n := invitesFor(t, bed, premium); n == 0 { // 2: challenged (407), then sent with credentials
			t.Error("Kamailio received no INVITE for the allowed call")
		}
	})

	t.Run("international asks: refused off a terminal with the --yes hint", func(t *testing.T) {
		setPolicies(t, c.home, []string{"tollguard"}, guard("deny"), "")
		// The default allows it without --yes (allow-listed), the guard asks.
		setConfig(t, c.home, func(c *config.Config) { c.Calls.CostAllow = []string{"tel:+44*"} })
		london := phonenumbers.Format(phonenumbers.GetExampleNumberForType("GB", phonenumbers.FIXED_LINE), phonenumbers.E164)
		r := call(london)
		if r.code != cmdutil.ExitDenied || !strings.Contains(r.stderr, "is an international number (GB, home region DE)") ||
			!strings.Contains(r.stderr, "cusax: hint: add --yes to allow it") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})

	t.Run("an ordinary SIP call goes through the chain", func(t *testing.T) {
		setPolicies(t, c.home, []string{"tollguard"}, guard("deny"), "")
		callee := calleeUser(t, bed, "calleeguarded")
		uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 486})
		r := call("sip:"+callee+"@"+bed.Domain, "--json", "--debug")
		if _, err := uas.Wait(15 * time.Second); err != nil {
			t.Errorf("callee: %v", err)
		}
		if o := decodeOutcome(t, r); r.code != cmdutil.ExitBusy || o.StatusCode != 486 {
			t.Errorf("exit %d, outcome %+v", r.code, o)
		}
		if !strings.Contains(r.stderr, "cusax: policy tollguard: ApproveCost abstain (tollguard: not a phone number) ") {
			t.Errorf("no abstain line from the guard in stderr")
		}
	})

	broken := []struct {
		name, mode, timeout, want string
	}{
		{"crashes", "crash", "", `cusax: error: policy "bad" stopped mid-decision (plugin process exited: exit status 2); the call was not placed` + "\n"},
		{"hangs", "hang", "3s", `cusax: error: policy "bad" did not decide within 3s (ApproveCost); the call was not placed` + "\n"},
	}
	for _, tt := range broken {
		t.Run("a policy that "+tt.name+" mid-decision", func(t *testing.T) {
			settings := guard("deny")
			settings["bad"] = map[string]string{"approve_cost": tt.mode}
			setPolicies(t, c.home, []string{"tollguard", "bad"}, settings, tt.timeout)
			start := time.Now()
			r := call("sip:nobody@" + bed.Domain)
			elapsed := time.Since(start)
			t.Logf("%s: returned after %s", tt.name, elapsed)
			if r.code != cmdutil.ExitPlugin || r.stderr != tt.want {
				t.Errorf("exit %d (want %d), stderr %q, want %q", r.code, cmdutil.ExitPlugin, r.stderr, tt.want)
			}
			if elapsed > 30*time.Second {
				t.Errorf("took %s: a broken policy must not hang the CLI", elapsed)
			}
			if n := pluginProcesses(t, dir); n != 0 {
				t.Errorf("%d plugin processes left running", n)
			}
		})
	}

	t.Run("settings the guard rejects", func(t *testing.T) {
		setPolicies(t, c.home, []string{"tollguard"}, map[string]map[string]string{"tollguard": {"premium_rate": "maybe"}}, "")
		r := call(premium, "--yes")
		want := `cusax: error: plugin policy/tollguard did not start: tollguard: setting premium_rate = "maybe": want "deny", "ask" or "allow"` + "\n"
		if r.code != cmdutil.ExitPlugin || r.stderr != want {
			t.Errorf("exit %d, stderr %q, want one line with %q", r.code, r.stderr, want)
		}
	})
}

// Each policy gets its own table and nothing else does.
func TestPolicySettingsEnv(t *testing.T) {
	env := policySettingsEnv(map[string]map[string]string{"tollguard": {"region": "DE"}})
	for _, tt := range []struct {
		kind protocol.Kind
		name string
		want string
	}{
		{protocol.KindPolicy, "tollguard", `CUSAX_POLICY_SETTINGS={"region":"DE"}`},
		{protocol.KindPolicy, "example", ""},
		{protocol.KindIMPP, "tollguard", ""},
	} {
		got, err := env(tt.kind, tt.name)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("%s/%s: %q %v, want %q", tt.kind, tt.name, got, err, tt.want)
		}
	}
}

// invitesFor counts the INVITEs Kamailio received for number, from its
// per-request log line ("INVITE sip:+49…@example.test;user=phone from …").
func invitesFor(t *testing.T, bed *testbed.Bed, number string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bed.Dir, "kamailio", "kamailio.log"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "INVITE sip:"+number+"@")
}
