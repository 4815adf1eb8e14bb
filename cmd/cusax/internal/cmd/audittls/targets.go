package audittls

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/auditrun"
	"github.com/cusax/cusax/pkg/core/config"
)

// maxTargets bounds a targets file: an operator's list of providers, not
// a scan of the Internet.
const maxTargets = 10000

// parseTargets reads a --targets file: one target a line, '#' starts a
// comment. A line is a configured account's name, a service domain (both
// aspects found in DNS), or two domains: the chat (XMPP) domain, then the
// telephony (SIP) domain. Errors name the file and line.
func parseTargets(name string, r io.Reader, cfg *config.Config) ([]auditrun.Target, error) {
	var out []auditrun.Target
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 4096)
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		bad := func(format string, a ...any) error {
			return cmdutil.Usagef("%s:%d: %s", name, line, fmt.Sprintf(format, a...))
		}
		switch len(fields) {
		case 0:
			continue
		case 1:
			if a, err := cfg.Account(fields[0]); err == nil {
				out = append(out, auditrun.Target{Name: a.Name, Account: a})
				continue
			}
			if !isDomain(fields[0]) {
				return nil, bad("%q is neither a configured account nor a domain", fields[0])
			}
			out = append(out, auditrun.DomainTarget(strings.ToLower(fields[0])))
		case 2:
			for _, f := range fields {
				if !isDomain(f) {
					return nil, bad("%q is not a domain", f)
				}
			}
			chat, tel := strings.ToLower(fields[0]), strings.ToLower(fields[1])
			out = append(out, auditrun.Target{Name: chat + "/" + tel, ChatDomain: chat, TelephonyDomain: tel})
		default:
			return nil, bad("want an account, a domain, or a chat domain and a telephony domain; got %d fields", len(fields))
		}
		if len(out) > maxTargets {
			return nil, bad("more than %d targets", maxTargets)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, cmdutil.Usagef("%s:%d: %v", name, line+1, err)
	}
	if len(out) == 0 {
		return nil, cmdutil.Usagef("%s: no targets", name)
	}
	return out, nil
}

// isDomain: a host name of letters, digits, hyphens and dots with at least
// one dot, not an IP address (DNS discovery needs a name).
func isDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
