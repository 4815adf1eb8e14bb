// Package plugins_test holds the check that keeps the SDK boundary: every
// package under plugins/ is built exactly as a third party would build it,
// from pkg/protocol (the SDK), the leaf libraries outside pkg/core and
// third-party modules. pkg/core is the host; a plugin that imports it
// would inherit the whole host as its API (issue 14).
package plugins_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

const hostPrefix = "github.com/cusax/cusax/pkg/core"

// goTool finds the go command: on PATH, else the toolchain that built this
// test. Missing, the test skips, except under CI=true where it fails.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := runtime.GOROOT(); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no go command on PATH or in GOROOT")
	}
	t.Skip("no go command on PATH or in GOROOT")
	return ""
}

// hostImports lists, for the packages matching pattern and everything they
// import (their tests included: -test), every import of a pkg/core package
// made by a package outside pkg/core, as "importer -> imported", sorted.
// It also returns how many packages go list reported, so that a check
// cannot pass on an empty listing.
func hostImports(t *testing.T, pattern string) (edges []string, listed int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(t), "list", "-deps", "-test",
		"-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pattern)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps -test %s: %v\n%s", pattern, err, stderr.String())
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		listed++
		// Test variants read "pkg [pkg.test]"; keep the importer whole.
		importer, imports := f[0], f[1:]
		if len(imports) > 0 && strings.HasPrefix(imports[0], "[") {
			importer += " " + imports[0]
			imports = imports[1:]
		}
		if isHost(importer) {
			continue // the host may import itself
		}
		for _, imp := range imports {
			if isHost(imp) {
				e := importer + " -> " + imp
				if !seen[e] {
					seen[e] = true
					edges = append(edges, e)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(edges)
	return edges, listed
}

func isHost(path string) bool {
	path, _, _ = strings.Cut(path, " ")
	return path == hostPrefix || strings.HasPrefix(path, hostPrefix+"/")
}

// No package under plugins/, nor any of its tests, depends on pkg/core,
// directly or through a library.
func TestPluginsDoNotImportHost(t *testing.T) {
	edges, listed := hostImports(t, "./...") // the test runs in plugins/
	if listed == 0 {
		t.Fatal("go list reported no package under plugins/")
	}
	if len(edges) > 0 {
		t.Errorf("plugins must import pkg/protocol and third-party libraries only, never pkg/core (the host); %d import(s) cross the boundary:\n  %s",
			len(edges), strings.Join(edges, "\n  "))
	}
}

// The check sees a host import where there is one: the built-in registry
// (host side, cmd/cusax/internal/builtin) imports pluginhost.
func TestBoundaryCheckSeesHostImports(t *testing.T) {
	edges, _ := hostImports(t, "github.com/cusax/cusax/cmd/cusax/internal/builtin")
	for _, e := range edges {
		if strings.HasPrefix(e, "github.com/cusax/cusax/cmd/cusax/internal/builtin -> "+hostPrefix+"/pluginhost") {
			return
		}
	}
	t.Fatalf("the check did not see cmd/cusax/internal/builtin import pkg/core/pluginhost; edges: %v", edges)
}
