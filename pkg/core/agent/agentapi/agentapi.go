package agentapi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var (
	// ErrNoAgent: no agent runs for this user: there is no socket, or
	// nothing listens on it (a killed agent left it behind).
	ErrNoAgent = errors.New("no agent running")
	// ErrRefused: the socket, its directory or the process behind it is
	// not private to this user (another owner, group or other permission
	// bits, a symlink, not a socket): it is never used.
	ErrRefused = errors.New("agent socket refused")
)

// SocketName is the socket's file name inside its directory.
const SocketName = "agent.sock"

// Paths returns the agent's socket directory and socket path:
// $XDG_RUNTIME_DIR/cusax-agent/agent.sock when XDG_RUNTIME_DIR is an
// absolute directory private to the user (XDG Base Directory spec), else
// $TMPDIR/cusax-agent-UID/agent.sock. It creates nothing. The error is
// reserved (today always nil).
func Paths() (dir, sock string, err error) {
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) && CheckDir(x) == nil {
		dir = filepath.Join(x, "cusax-agent")
	} else {
		dir = filepath.Join(os.TempDir(), "cusax-agent-"+strconv.Itoa(os.Geteuid()))
	}
	return dir, filepath.Join(dir, SocketName), nil
}

// CheckDir refuses (an error wrapping ErrRefused, naming dir and what is
// wrong) a dir that is a symlink, not a directory, not owned by the
// current uid, or has any group or other permission bit. A missing dir is
// an error wrapping fs.ErrNotExist.
func CheckDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	var why string
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		why = "is a symbolic link"
	case !fi.IsDir():
		why = "is not a directory"
	case !ok:
		why = "has an unknown owner"
	case int(st.Uid) != os.Geteuid():
		why = fmt.Sprintf("is owned by uid %d, not %d", st.Uid, os.Geteuid())
	case fi.Mode().Perm()&0o077 != 0:
		why = fmt.Sprintf("has mode %04o: other users may enter it (want 0700)", fi.Mode().Perm())
	default:
		return nil
	}
	return fmt.Errorf("%w: directory %s %s", ErrRefused, dir, why)
}

// CheckSocket refuses (ErrRefused) a socket path that is not a unix
// socket owned by the current uid (a regular file, a device node, a
// symlink, another user's socket). A missing socket is an error wrapping
// fs.ErrNotExist.
func CheckSocket(sock string) error {
	fi, err := os.Lstat(sock)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	var why string
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		why = "is a symbolic link"
	case fi.Mode().Type() != fs.ModeSocket:
		why = "is not a socket"
	case !ok:
		why = "has an unknown owner"
	case int(st.Uid) != os.Geteuid():
		why = fmt.Sprintf("is owned by uid %d, not %d", st.Uid, os.Geteuid())
	default:
		return nil
	}
	return fmt.Errorf("%w: %s %s", ErrRefused, sock, why)
}

// Dial connects to the user's agent: CheckDir and CheckSocket, one
// connection to prove something listens there and runs as this user
// (SO_PEERCRED), then a gRPC client on it (insecure transport credentials:
// the socket is private, its peer proven by the kernel). Errors: ErrNoAgent
// (no socket, or nothing listens), ErrRefused (not private, or the
// listener runs as another user), or ctx's error.
func Dial(ctx context.Context) (*grpc.ClientConn, error) {
	dir, sock, err := Paths()
	if err != nil {
		return nil, err
	}
	return DialPath(ctx, dir, sock)
}

// DialPath is Dial for an explicit directory and socket (tests).
func DialPath(ctx context.Context, dir, sock string) (*grpc.ClientConn, error) {
	if err := CheckDir(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (no %s)", ErrNoAgent, dir)
		}
		return nil, err
	}
	if err := CheckSocket(sock); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (no %s)", ErrNoAgent, sock)
		}
		return nil, err
	}
	first, err := probe(ctx, sock)
	if err != nil {
		return nil, err
	}
	// The probed connection serves gRPC's first dial, so a one-liner pays
	// for one connect only; later (re)dials check the peer again.
	var once sync.Once
	dialer := func(ctx context.Context, _ string) (net.Conn, error) {
		var c net.Conn
		once.Do(func() { c, first = first, nil })
		if c != nil {
			return c, nil
		}
		return probe(ctx, sock)
	}
	cc, err := grpc.NewClient("unix://"+sock,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(dialer))
	if err != nil {
		_ = first.Close()
		return nil, fmt.Errorf("agent %s: %w", sock, err)
	}
	return cc, nil
}

// probe connects to sock and checks that the listener runs as this user.
func probe(ctx context.Context, sock string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w (%s: nothing listens; a stale socket)", ErrNoAgent, sock)
		}
		return nil, fmt.Errorf("agent %s: %w", sock, err)
	}
	uid, err := PeerUID(c)
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("agent %s: %w", sock, err)
	}
	if uid != os.Geteuid() {
		_ = c.Close()
		return nil, fmt.Errorf("%w: %s: the agent runs as uid %d, not %d", ErrRefused, sock, uid, os.Geteuid())
	}
	return c, nil
}

// EnsureDir creates dir (mode 0700, whatever the umask) when missing and
// then checks it with CheckDir: the agent refuses to run in a directory
// others can reach.
func EnsureDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err == nil {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return err
	}
	return CheckDir(dir)
}
