package testbed

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"
)

// prosodyShellSocket is where mod_admin_socket listens: "prosody.sock" in data_path, its
// default.
func (b *Bed) prosodyShellSocket() string {
	return filepath.Join(b.prosody.files.Data, "prosody.sock")
}

// prosodyLua runs a chunk of Lua inside the running Prosody through its admin console
// (mod_admin_shell over mod_admin_socket, the protocol of `prosodyctl shell`). The chunk sees
// Prosody's globals (require, prosody.hosts…); a leading ">" is added, which is the
// console's way of saying "raw Lua". The chunk should end with `return true, "message"`:
// the message comes back; a Lua error, or a false first value, comes back as an error.
//
// This is how the bed changes state that Prosody keeps in memory, such as the roster of a
// user who is online or whose roster it has cached: writing the storage file behind its back
// would be overwritten or ignored. Nothing secret should go into chunk: Prosody logs console
// input at debug level.
func (b *Bed) prosodyLua(ctx context.Context, chunk string) (string, error) {
	sock := b.prosodyShellSocket()
	if len(sock) > maxUnixSocketPath {
		// mod_admin_socket could not bind it either (it logs that and Prosody runs on).
		return "", fmt.Errorf("prosody admin console: socket path %s is longer than %d bytes", sock, maxUnixSocketPath)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return "", fmt.Errorf("prosody admin console: %w", err)
	}
	defer conn.Close()
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	_ = conn.SetDeadline(dl)

	// adminstream (util/adminstream.lua) is an XMPP-like stream whose default namespace is
	// xmpp:prosody.im/admin; each <repl-input/> is one console line, answered by zero or
	// more <repl-output/> and one <repl-result type='error'?/>.
	var sb strings.Builder
	sb.WriteString("<?xml version='1.0'?><stream:stream xmlns='xmpp:prosody.im/admin' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
	sb.WriteString("<repl-input>")
	_ = xml.EscapeText(&sb, []byte(">"+chunk))
	sb.WriteString("</repl-input>")
	if _, err := conn.Write([]byte(sb.String())); err != nil {
		return "", fmt.Errorf("prosody admin console: %w", err)
	}
	dec := xml.NewDecoder(conn)
	var output []string
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("prosody admin console: read: %w", err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok || (start.Name.Local != "repl-output" && start.Name.Local != "repl-result") {
			continue
		}
		var n xnode
		if err := dec.DecodeElement(&n, &start); err != nil {
			return "", fmt.Errorf("prosody admin console: read: %w", err)
		}
		if start.Name.Local == "repl-output" {
			output = append(output, n.Text)
			continue
		}
		_, _ = conn.Write([]byte("</stream:stream>"))
		text := strings.TrimSpace(n.Text)
		if n.attr("type") == "error" {
			if len(output) > 0 {
				text += " (output: " + strings.Join(output, "\n") + ")"
			}
			return "", errors.New("prosody admin console: " + text)
		}
		// handle_line in mod_admin_shell: "OK: msg" for (true, msg), "Result: v" for a
		// single value, "Error: msg" (type=error) for (false/nil, msg).
		msg, _ := strings.CutPrefix(text, "OK: ")
		return msg, nil
	}
}
