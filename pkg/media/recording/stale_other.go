//go:build !unix

package recording

import (
	"io/fs"
	"os"
)

func lock(*os.File) error { return nil }

// abandoned is false without flock: a live recording's file must not be
// taken for a dead one's.
func abandoned(string, fs.FileInfo) bool { return false }
