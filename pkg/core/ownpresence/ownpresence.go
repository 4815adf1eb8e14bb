// Package ownpresence remembers the presence the user chose for an
// account with `cusax presence`, so that it can be shown later and
// restored after a call (RFC 7081 §3: the on-the-phone state is the
// combined service's, not the user's choice). The file is
// $XDG_STATE_HOME/cusax/presence/ACCOUNT.json (else
// ~/.local/state/cusax/presence), mode 0600 in a 0700 directory.
package ownpresence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/core/safepath"
	"github.com/cusax/cusax/pkg/protocol"
)

// maxSize bounds what Load reads.
const maxSize = 16 << 10

// Saved is the presence last chosen for an account.
type Saved struct {
	Account string `json:"account"`
	// State is available, away, dnd, xa or unavailable.
	State  string    `json:"state"`
	Status string    `json:"status,omitempty"`
	Set    time.Time `json:"set"`
}

// Presence is s as a presence to send.
func (s Saved) Presence() protocol.Presence {
	switch s.State {
	case "unavailable":
		return protocol.Presence{Type: "unavailable", Status: s.Status}
	case "available", "":
		return protocol.Presence{Status: s.Status}
	}
	return protocol.Presence{Show: s.State, Status: s.Status}
}

// Path is the state file of account.
func Path(account string) (string, error) {
	if account == "" || strings.ContainsAny(account, `/\`) || account == "." || account == ".." {
		return "", fmt.Errorf("presence state: account name %q: %w", account, protocol.ErrInvalid)
	}
	dir := ""
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		dir = filepath.Join(x, "cusax", "presence")
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find presence state: %w", err)
		}
		dir = filepath.Join(home, ".local", "state", "cusax", "presence")
	}
	return filepath.Join(dir, account+".json"), nil
}

// Load reads account's saved presence; ok is false when none was saved. A
// file another user owns or others can write is refused (an error
// wrapping safepath.ErrUnsafe): whoever wrote it would choose what
// contacts see after a call.
func Load(account string) (s Saved, ok bool, err error) {
	path, err := Path(account)
	if err != nil {
		return Saved{}, false, err
	}
	if err := safepath.Check(path); err != nil && errors.Is(err, safepath.ErrUnsafe) {
		return Saved{}, false, fmt.Errorf("presence state %s refused: %w", path, err)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Saved{}, false, nil
	}
	if err != nil {
		return Saved{}, false, fmt.Errorf("read presence state: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return Saved{}, false, fmt.Errorf("read presence state %s: %w", path, err)
	}
	if len(data) > maxSize {
		return Saved{}, false, fmt.Errorf("read presence state %s: larger than %d bytes", path, maxSize)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Saved{}, false, fmt.Errorf("read presence state %s: %w", path, err)
	}
	switch s.State {
	case "available", "away", "dnd", "xa", "unavailable":
	default:
		return Saved{}, false, fmt.Errorf("read presence state %s: state %q", path, s.State)
	}
	return s, true, nil
}

// Save records s (atomically, 0600).
func Save(s Saved) error {
	path, err := Path(s.Account)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save presence state: %w", err)
	}
	if err := safepath.Check(filepath.Dir(path)); err != nil && errors.Is(err, safepath.ErrUnsafe) {
		return fmt.Errorf("presence state %s refused: %w", path, err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save presence state: %w", err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save presence state: %w", err)
	}
	return nil
}
