// Command badimpp is a deliberately misbehaving IMPP plugin for tests,
// built as cusax-plugin-impp-xmpp so that it stands in for the built-in.
// What it does is fixed at build time (-ldflags "-X main.mode=MODE"):
//
//	forkhold     start a child (/bin/sleep 300) that keeps our stdout open, write
//	             its pid to child.pid beside the executable, then fail the
//	             go-plugin handshake and exit: go-plugin's Kill waits for
//	             stdout to close, which would hang the host forever
//	hangconnect  serve normally, but never answer Connect (ignoring ctx)
//	hangroster   connect at once, then never answer Roster (ignoring ctx)
//
// It exists to prove that the host bounds every wait on a plugin and
// leaves no process of it behind.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
)

var mode = "hangconnect"

type hung struct{}

func (hung) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindIMPP, Name: "xmpp", Version: "0", APIVersion: protocol.APIVersion,
		Description: "test only: " + mode}, nil
}

func (hung) Connect(_ context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	if mode == "hangroster" {
		return &hungSession{addr: req.Address}, nil
	}
	select {} // the host must not rely on the plugin giving up
}

// hungSession is connected, and never answers Roster.
type hungSession struct {
	protocol.UnsupportedIMPPSession
	addr string
}

func (s *hungSession) Report() protocol.ConnectionReport {
	return protocol.ConnectionReport{Address: s.addr, Encrypted: true}
}

func (*hungSession) Roster(context.Context) ([]protocol.RosterItem, error) {
	select {} // the host must bound this wait itself
}

func (*hungSession) Close(context.Context) error { return nil }

func main() {
	if mode == "forkhold" {
		child := exec.Command("/bin/sleep", "300") // no PATH: the host passes little environment
		child.Stdout = os.Stdout
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		exe, _ := os.Executable()
		_ = os.WriteFile(filepath.Join(filepath.Dir(exe), "child.pid"), []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		fmt.Println("this is not a go-plugin handshake")
		os.Exit(1)
	}
	plugin.Serve(plugin.ServeConfig{IMPP: hung{}, Logger: plugin.Logger("badimpp", os.Getenv(protocol.LogLevelEnv))})
}
