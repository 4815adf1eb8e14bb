package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to Load: it must return a config or an
// error, never panic; whatever loads must validate without panicking and
// survive Save and Load again with the same accounts.
func FuzzLoad(f *testing.F) {
	if seed, err := os.ReadFile("testdata/example.toml"); err == nil {
		f.Add(seed)
	}
	f.Add([]byte(""))
	f.Add([]byte("version = 1\n[[account]]\nname = \"a\"\n[account.sip]\naor = \"sip:a@b\"\n"))
	f.Add([]byte("[[account]]\nname = 1\n"))
	f.Add([]byte("[plugins]\ndirs = [\"/x\", 2]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(p)
		if err != nil {
			if c != nil {
				t.Fatalf("Load returned a config with error %v", err)
			}
			return
		}
		_ = c.Validate()
		_, _ = c.Account("")
		out := filepath.Join(dir, "out.toml")
		if err := Save(out, c); err != nil {
			t.Fatalf("Save of a loaded config: %v", err)
		}
		c2, err := Load(out)
		if err != nil {
			t.Fatalf("Load of a saved config: %v", err)
		}
		if len(c2.Accounts) != len(c.Accounts) || c2.Default != c.Default {
			t.Fatalf("round trip changed the config: %+v -> %+v", c, c2)
		}
		for i := range c.Accounts {
			if c.Accounts[i].Name != c2.Accounts[i].Name {
				t.Fatalf("round trip renamed account %d: %q -> %q", i, c.Accounts[i].Name, c2.Accounts[i].Name)
			}
		}
	})
}
