package config

import (
	"fmt"
	"os"
	"path/filepath"
)

// File and directory names under the XDG config directory.
const (
	DirName  = "cusax"
	FileName = "config.toml"
)

// EnvConfig names the environment variable that overrides the config path.
const EnvConfig = "CUSAX_CONFIG"

// DefaultPath returns the config file path: $CUSAX_CONFIG if set, else
// $XDG_CONFIG_HOME/cusax/config.toml if XDG_CONFIG_HOME is an absolute path
// (the XDG Base Directory spec says to ignore relative ones), else
// $HOME/.config/cusax/config.toml. It reads only the environment; the file
// need not exist. The error says that no home directory could be found.
func DefaultPath() (string, error) {
	if p := os.Getenv(EnvConfig); p != "" {
		return filepath.Clean(p), nil
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, DirName, FileName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find config file: %w", err)
	}
	return filepath.Join(home, ".config", DirName, FileName), nil
}
