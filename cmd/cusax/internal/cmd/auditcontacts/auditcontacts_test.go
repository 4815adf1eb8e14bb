package auditcontacts

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadTargets(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		err        string
	}{
		{"names and comments", "# ops\nwork\n\n  home  # mine\n", []string{"work", "home"}, ""},
		{"two fields", "work home\n", nil, ":1: want one account name"},
		{"empty", "# nothing\n", nil, "no targets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "targets")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readTargets(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if _, err := readTargets(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing targets file must be an error")
	}
}
