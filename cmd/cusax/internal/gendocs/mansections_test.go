package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
)

// cusax(1) has EXIT STATUS (every code of the exit-code table),
// ENVIRONMENT and FILES, before SEE ALSO; every other page points to it.
func TestManPageSections(t *testing.T) {
	dir := t.TempDir()
	if err := manPages(dir); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "cusax.1"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	pos := func(s string) int { return strings.Index(page, s) }
	if e, en, f, see := pos(".SH EXIT STATUS"), pos(".SH ENVIRONMENT"), pos(".SH FILES"), pos(".SH SEE ALSO"); e < 0 || en < e || f < en || see < f {
		t.Fatalf("sections out of order or missing: EXIT STATUS %d ENVIRONMENT %d FILES %d SEE ALSO %d", e, en, f, see)
	}
	codes := []int{cmdutil.ExitOK, cmdutil.ExitFailure, cmdutil.ExitUsage, cmdutil.ExitFindings, cmdutil.ExitAuth,
		cmdutil.ExitDenied, cmdutil.ExitPlugin, cmdutil.ExitNetwork, cmdutil.ExitTLS, cmdutil.ExitParity, cmdutil.ExitBusy,
		cmdutil.ExitDeclined, cmdutil.ExitNoAnswer, cmdutil.ExitNotFound, cmdutil.ExitMediaInsecure, cmdutil.ExitNoAgent,
		cmdutil.ExitAgentRunning, cmdutil.ExitUnsupported, cmdutil.ExitInterrupted, cmdutil.ExitBrokenPipe}
	exit := page[pos(".SH EXIT STATUS"):pos(".SH ENVIRONMENT")]
	for _, c := range codes {
		if !regexp.MustCompile(`(?m)^\\fB` + regexp.QuoteMeta(itoa(c)) + `\\fR$`).MatchString(exit) {
			t.Errorf("EXIT STATUS lacks code %d", c)
		}
	}
	for _, s := range []string{"CUSAX_CONFIG", "CUSAX_PLUGIN_PATH", "NO_COLOR", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"} {
		if !strings.Contains(page[pos(".SH ENVIRONMENT"):pos(".SH FILES")], s) {
			t.Errorf("ENVIRONMENT lacks %s", s)
		}
	}
	for _, s := range []string{"config.toml", "secrets.toml", "XDG_CACHE_HOME", "audit\\-state.json", "agent.sock", "lib/cusax/plugins"} {
		if !strings.Contains(page[pos(".SH FILES"):pos(".SH SEE ALSO")], s) {
			t.Errorf("FILES lacks %s", s)
		}
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) < 10 {
		t.Fatalf("only %d man pages", len(pages))
	}
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		for _, s := range []string{".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES"} {
			if !strings.Contains(string(b), s) {
				t.Errorf("%s lacks %s", filepath.Base(p), s)
			}
		}
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

// Every environment variable the code names (CUSAX_*, XDG_*, the colour
// ones) is in ENVIRONMENT: a new one cannot go undocumented.
func TestManEnvironmentCoversSource(t *testing.T) {
	documented := ""
	for _, e := range envVars {
		documented += " " + e.name + ","
	}
	name := regexp.MustCompile(`"((?:CUSAX|XDG)_[A-Z_]+|NO_COLOR|CLICOLOR_FORCE)[="]`)
	root := filepath.Join("..", "..", "..", "..")
	seen := map[string]string{}
	for _, top := range []string{"cmd", "pkg", "plugins"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			// Test helpers outside _test.go files (fakes, test beds) are not cusax's interface.
			if strings.Contains(p, "test") && !strings.Contains(p, "template") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range name.FindAllStringSubmatch(string(b), -1) {
				seen[m[1]] = p
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("found only %d variables: %v", len(seen), seen)
	}
	for v, file := range seen {
		if strings.HasPrefix(v, "CUSAX_TEST") {
			continue
		}
		if !strings.Contains(documented, " "+v+",") {
			t.Errorf("%s (named in %s) is not in the man page's ENVIRONMENT (gendocs/mansections.go)", v, file)
		}
	}
}
