//go:build !unix

package safepath

import (
	"os"
	"strconv"
)

// Check has no owner or mode bits to read here: on Windows access is
// governed by the ACLs inherited from the user's profile directory. It
// only reports a missing file.
func Check(path string) error {
	_, err := os.Stat(path)
	return err
}

// CheckDir is Check for a directory.
func CheckDir(dir string) error { return Check(dir) }

func owner(uid int) string { return "uid " + strconv.Itoa(uid) }
