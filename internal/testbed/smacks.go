package testbed

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// SMUnacked reports, for each live c2s session of the bare JID (keyed by
// resource), how many stanzas Prosody sent it that the client has not yet
// acknowledged with XEP-0198 stream management; -1 for a session without
// stream management. It reads Prosody's own state (mod_smacks'
// outgoing_stanza_queue) through the admin console, so a test can wait for
// "the server knows the client handled everything" instead of sleeping.
func (b *Bed) SMUnacked(ctx context.Context, bare string) (map[string]int, error) {
	user, host, ok := strings.Cut(bare, "@")
	if !ok || strings.ContainsAny(bare, `"\`+"\n") {
		return nil, fmt.Errorf("testbed: SMUnacked: bad JID %q", bare)
	}
	out, err := b.prosodyLua(ctx, fmt.Sprintf(`local h = prosody.hosts[%q]
local us = h and h.sessions and h.sessions[%q]
local out = {}
if us then
  for res, s in pairs(us.sessions) do
    local q = s.outgoing_stanza_queue
    out[#out+1] = res .. "=" .. tostring((s.smacks and q) and q:count_unacked() or -1)
  end
end
return true, "unacked:" .. table.concat(out, ",")`, host, user))
	if err != nil {
		return nil, err
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(out), "unacked:")
	if !ok {
		return nil, fmt.Errorf("testbed: SMUnacked: unexpected answer %q", out)
	}
	m := map[string]int{}
	for _, kv := range strings.Split(rest, ",") {
		if kv == "" {
			continue
		}
		i := strings.LastIndexByte(kv, '=')
		n, err := strconv.Atoi(kv[i+1:])
		if i < 0 || err != nil {
			return nil, fmt.Errorf("testbed: SMUnacked: unexpected answer %q", out)
		}
		m[kv[:i]] = n
	}
	return m, nil
}
