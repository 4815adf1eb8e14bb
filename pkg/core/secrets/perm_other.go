//go:build !unix

package secrets

import "io/fs"

// checkPrivate has no mode bits to check here: on Windows access is
// governed by the ACL the file inherits from the user's profile directory.
func checkPrivate(string, fs.FileInfo) error { return nil }
