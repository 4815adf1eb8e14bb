package cmdutil

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

func TestContactCandidates(t *testing.T) {
	items := []protocol.RosterItem{
		{JID: "bob@example.com", Name: "Bob  Builder"},
		{JID: "carol@example.org"},
		{JID: "dave@example.net", Name: "Dave"},
		// Hostile names from the server: no line break, tab or escape
		// reaches the shell's list.
		{JID: "eve@example.net", Name: "Eve\nrm -rf\t/"},
		{JID: "mal@example.net", Name: "Mal\x1b[2J\u202e"},
		{JID: "bad\n@example.net", Name: "Bad"},
	}
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{"", []string{"Bob Builder\tbob@example.com", "carol@example.org", "Dave\tdave@example.net", "Eve rm -rf /\teve@example.net", "mal@example.net"}},
		{"e", []string{"Eve rm -rf /\teve@example.net"}},
		{"b", []string{"Bob Builder\tbob@example.com"}},
		{"CAR", []string{"carol@example.org"}},
		{"dave@", []string{"dave@example.net\tDave"}},
		{"zed", nil},
	} {
		if got := contactCandidates(items, tc.typed); !slices.Equal(got, tc.want) {
			t.Errorf("contactCandidates(%q) = %q, want %q", tc.typed, got, tc.want)
		}
	}
}

// TestFinishCompletion: a flag or command without a completion of its own
// offers no files; flags marked as files keep file completion; the
// completions registered before stay.
func TestFinishCompletion(t *testing.T) {
	root := &cobra.Command{Use: "root"}
	sub := &cobra.Command{Use: "sub", RunE: func(*cobra.Command, []string) error { return nil }}
	root.AddCommand(sub)
	sub.Flags().String("name", "", "")
	sub.Flags().String("file", "", "")
	sub.Flags().Bool("yes", false, "")
	_ = sub.MarkFlagFilename("file")
	var fmtFlag string
	EnumFlag(sub, &fmtFlag, "format", "", []string{"a", "b"})
	FinishCompletion(root)

	if sub.ValidArgsFunction == nil {
		t.Fatal("sub has no ValidArgsFunction")
	}
	if _, d := sub.ValidArgsFunction(sub, nil, ""); d != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("sub args: directive %v, want NoFileComp", d)
	}
	if fn, ok := sub.GetFlagCompletionFunc("name"); !ok {
		t.Error("--name has no completion")
	} else if _, d := fn(sub, nil, ""); d != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("--name: directive %v, want NoFileComp", d)
	}
	if _, ok := sub.GetFlagCompletionFunc("file"); ok {
		t.Error("--file got a completion function: it must keep file completion")
	}
	if fn, ok := sub.GetFlagCompletionFunc("format"); !ok {
		t.Error("--format lost its completion")
	} else if got, _ := fn(sub, nil, ""); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("--format completes %q", got)
	}
}

// TestAccountNamesFromTrustedConfigOnly: account names come from the
// config, and not from one that others could have written (refused, as
// every command refuses it).
func TestAccountNamesFromTrustedConfigOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cusax")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.toml")
	text := "version = 1\n\n[[account]]\nname = \"home\"\n[account.xmpp]\njid = \"a@example.com\"\n\n[[account]]\nname = \"work\"\n[account.xmpp]\njid = \"b@example.com\"\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &Factory{ConfigPath: func() (string, error) { return path, nil }}
	if got, _ := f.CompleteAccountArgs(nil, []string{"home"}, ""); !slices.Equal(got, []string{"work"}) {
		t.Errorf("accounts %q, want [work]", got)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.CompleteAccountArgs(nil, nil, ""); len(got) != 0 {
		t.Errorf("a world-writable config gave %q", got)
	}
}

func TestCompleteEnumList(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	cmd.Flags().StringSlice("accept", nil, "")
	CompleteEnumList(cmd, "accept", []string{"a", "b", "c"})
	fn, _ := cmd.GetFlagCompletionFunc("accept")
	for typed, want := range map[string][]string{
		"":     {"a", "b", "c"},
		"b,":   {"b,a", "b,c"},
		"b,a,": {"b,a,c"},
	} {
		got, d := fn(cmd, nil, typed)
		if !slices.Equal(got, want) || d&cobra.ShellCompDirectiveNoSpace == 0 {
			t.Errorf("%q: %q (directive %d), want %q", typed, got, d, want)
		}
	}
}
