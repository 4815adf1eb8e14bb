package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// maxUnixSocketPath is the longest path a Unix socket can have (sockaddr_un.sun_path holds
// 108 bytes with the terminating NUL).
const maxUnixSocketPath = 107

// rpcClientSocket names the socket a kamailioRPC call receives its answer on.
func rpcClientSocket(f kamailioFiles) string {
	return filepath.Join(f.Dir, "rpc-"+randomHex(4)+".sock")
}

// rpcUsable reports whether the RPC sockets fit in a Unix socket path; if not (a very long
// --dir), Kamailio runs without jsonrpcs and AddUsers cannot add SIP users.
func rpcUsable(f kamailioFiles) bool {
	return len(rpcClientSocket(f)) <= maxUnixSocketPath
}

// kamailioRPC calls a Kamailio RPC command (e.g. "htable.sets") through the jsonrpcs module's
// Unix datagram socket and returns the JSON-RPC result. Parameters travel in the datagram,
// never in a command line (kamcmd would put a password in argv).
func (b *Bed) kamailioRPC(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	k := b.kamailio
	if k == nil || !k.rpc {
		return nil, fmt.Errorf("kamailio RPC is not available: socket paths under %s would be longer than %d bytes", filepath.Join(b.Dir, "kamailio"), maxUnixSocketPath)
	}
	// The server answers to the sender's address, so the client socket needs a name too.
	local := rpcClientSocket(k.files)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: local, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("kamailio RPC: %w", err)
	}
	defer os.Remove(local)
	defer conn.Close()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(5 * time.Second)
	}
	_ = conn.SetDeadline(dl)
	id := randomHex(4)
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": id})
	if err != nil {
		return nil, err
	}
	server := &net.UnixAddr{Name: k.files.RPC, Net: "unixgram"}
	for {
		_, err = conn.WriteToUnix(req, server)
		// Right after start-up the RPC worker may not have bound its socket yet.
		if err == nil || !(errors.Is(err, os.ErrNotExist) || isConnRefused(err)) || time.Now().After(dl) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("kamailio RPC %s: %w", method, err)
	}
	buf := make([]byte, 64<<10)
	n, _, err := conn.ReadFromUnix(buf)
	if err != nil {
		return nil, fmt.Errorf("kamailio RPC %s: %w", method, err)
	}
	var resp struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(buf[:n], &resp); err != nil {
		return nil, fmt.Errorf("kamailio RPC %s: reply %q: %w", method, buf[:n], err)
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("kamailio RPC %s: error %d: %s", method, resp.Error.Code, resp.Error.Message)
	}
	return resp.Result, nil
}

func isConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
