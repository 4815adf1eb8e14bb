package agentapi

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// privateDir returns a fresh 0700 directory owned by the test's user.
func privateDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "cusax-agent")
	if err := EnsureDir(d); err != nil {
		t.Fatal(err)
	}
	return d
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (chown, mknod); CI runs tests as root")
		}
		t.Skip("needs root (chown, mknod)")
	}
}

func TestCheckDirRefuses(t *testing.T) {
	cases := []struct {
		name  string
		root  bool
		setup func(t *testing.T) string
		want  string
	}{
		{"mode 0770", false, func(t *testing.T) string {
			d := privateDir(t)
			must(t, os.Chmod(d, 0o770))
			return d
		}, "mode 0770"},
		{"mode 0755", false, func(t *testing.T) string {
			d := privateDir(t)
			must(t, os.Chmod(d, 0o755))
			return d
		}, "mode 0755"},
		{"owned by nobody", true, func(t *testing.T) string {
			d := privateDir(t)
			must(t, os.Chown(d, 65534, 65534))
			return d
		}, "owned by uid 65534"},
		{"symlink to a private dir", false, func(t *testing.T) string {
			d := privateDir(t)
			l := filepath.Join(t.TempDir(), "link")
			must(t, os.Symlink(d, l))
			return l
		}, "symbolic link"},
		{"regular file", false, func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "file")
			must(t, os.WriteFile(f, nil, 0o600))
			return f
		}, "not a directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root {
				needRoot(t)
			}
			d := c.setup(t)
			err := CheckDir(d)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), d) {
				t.Fatalf("CheckDir(%s) = %v, want ErrRefused naming the dir and %q", d, err, c.want)
			}
			if err := EnsureDir(d); !errors.Is(err, ErrRefused) {
				t.Fatalf("EnsureDir(%s) = %v, want ErrRefused", d, err)
			}
		})
	}
	if err := CheckDir(privateDir(t)); err != nil {
		t.Fatalf("private dir refused: %v", err)
	}
}

func TestCheckSocketAndDialRefuse(t *testing.T) {
	cases := []struct {
		name  string
		root  bool
		setup func(t *testing.T, sock string)
		want  string
	}{
		{"regular file", false, func(t *testing.T, sock string) {
			must(t, os.WriteFile(sock, nil, 0o600))
		}, "not a socket"},
		{"device node", true, func(t *testing.T, sock string) {
			// /dev/null's numbers: 1, 3.
			must(t, syscall.Mknod(sock, syscall.S_IFCHR|0o600, 1<<8|3))
		}, "not a socket"},
		{"symlink to a socket", false, func(t *testing.T, sock string) {
			real := filepath.Join(privateDir(t), "real.sock")
			l, err := net.Listen("unix", real)
			must(t, err)
			t.Cleanup(func() { l.Close() })
			must(t, os.Symlink(real, sock))
		}, "symbolic link"},
		{"socket owned by nobody", true, func(t *testing.T, sock string) {
			l, err := net.Listen("unix", sock)
			must(t, err)
			t.Cleanup(func() { l.Close() })
			must(t, os.Lchown(sock, 65534, 65534))
		}, "owned by uid 65534"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.root {
				needRoot(t)
			}
			dir := privateDir(t)
			sock := filepath.Join(dir, SocketName)
			c.setup(t, sock)
			if err := CheckSocket(sock); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("CheckSocket = %v, want ErrRefused with %q", err, c.want)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := DialPath(ctx, dir, sock); !errors.Is(err, ErrRefused) {
				t.Fatalf("DialPath = %v, want ErrRefused", err)
			}
		})
	}
}

func TestDialNoAgent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dir := privateDir(t)
	sock := filepath.Join(dir, SocketName)
	if _, err := DialPath(ctx, dir, sock); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("no socket: %v, want ErrNoAgent", err)
	}
	if _, err := DialPath(ctx, filepath.Join(dir, "missing"), sock); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("no dir: %v, want ErrNoAgent", err)
	}
	// A stale socket: bound, then its listener gone (as after kill -9; Go
	// would unlink it on Close, so leave the file behind on purpose).
	l, err := net.Listen("unix", sock)
	must(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Lstat(sock); err != nil {
		t.Fatal(err)
	}
	if _, err := DialPath(ctx, dir, sock); !errors.Is(err, ErrNoAgent) {
		t.Fatalf("stale socket: %v, want ErrNoAgent", err)
	}
}

func TestDialLive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dir := privateDir(t)
	sock := filepath.Join(dir, SocketName)
	l, err := net.Listen("unix", sock)
	must(t, err)
	defer l.Close()
	got := make(chan int, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- -2
			return
		}
		uid, _ := PeerUID(c)
		got <- uid
		c.Close()
	}()
	cc, err := DialPath(ctx, dir, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	if uid := <-got; uid != os.Geteuid() {
		t.Fatalf("server saw peer uid %d, want %d", uid, os.Geteuid())
	}
}

func TestPathsPrefersPrivateRuntimeDir(t *testing.T) {
	rt := t.TempDir()
	must(t, os.Chmod(rt, 0o700))
	t.Setenv("XDG_RUNTIME_DIR", rt)
	dir, sock, _ := Paths()
	if dir != filepath.Join(rt, "cusax-agent") || sock != filepath.Join(dir, SocketName) {
		t.Fatalf("Paths = %s %s", dir, sock)
	}
	// A runtime dir others may enter is not used.
	must(t, os.Chmod(rt, 0o755))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	dir, _, _ = Paths()
	if !strings.HasPrefix(dir, filepath.Join(tmp, "cusax-agent-")) {
		t.Fatalf("Paths with a shared runtime dir = %s, want under %s", dir, tmp)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
