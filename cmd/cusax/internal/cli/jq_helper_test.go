package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestJQThroughHelper: the binary runs --jq in cusax-jq from beside it
// (gojq's init stays out of every other command). Its results, a bad
// expression (exit 2 before the command runs, one line), an expression
// that fails on a document (exit 1), and a missing helper (one line that
// says what to install) are what the in-process filter gives.
func TestJQThroughHelper(t *testing.T) {
	bin := cusaxBinary(t)
	home := t.TempDir()
	run := func(bin string, args ...string) (string, string, int) {
		cmd := exec.Command(bin, append([]string{"--config", home + "/config.toml"}, args...)...)
		cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "XDG_CONFIG_HOME=" + home, "CUSAX_NO_AGENT=1"}
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return out.String(), errOut.String(), code
	}
	if out, errOut, code := run(bin, "version", "--jq", ".schema"); code != 0 || out != "cusax.version/v1\n" {
		t.Errorf("--jq .schema: exit %d %q %s", code, out, errOut)
	}
	if out, errOut, code := run(bin, "version", "--jq", "{s: .schema}"); code != 0 || out != `{"s":"cusax.version/v1"}`+"\n" {
		t.Errorf("--jq object: exit %d %q %s", code, out, errOut)
	}
	if out, errOut, code := run(bin, "version", "--jq", ".["); code != 2 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, `--jq ".["`) {
		t.Errorf("bad expression: exit %d %q %q", code, out, errOut)
	}
	if _, errOut, code := run(bin, "version", "--jq", `error("boom")`); code != 1 || !strings.Contains(errOut, "boom") {
		t.Errorf("failing expression: exit %d %q", code, errOut)
	}
	// A cusax with no helper beside it (and none in PATH).
	lone := t.TempDir() + "/cusax"
	if err := exec.Command("cp", bin, lone).Run(); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := run(lone, "version", "--jq", ".schema"); code == 0 || out != "" || !strings.Contains(errOut, "cusax-jq") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("no helper: exit %d %q %q", code, out, errOut)
	}
}
