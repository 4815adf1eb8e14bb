package account

import (
	"context"
	"time"

	"github.com/cusax/cusax/pkg/core/agent/agentapi"
)

// agentAsk bounds the question to the agent: the answer only adds a note.
const agentAsk = 2 * time.Second

// agentKeeps reports whether a running agent keeps the account called
// name connected. The agent reads the config once, at start: after a
// remove or rename it goes on with the old account until restarted. No
// agent, or one that does not answer in time, is "no".
func (o *Options) agentKeeps(name string) bool {
	ctx, cancel := context.WithTimeout(o.F.Context, agentAsk)
	defer cancel()
	ask := o.AgentStatus
	if ask == nil {
		ask = agentStatus
	}
	st, err := ask(ctx)
	if err != nil || st == nil {
		return false
	}
	for _, a := range st.GetAccounts() {
		if a.GetName() == name {
			return true
		}
	}
	return false
}

// agentStatus asks the user's agent over its socket (agentapi.Dial
// refuses a socket that is not private to the user).
func agentStatus(ctx context.Context) (*agentapi.StatusResponse, error) {
	cc, err := agentapi.Dial(ctx)
	if err != nil {
		return nil, err
	}
	defer cc.Close()
	return agentapi.NewAgentClient(cc).Status(ctx, &agentapi.StatusRequest{})
}
