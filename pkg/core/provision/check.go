package provision

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/core/config"
)

// Limits on refresh_after: a provider must not make clients poll, and a
// hint longer than a year is no hint.
const (
	minRefresh = time.Hour
	maxRefresh = 365 * 24 * time.Hour
)

// maxProviderLen bounds the display name.
const maxProviderLen = 100

// placeholderName stands in for the account name when the document
// suggests none, so that config validation can run.
const placeholderName = "provisioned"

// check applies the field rules of docs/provisioning.md to a document
// that has the right shape. It reuses config validation for everything the
// config file also checks, so a document can never describe an account
// that `cusax login` would refuse, and adds the rules only a document has.
func check(d *Document) error {
	var errs fieldErrors
	checkInto(&errs, d)
	return errs.err()
}

func checkInto(errs *fieldErrors, d *Document) {
	if d.Version != Version {
		errs.add("version", "must be %d (got %d)", Version, d.Version)
	}
	if d.Provider != "" {
		if strings.TrimSpace(d.Provider) == "" {
			errs.add("provider", "must not be blank")
		} else if utf8.RuneCountInString(d.Provider) > maxProviderLen {
			errs.add("provider", "longer than %d characters", maxProviderLen)
		}
	}
	if d.XMPP == nil && d.SIP == nil {
		errs.add("", "sets up neither xmpp nor sip; a document needs at least one of them")
	}
	if d.XMPP != nil {
		checkPassword(errs, "xmpp.password", d.XMPP.Password)
	}
	if s := d.SIP; s != nil {
		checkPassword(errs, "sip.password", s.Password)
		if s.Proxy != "" {
			var u sip.Uri
			if sip.ParseUri(s.Proxy, &u) == nil && u.User != "" {
				// The sip plugin refuses it too; say so here, by field.
				errs.add("sip.proxy", "%s: an outbound proxy URI has no user part", quote(redactURI(s.Proxy)))
			}
		}
	}
	if c := d.CostGate; c != nil {
		for i, p := range c.Allow {
			if msg := tooBroad(p); msg != "" {
				errs.add(fmt.Sprintf("cost_gate.allow[%d]", i), "%s: %s", quote(p), msg)
			}
		}
	}
	switch d.MinTLS {
	case "", "1.2", "1.3":
	default:
		errs.add("min_tls", "%s: must be \"1.2\" or \"1.3\"", quote(d.MinTLS))
	}
	if r := d.RefreshAfter; r != "" {
		dur, err := time.ParseDuration(r)
		switch {
		case err != nil:
			errs.add("refresh_after", "%s: not a duration such as \"24h\" or \"90m\"", quote(r))
		case dur < minRefresh || dur > maxRefresh:
			errs.add("refresh_after", "%s: must be between %v and %v", quote(r), minRefresh, "8760h")
		}
	}
	checkConfig(errs, d)
}

// checkPassword refuses anything but the two sources, without repeating
// the value: it may be the password itself.
func checkPassword(errs *fieldErrors, path string, p PasswordSource) {
	switch p {
	case "", PasswordSame, PasswordPrompt:
		return
	}
	errs.add(path, `must be "same" or "prompt"; a provisioning document must not carry a password (documents are cached and logged on the way; the value is not shown here)`)
}

// tooBroad refuses cost_allow patterns that would switch the cost gate
// off for whole countries or any host: the gate protects the user from
// charges the provider's calls may incur (RFC 7081 §5, §7), so a provider
// may only name specific number ranges and hosts.
func tooBroad(p string) string {
	scheme, rest, ok := strings.Cut(p, ":")
	if !ok {
		return "" // config validation reports it
	}
	if strings.EqualFold(scheme, "tel") {
		digits := 0
		for _, r := range rest {
			if r == '*' {
				break
			}
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		if strings.Contains(rest, "*") && digits < 3 {
			return "too broad for a provider: a tel: pattern needs at least 3 digits before the first '*'"
		}
		return ""
	}
	host := rest[strings.LastIndexByte(rest, '@')+1:]
	host, _, _ = strings.Cut(host, ";")
	if strings.Contains(host, "*") {
		return "too broad for a provider: the host of a sip: pattern must be spelled out, without '*'"
	}
	return ""
}

// checkConfig builds the account and [calls] settings the document
// describes and runs config validation on them, reporting each problem
// under the document's path for the field.
func checkConfig(errs *fieldErrors, d *Document) {
	name := d.Account
	if name == "" {
		name = placeholderName
	}
	a := build(d, name)
	c := config.Config{Version: config.CurrentVersion, Accounts: []config.Account{a}}
	if d.CostGate != nil {
		c.Calls = config.CallSettings{CostAllow: d.CostGate.Allow, Region: d.CostGate.Region}
	}
	for _, err := range flatten(c.Validate()) {
		var ve *config.ValidationError
		if !errors.As(err, &ve) {
			errs.add("", "%v", err)
			continue
		}
		path := docPath(ve.Field)
		msg := ve.Err.Error()
		if v, ok := valueAt(d, path); ok && v != "" && !strings.Contains(msg, "password") {
			msg = quote(redactURI(v)) + ": " + msg
		}
		if path == "" && a.XMPP == nil && a.SIP == nil {
			continue // reported above, in the document's words
		}
		errs.add(path, "%s", msg)
	}
}

// docPath maps a config field path to the document's.
func docPath(field string) string {
	switch {
	case field == "name":
		return "account"
	case field == "calls.region":
		return "cost_gate.region"
	case strings.HasPrefix(field, "calls.cost_allow"):
		return "cost_gate.allow" + strings.TrimPrefix(field, "calls.cost_allow")
	}
	return field
}

// valueAt returns the string at a document path, for error messages.
func valueAt(d *Document, path string) (string, bool) {
	var i int
	switch {
	case path == "account":
		return d.Account, true
	case d.XMPP != nil && path == "xmpp.jid":
		return d.XMPP.JID, true
	case d.XMPP != nil && path == "xmpp.server":
		return d.XMPP.Server, true
	case d.XMPP != nil && scanIndex(path, "xmpp.mechanisms[%d]", &i) && i < len(d.XMPP.Mechanisms):
		return d.XMPP.Mechanisms[i], true
	case d.SIP != nil && path == "sip.aor":
		return d.SIP.AOR, true
	case d.SIP != nil && path == "sip.proxy":
		return d.SIP.Proxy, true
	case d.SIP != nil && path == "sip.username":
		return d.SIP.Username, true
	case d.CostGate != nil && path == "cost_gate.region":
		return d.CostGate.Region, true
	case d.CostGate != nil && scanIndex(path, "cost_gate.allow[%d]", &i) && i < len(d.CostGate.Allow):
		return d.CostGate.Allow[i], true
	}
	return "", false
}

func scanIndex(path, format string, i *int) bool {
	n, err := fmt.Sscanf(path, format, i)
	return err == nil && n == 1 && fmt.Sprintf(format, *i) == path
}

// redactURI hides the password of a sip:user:password@host URI, so that a
// provider's mistake does not end up on screen or in a log.
func redactURI(s string) string {
	scheme, rest, ok := strings.Cut(s, ":")
	at := strings.LastIndexByte(rest, '@')
	if !ok || at < 0 {
		return s
	}
	user, _, hasPw := strings.Cut(rest[:at], ":")
	if !hasPw {
		return s
	}
	return scheme + ":" + user + ":***" + rest[at:]
}

// flatten undoes errors.Join.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
