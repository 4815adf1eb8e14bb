package cli

import (
	"fmt"
	"os"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/hashicorp/go-hclog"
)

// noAgentEnv reports CUSAX_NO_AGENT set to anything but "" or "0".
func noAgentEnv() bool {
	v := os.Getenv("CUSAX_NO_AGENT")
	return v != "" && v != "0"
}

// agentSource is the Backends of a command that may use `cusax agent`'s
// live sessions (issue 17): commands are unchanged, session.Open and
// OpenChat/OpenTelephony take a lease where the agent serves the account
// and start plugins (plugins, lazily) where it does not. An agent socket
// that is there but cannot be trusted or reached is ignored with one note.
func agentSource(io *iostreams.IOStreams, log hclog.Logger, plugins func() (session.Source, error)) *session.AgentSource {
	_, sock, _ := agentapi.Paths()
	return &session.AgentSource{
		Inner:  plugins,
		Dial:   agentapi.Dial,
		Socket: sock,
		Ignored: func(sock string, err error) {
			fmt.Fprintf(io.ErrOut, "cusax: note: ignoring the agent socket at %s: %s; logging in directly\n", sock, oneLine(err.Error()))
		},
		Log: log,
	}
}
