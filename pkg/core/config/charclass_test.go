package config

import (
	"regexp"
	"strings"
	"testing"
)

// The hand-written name checks (validate.go) must accept exactly what the
// regular expressions they replaced accepted.
func TestCharClassesMatchTheirRegexps(t *testing.T) {
	checks := []struct {
		name string
		re   string
		fn   func(string) bool
	}{
		{"name", `^[A-Za-z0-9._-]{1,64}$`, nameOK},
		{"plugin", `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`, pluginNameOK},
		{"mechanism", `^[A-Z0-9_-]{1,20}$`, mechanismOK},
		{"hostname", `^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?$`, hostnameOK},
		{"setting key", `^[a-z0-9_]{1,64}$`, settingKeyOK},
	}
	inputs := []string{"", ".", "..", "a", "A", "-", "_", "a.", "a..", ".a", "a-", "-a", "a-b", "a.b.", "a.b..",
		"SCRAM-SHA-1", "scram-sha-1", "PLAIN_X", "x_y", "é", "a b", "a\x00", "a\n",
		strings.Repeat("a", 20), strings.Repeat("A", 21), strings.Repeat("a", 64), strings.Repeat("a", 65),
		"_" + strings.Repeat("a", 63), "example.com", "example.com.", "xn--bcher-kva.example", "1.2.3.4", "a_b.example"}
	for _, c := range checks {
		re := regexp.MustCompile(c.re)
		for _, in := range inputs {
			if got, want := c.fn(in), re.MatchString(in); got != want {
				t.Errorf("%s(%q) = %v, the expression says %v", c.name, in, got, want)
			}
		}
	}
}

func FuzzCharClassesMatchTheirRegexps(f *testing.F) {
	f.Add("example.com.")
	res := []*regexp.Regexp{
		regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`), regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`),
		regexp.MustCompile(`^[A-Z0-9_-]{1,20}$`), regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?$`),
		regexp.MustCompile(`^[a-z0-9_]{1,64}$`),
	}
	fns := []func(string) bool{nameOK, pluginNameOK, mechanismOK, hostnameOK, settingKeyOK}
	f.Fuzz(func(t *testing.T, s string) {
		for i, fn := range fns {
			if fn(s) != res[i].MatchString(s) {
				t.Fatalf("check %d disagrees with %s on %q", i, res[i], s)
			}
		}
	})
}
