package account

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/ownpresence"
	"github.com/cusax/cusax/pkg/core/vcardcache"
)

// localFile is one file or directory cusax keeps for one account outside
// the config and the secret stores.
type localFile struct {
	// What names it in messages and JSON: "vcard_cache", "presence_state".
	What string `json:"what"`
	Path string `json:"path"`
}

// accountFiles lists the files cusax keeps for the account called name:
// every per-account file under the XDG directories. Files shared by all
// accounts (the audit state, keyed by server; the agent's log) are not
// here. An invalid name (a hand-edited config) has none: cusax never
// wrote a file for it, and mapping it to a path (vcardcache replaces
// unsafe characters) could name another account's files.
func accountFiles(name string) ([]localFile, error) {
	if config.ValidateName(name) != nil {
		return nil, nil
	}
	var out []localFile
	// The state first: when a rename fails half-way, the cache is what
	// may be left behind (it is fetched again).
	presence, err := ownpresence.Path(name)
	if err != nil {
		return nil, err
	}
	out = append(out, localFile{What: "presence_state", Path: presence})
	root, err := vcardcache.Dir()
	if err != nil {
		return nil, err
	}
	// vcardcache.Open(root, name, …) keeps a valid name as it is (a test
	// holds it to that).
	out = append(out, localFile{What: "vcard_cache", Path: filepath.Join(root, name)})
	return out, nil
}

// removeLocal removes path, whatever it is, without following symbolic
// links: a link is removed as a link, never its target, and a directory's
// contents are removed with os.RemoveAll, which does not follow links
// inside it either (unlinkat/openat with O_NOFOLLOW). A missing path is
// not an error; it reports whether something was removed.
func removeLocal(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fi.IsDir() {
		err = os.RemoveAll(path)
	} else {
		err = os.Remove(path)
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// removeFiles removes the account's local files and returns those that
// existed. It stops at the first failure.
func removeFiles(name string) ([]localFile, error) {
	files, err := accountFiles(name)
	if err != nil {
		return nil, err
	}
	var removed []localFile
	for _, lf := range files {
		ok, err := removeLocal(lf.Path)
		if err != nil {
			return removed, fmt.Errorf("remove %s %s: %w", lf.What, lf.Path, err)
		}
		if ok {
			removed = append(removed, lf)
		}
	}
	return removed, nil
}

// moveFiles gives old's local files to new. Whatever new has already is
// stale (new is not an account) and is removed first, as a link if it is
// one: the presence state is then written fresh (ownpresence.Save writes
// through a link at its path). The presence state is loaded and saved
// again, so the account it names is new; one that cannot be loaded
// (refused, damaged) stops the move with its error. The vCard cache
// directory is renamed, a link as a link. It returns what was moved.
func moveFiles(old, new string) ([]localFile, error) {
	from, err := accountFiles(old)
	if err != nil {
		return nil, err
	}
	to, err := accountFiles(new)
	if err != nil {
		return nil, err
	}
	for _, lf := range to {
		if _, err := removeLocal(lf.Path); err != nil {
			return nil, fmt.Errorf("remove stale %s %s: %w", lf.What, lf.Path, err)
		}
	}
	if len(from) == 0 {
		return nil, nil // an invalid old name has no files
	}
	var moved []localFile
	for i, lf := range from {
		switch lf.What {
		case "presence_state":
			saved, ok, err := ownpresence.Load(old)
			if err != nil {
				return moved, err
			}
			if !ok {
				continue
			}
			saved.Account = new
			if err := ownpresence.Save(saved); err != nil {
				return moved, err
			}
			if _, err := removeLocal(lf.Path); err != nil {
				return moved, fmt.Errorf("remove %s %s: %w", lf.What, lf.Path, err)
			}
		default:
			if _, err := os.Lstat(lf.Path); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err := os.Rename(lf.Path, to[i].Path); err != nil {
				return moved, fmt.Errorf("move %s: %w", lf.What, err)
			}
		}
		moved = append(moved, to[i])
	}
	return moved, nil
}
