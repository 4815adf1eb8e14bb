package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/cusax/cusax/pkg/core/callerid/numbers"
)

// helpers are the programs the cusax binary runs at run time, looked for
// beside itself (numbers.Find). A release archive that holds cusax must
// hold them too, or the release judges callers differently from a dev
// build (issue 13 item 6).
var helpers = []string{numbers.Program}

type release struct {
	Builds []struct {
		ID     string   `yaml:"id"`
		Binary string   `yaml:"binary"`
		GOOS   []string `yaml:"goos"`
		GOARCH []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		ID  string   `yaml:"id"`
		IDs []string `yaml:"ids"`
	} `yaml:"archives"`
}

// checkRelease returns what .goreleaser.yaml leaves out: a build that no
// archive ships, or a helper missing from (or built for fewer platforms
// than) an archive that ships cusax.
func checkRelease(data []byte) error {
	var r release
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf("parse: %v", err)
	}
	if len(r.Archives) == 0 {
		return fmt.Errorf("no archives")
	}
	byBinary := map[string]int{}
	for i, b := range r.Builds {
		byBinary[b.Binary] = i
	}
	var problems []string
	for _, b := range r.Builds {
		shipped := false
		for _, a := range r.Archives {
			// goreleaser: an archive without ids takes every build.
			shipped = shipped || len(a.IDs) == 0 || slices.Contains(a.IDs, b.ID)
		}
		if !shipped {
			problems = append(problems, fmt.Sprintf("build %q (%s) is in no archive", b.ID, b.Binary))
		}
	}
	cusax, ok := byBinary["cusax"]
	if !ok {
		return fmt.Errorf("no build of cusax")
	}
	for _, a := range r.Archives {
		if len(a.IDs) > 0 && !slices.Contains(a.IDs, r.Builds[cusax].ID) {
			continue
		}
		for _, h := range helpers {
			i, ok := byBinary[h]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("no build of %s, which cusax runs", h))
			case len(a.IDs) > 0 && !slices.Contains(a.IDs, r.Builds[i].ID):
				problems = append(problems, fmt.Sprintf("archive %q ships cusax without %s (build %q)", a.ID, h, r.Builds[i].ID))
			}
			if ok {
				for _, p := range r.Builds[cusax].GOOS {
					if !slices.Contains(r.Builds[i].GOOS, p) {
						problems = append(problems, fmt.Sprintf("%s is not built for %s", h, p))
					}
				}
				for _, p := range r.Builds[cusax].GOARCH {
					if !slices.Contains(r.Builds[i].GOARCH, p) {
						problems = append(problems, fmt.Sprintf("%s is not built for %s", h, p))
					}
				}
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// TestReleaseShipsHelpers: the release archive holds every build, and
// with cusax every program cusax runs. The hostile cases are the config
// with one build left out of the archive, as it was before.
func TestReleaseShipsHelpers(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkRelease(data); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	var r release
	if err := yaml.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	for _, id := range r.Archives[0].IDs {
		// The archive's ids line, once per build, with that build left out.
		line := "ids: [" + strings.Join(r.Archives[0].IDs, ", ") + "]"
		if !bytes.Contains(data, []byte(line)) {
			t.Fatalf("test expects the archive's ids on one line: %s", line)
		}
		without := "ids: [" + strings.Join(slices.DeleteFunc(slices.Clone(r.Archives[0].IDs), func(s string) bool { return s == id }), ", ") + "]"
		hostile := bytes.Replace(data, []byte(line), []byte(without), 1)
		if err := checkRelease(hostile); err == nil || !strings.Contains(err.Error(), id) {
			t.Errorf("archive without build %q: %v, want an error naming it", id, err)
		}
	}
}
