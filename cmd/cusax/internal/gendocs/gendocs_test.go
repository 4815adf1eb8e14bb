package main

import (
	"os"
	"path/filepath"
	"testing"
)

// The committed reference must match the command tree: run `make docs`
// after changing a command's help or flags.
func TestReferenceUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := markdown(dir); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "..", "..", "docs", "commands")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		want, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		got, err := os.ReadFile(filepath.Join(committed, e.Name()))
		if err != nil || string(got) != string(want) {
			t.Errorf("docs/commands/%s is out of date: run make docs", e.Name())
		}
	}
	old, _ := os.ReadDir(committed)
	if len(old) != len(entries) {
		t.Errorf("docs/commands has %d files, the command tree %d: run make docs", len(old), len(entries))
	}
}
