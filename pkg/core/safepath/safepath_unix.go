//go:build unix

package safepath

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Check refuses path (a file) when it, or any directory above it, is owned
// by someone other than the current user or root, or is writable by group
// or others (see the package documentation for the sticky-bit rule). A
// symbolic link is followed: the directories holding the link and those
// holding its target are all checked. A missing path gives the os error
// (errors.Is fs.ErrNotExist); a refusal is an *Error.
func Check(path string) error { return check(path, false) }

// CheckDir is Check for a directory whose entries cusax will trust (a
// plugin directory): the directory itself must not be writable by others,
// sticky or not.
func CheckDir(dir string) error { return check(dir, true) }

func check(path string, isDir bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return err
	}
	for _, p := range uniq(abs, real) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := checkOne(p, fi, !isDir, 0, false); err != nil {
			return err
		}
		if err := checkParents(p, fi, !isDir); err != nil {
			return err
		}
	}
	return nil
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}

// checkParents walks from p's directory up to /. child is the component
// below the directory being checked. holdsP says that p's directory holds
// p itself as an entry cusax trusts (a file): then it gets no sticky
// exception. For a directory (CheckDir) the entries trusted are inside p,
// so p's parent is an ordinary ancestor: /tmp/x of this user, mode 0700,
// is as safe a plugin directory as /tmp/a/x.
func checkParents(p string, child fs.FileInfo, holdsP bool) error {
	immediate := holdsP
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		// The directory holding the file itself gets no sticky exception:
		// anyone could add entries beside it.
		if err := checkOne(dir, fi, false, uidOf(child), !immediate); err != nil {
			return err
		}
		immediate = false
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
		child = fi
	}
}

// checkOne applies the rule to one component. stickyOK allows a sticky
// directory that others can write when childUID (the owner of the entry
// below it) is the user or root: the sticky bit keeps others from renaming
// or removing that entry.
func checkOne(p string, fi fs.FileInfo, file bool, childUID int, stickyOK bool) error {
	uid := uidOf(fi)
	me := os.Geteuid()
	mode := fi.Mode()
	if uid != me && uid != 0 {
		return &Error{Path: p, UID: uid, Mode: mode,
			Reason: notOwnedReason(me),
			Hint:   fmt.Sprintf("if %s is yours: chown %s %s; if not, remove it", p, userName(me), p)}
	}
	w := mode.Perm() & 0o022
	if w == 0 {
		return nil
	}
	if !file && mode&fs.ModeSticky != 0 && w&0o002 != 0 {
		if stickyOK && (childUID == me || childUID == 0) {
			return nil
		}
		return &Error{Path: p, UID: uid, Mode: mode,
			Reason: "a shared directory: anyone can add files to it",
			Hint:   "keep it in a directory only you can write (mkdir -m 700 DIR)"}
	}
	who := "group and others"
	switch w {
	case 0o020:
		who = "group"
	case 0o002:
		who = "others"
	}
	return &Error{Path: p, UID: uid, Mode: mode, Reason: "writable by " + who, Hint: "chmod go-w " + p}
}

func uidOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// owner names a uid as "name (uid N)", or "uid N".
func owner(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// userName is the login name of uid for a chown hint, else the number.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func notOwnedReason(me int) string {
	if me == 0 {
		return "not owned by you (root)"
	}
	return fmt.Sprintf("not owned by you (%s) or root", owner(me))
}
