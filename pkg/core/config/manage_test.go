package config

import (
	"errors"
	"slices"
	"testing"
)

func threeAccounts() *Config {
	return &Config{Default: "b", Accounts: []Account{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
}

func TestEffectiveDefault(t *testing.T) {
	tests := []struct {
		name string
		c    *Config
		want string
	}{
		{"set", threeAccounts(), "b"},
		{"names no account", &Config{Default: "zz", Accounts: []Account{{Name: "a"}}}, ""},
		{"only account", &Config{Accounts: []Account{{Name: "a"}}}, "a"},
		{"several, none set", &Config{Accounts: []Account{{Name: "a"}, {Name: "b"}}}, ""},
		{"no accounts", &Config{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.EffectiveDefault(); got != tt.want {
				t.Errorf("EffectiveDefault = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSetDefault(t *testing.T) {
	c := threeAccounts()
	if err := c.SetDefault("c"); err != nil || c.Default != "c" {
		t.Fatalf("SetDefault(c) = %v, Default %q", err, c.Default)
	}
	if err := c.SetDefault("zz"); !errors.Is(err, ErrAccountNotFound) || c.Default != "c" {
		t.Errorf("SetDefault(zz) = %v, Default %q", err, c.Default)
	}
}

func TestRename(t *testing.T) {
	tests := []struct {
		name, old, new string
		wantErr        error
		wantNames      []string
		wantDefault    string
	}{
		{name: "default moves with it", old: "b", new: "bee", wantNames: []string{"a", "bee", "c"}, wantDefault: "bee"},
		{name: "other account", old: "a", new: "x", wantNames: []string{"x", "b", "c"}, wantDefault: "b"},
		{name: "same name", old: "a", new: "a", wantNames: []string{"a", "b", "c"}, wantDefault: "b"},
		{name: "refused onto an existing account", old: "a", new: "c", wantErr: ErrAccountExists},
		{name: "missing", old: "zz", new: "y", wantErr: ErrAccountNotFound},
		{name: "invalid new name", old: "a", new: "../x", wantErr: ErrInvalid},
		{name: "empty new name", old: "a", new: "", wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := threeAccounts()
			err := c.Rename(tt.old, tt.new)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Rename = %v, want %v", err, tt.wantErr)
				}
				// A refused rename changes nothing.
				if !slices.Equal(c.Names(), []string{"a", "b", "c"}) || c.Default != "b" {
					t.Errorf("after refused rename: %v, default %q", c.Names(), c.Default)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Names(), tt.wantNames) || c.Default != tt.wantDefault {
				t.Errorf("names %v default %q, want %v %q", c.Names(), c.Default, tt.wantNames, tt.wantDefault)
			}
		})
	}
}

// A name a hand edit made invalid can be renamed to a valid one: that is
// how it gets repaired.
func TestRenameRepairsInvalidName(t *testing.T) {
	c := &Config{Accounts: []Account{{Name: "bad name/x"}}}
	if err := c.Rename("bad name/x", "good"); err != nil || c.Accounts[0].Name != "good" {
		t.Errorf("Rename = %v, names %v", err, c.Names())
	}
}
