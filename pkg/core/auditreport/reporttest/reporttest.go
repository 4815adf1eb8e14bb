// Package reporttest checks rendered audit reports with the real tools
// operators' systems use: Prometheus's promtool for OpenMetrics, Debian's
// headless Chromium for HTML. scripts/testbed/install.sh installs both. In
// CI (CI=true) a missing tool fails the test, as a missing server does;
// elsewhere the test is skipped.
package reporttest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// Tool returns the path of program name, or fails (CI) or skips the test.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (CI=true): run scripts/testbed/install.sh", name)
		}
		t.Skipf("%s not found: run scripts/testbed/install.sh", name)
	}
	return p
}

// CheckMetrics runs `promtool check metrics` on metrics: Prometheus's own
// text-format parser and its linter must both accept it without a word.
func CheckMetrics(t testing.TB, metrics string) {
	t.Helper()
	cmd := exec.Command(Tool(t, "promtool"), "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// RenderDOM loads page from a file in headless Chromium and returns the
// DOM the browser built (--dump-dom), parsed.
func RenderDOM(t testing.TB, page []byte) *html.Node {
	t.Helper()
	chromium := Tool(t, "chromium")
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// Root needs --no-sandbox; the network is closed here, so no
	// background connections; a fresh profile each time.
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--dump-dom", "file://"+file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	t.Logf("chromium rendered the page in %v", time.Since(start).Round(time.Millisecond))
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
