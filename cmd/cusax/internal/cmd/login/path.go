package login

import "path/filepath"

// absPath stores the CA file as an absolute path, so the config works from
// any directory.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
