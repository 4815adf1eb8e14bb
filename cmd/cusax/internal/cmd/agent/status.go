package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/agent/agentapi"
)

// StatusJSON is `agent status --json`.
type StatusJSON struct {
	PID       int           `json:"pid"`
	UID       int           `json:"uid"`
	Version   string        `json:"version"`
	StartedAt time.Time     `json:"started_at"`
	Socket    string        `json:"socket"`
	Accounts  []AccountJSON `json:"accounts"`
	// OpenLeases counts the leases one-liners hold on the socket now.
	OpenLeases int `json:"open_leases"`
}

// AccountJSON is one account of StatusJSON.
type AccountJSON struct {
	Name      string      `json:"name"`
	Chat      *AspectJSON `json:"chat,omitempty"`
	Telephony *AspectJSON `json:"telephony,omitempty"`
}

// AspectJSON is one aspect's state.
type AspectJSON struct {
	Address   string    `json:"address"`
	Backend   string    `json:"backend"`
	State     string    `json:"state"` // connected, connecting, down
	Since     time.Time `json:"changed_at"`
	LastError string    `json:"last_error,omitempty"`
}

func aspectJSON(a *agentapi.AspectStatus) *AspectJSON {
	if a == nil {
		return nil
	}
	return &AspectJSON{Address: a.GetAddress(), Backend: a.GetBackend(), State: a.GetState(),
		Since: time.Unix(0, a.GetSinceNs()).UTC(), LastError: a.GetLastError()}
}

// showStatus is `cusax agent status`.
func showStatus(o *Options) error {
	f := o.F
	ctx, cancel := context.WithTimeout(f.Context, 5*time.Second)
	defer cancel()
	c, done, err := dial(ctx)
	if err != nil {
		return agentErr(err)
	}
	defer done()
	st, err := c.Status(ctx, &agentapi.StatusRequest{})
	if err != nil {
		return agentErr(fmt.Errorf("%w (it does not answer: %v)", agentapi.ErrNoAgent, err))
	}
	_, sock, _ := agentapi.Paths()
	v := StatusJSON{PID: int(st.GetPid()), UID: int(st.GetUid()), Version: st.GetVersion(),
		StartedAt: time.Unix(0, st.GetStartedAtNs()).UTC(), Socket: sock, Accounts: []AccountJSON{},
		OpenLeases: int(st.GetOpenLeases())}
	for _, a := range st.GetAccounts() {
		v.Accounts = append(v.Accounts, AccountJSON{Name: a.GetName(), Chat: aspectJSON(a.GetChat()), Telephony: aspectJSON(a.GetTelephony())})
	}
	if o.JSON {
		return cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("agent-status"), v)
	}
	out := f.IO.Out
	fmt.Fprintf(out, "agent\tpid %d\t%s\tsince %s\n", v.PID, cmdutil.TermSafe(v.Version), v.StartedAt.Local().Format(time.DateTime))
	for _, a := range v.Accounts {
		for _, x := range []struct {
			label string
			a     *AspectJSON
		}{{"telephony", a.Telephony}, {"chat", a.Chat}} {
			if x.a == nil {
				continue
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s\tsince %s", a.Name, x.label, x.a.Address, x.a.State, x.a.Since.Local().Format(time.DateTime))
			if x.a.LastError != "" && x.a.State != "connected" {
				line += "\t" + x.a.LastError
			}
			fmt.Fprintln(out, cmdutil.TermSafe(line))
		}
	}
	return nil
}
