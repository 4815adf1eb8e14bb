package testbed

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// XMPPSessions counts user@domain's live sessions in Prosody, including
// ones hibernating for XEP-0198 resumption (those still take messages),
// through the admin console. Tests use it to see that a client logged out.
func (b *Bed) XMPPSessions(ctx context.Context, user, domain string) (int, error) {
	chunk := fmt.Sprintf(`local h = prosody.hosts[%q]; local u = h and h.sessions and h.sessions[%q]; `+
		`local n = 0; if u then for _ in pairs(u.sessions) do n = n + 1 end end; return true, tostring(n)`, domain, user)
	out, err := b.prosodyLua(ctx, chunk)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return 0, fmt.Errorf("prosody sessions of %s@%s: %q", user, domain, out)
	}
	return n, nil
}
