package config

import (
	"path/filepath"
	"testing"
)

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name             string
		cusax, xdg, home string
		want             string
	}{
		{name: "CUSAX_CONFIG wins", cusax: "/etc/cusax.toml", xdg: "/xdg", home: "/home/a", want: "/etc/cusax.toml"},
		{name: "XDG_CONFIG_HOME", xdg: "/xdg", home: "/home/a", want: "/xdg/cusax/config.toml"},
		{name: "relative XDG ignored", xdg: "rel", home: "/home/a", want: "/home/a/.config/cusax/config.toml"},
		{name: "HOME", home: "/home/a", want: "/home/a/.config/cusax/config.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvConfig, tt.cusax)
			t.Setenv("XDG_CONFIG_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			got, err := DefaultPath()
			if err != nil {
				t.Fatal(err)
			}
			if got != filepath.FromSlash(tt.want) {
				t.Errorf("DefaultPath() = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("no home", func(t *testing.T) {
		t.Setenv(EnvConfig, "")
		t.Setenv("XDG_CONFIG_HOME", "")
		t.Setenv("HOME", "")
		if p, err := DefaultPath(); err == nil {
			t.Errorf("DefaultPath() = %q with no HOME, want error", p)
		}
	})
}
