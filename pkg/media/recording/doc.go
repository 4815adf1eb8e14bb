// Package recording puts a call recording (cusax call --record) in place
// without harming what was at the path: only a new path or an existing
// regular file is accepted, a final symbolic link is never followed or
// replaced, and the file is written whole under a temporary name, then
// renamed, with mode 0600 (a recording holds people's voices).
//
// Check is for flag validation, before anything is dialled; Create and
// Commit check again, at the moments the file is opened and renamed, for
// a path that changed during the call. The temporary file is locked
// (flock) while its call runs, so the next Create to the same path can
// remove the ones a killed process left, and only those.
package recording
