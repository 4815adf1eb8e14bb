package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/internal/testbed"
)

// TestCallRecordRefusesNonRegular: --record at a device node, a FIFO, a
// symlink (to a file elsewhere) or a directory is refused at flag
// validation, before anything is dialled, with one line and exit 2; the
// thing at the path is left as it was (issue 13 item 12: a device node
// became a regular WAV file). The device is a node made here with
// /dev/null's numbers, never the real /dev/null.
func TestCallRecordRefusesNonRegular(t *testing.T) {
	bed := testbed.Shared(t)
	c := newCaller(t, bed, "recrefuse", "")
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	paths := map[string]fs.FileMode{}
	fifo := filepath.Join(dir, "fifo.wav")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	paths[fifo] = fs.ModeNamedPipe
	link := filepath.Join(dir, "link.wav")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	paths[link] = fs.ModeSymlink
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	paths[sub] = fs.ModeDir
	switch dev := filepath.Join(dir, "null"); {
	case os.Geteuid() == 0:
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		paths[dev] = fs.ModeDevice | fs.ModeCharDevice
	case os.Getenv("CI") == "true":
		t.Fatal("the device-node case needs root, and CI runs as root")
	default:
		t.Log("not root: the device-node case is not run")
	}
	for path, mode := range paths {
		r := c.call(t, "sip:nobody@"+bed.Domain, "--record", path)
		msg := strings.TrimSpace(r.stderr)
		if r.code != cmdutil.ExitUsage || !strings.HasPrefix(msg, "cusax: error: --record "+path) || strings.Count(msg, "\n") > 1 || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", path, r.code, r.stdout, msg)
		}
		st, err := os.Lstat(path)
		if err != nil || st.Mode().Type() != mode {
			t.Errorf("%s: now %v %v", path, st.Mode(), err)
		}
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q %v", b, err)
	}
	if left, _ := tempFiles(dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestCallRecordPathChangedDuringCall: the path was new when the call
// started, and a symlink to another file appears there while the call
// runs (the hostile case for the check at flag validation): the plugin
// checks again before it renames, leaves the link and its target alone,
// says so, and leaves no temporary file.
func TestCallRecordPathChangedDuringCall(t *testing.T) {
	bed := testbed.Shared(t)
	callee := calleeUser(t, bed, "calleeswap")
	c := newCaller(t, bed, "recswap", "")
	uas := bed.StartSippUAS(t, testbed.SippUASOptions{User: callee, Answer: 200, Media: "pcap"})
	dir := t.TempDir()
	out := filepath.Join(dir, "heard.wav")
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan cliResult, 1)
	go func() {
		done <- c.call(t, "sip:"+callee+"@"+bed.Domain, "--record", out, "--duration", "3s", "--json")
	}()
	// The plugin opens .heard.wav.tmp-N (pkg/atomicfile) before it dials.
	waitFor(t, "the recording's temporary file", 20*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join(dir, ".heard.wav.tmp-*"))
		return len(m) > 0
	})
	if err := os.Symlink(victim, out); err != nil {
		t.Fatal(err)
	}
	var r cliResult
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("call did not end")
	}
	o := decodeOutcome(t, r)
	if _, err := uas.Wait(15 * time.Second); err != nil {
		t.Errorf("callee: %v", err)
	}
	if !o.Answered || o.Recorded != "" || !strings.Contains(o.Note, "symbolic link") {
		t.Errorf("outcome %+v", o)
	}
	if st, err := os.Lstat(out); err != nil || st.Mode().Type() != fs.ModeSymlink {
		t.Errorf("the symlink was replaced: %v %v", st.Mode(), err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q %v", b, err)
	}
	if left, _ := tempFiles(dir); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// tempFiles lists pkg/atomicfile's temporary files in dir: .NAME.tmp-N
// (locked, being written) and .NAME.new-N (just created).
func tempFiles(dir string) ([]string, error) {
	tmp, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	fresh, _ := filepath.Glob(filepath.Join(dir, ".*.new-*"))
	return append(tmp, fresh...), err
}
