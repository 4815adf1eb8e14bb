package provision

import (
	"strings"
	"testing"
)

// validJSON is the full example of docs/provisioning.md.
const validJSON = `{
  "version": 1,
  "provider": "Example Telecom",
  "account": "work",
  "related": true,
  "xmpp": {
    "jid": "alice@example.com",
    "server": "xmpp.example.com:5222",
    "direct_tls": false,
    "mechanisms": ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
    "password": "same"
  },
  "sip": {
    "aor": "sip:alice@example.com",
    "username": "alice",
    "proxy": "sip:sip.example.com:5061;transport=tls",
    "password": "same"
  },
  "features": {"calls_over_xmpp": false, "im_over_sip": false, "call_info": true},
  "cost_gate": {"allow": ["sip:*@example.com", "tel:+4930*"], "region": "DE"},
  "min_tls": "1.2",
  "refresh_after": "24h"
}`

// edit replaces old by new in validJSON, failing if old is absent.
func edit(t testing.TB, old, new string) string {
	t.Helper()
	if !strings.Contains(validJSON, old) {
		t.Fatalf("validJSON has no %q", old)
	}
	return strings.Replace(validJSON, old, new, 1)
}
