package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"mellium.im/xmpp/jid"

	"github.com/cusax/cusax/pkg/dialtarget"
)

// ErrInvalid is wrapped by every *ValidationError.
var ErrInvalid = errors.New("invalid config")

// ValidationError says which field of which account is wrong. Messages name
// the field with its TOML key (sip.aor, xmpp.mechanisms[1]) so the user can
// find it in the file; they do not repeat URI values, which could carry a
// password the user pasted by mistake.
type ValidationError struct {
	// Account is the account name, or "" for a top-level field.
	Account string
	// Field is the TOML path of the field, e.g. "sip.aor".
	Field string
	// Err says what is wrong.
	Err error

	inAccount bool // set by Account.Validate, so an empty name still prints as one
}

func (e *ValidationError) Error() string {
	if e.Account == "" && !e.inAccount {
		if e.Field == "" {
			return e.Err.Error()
		}
		return fmt.Sprintf("%s: %v", e.Field, e.Err)
	}
	if e.Field == "" {
		return fmt.Sprintf("account %q: %v", e.Account, e.Err)
	}
	return fmt.Sprintf("account %q: %s: %v", e.Account, e.Field, e.Err)
}

// Unwrap returns the underlying cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// The name checks are plain loops, not regular expressions: every cusax
// invocation loads this package, and compiling `{1,64}` repetitions at
// init cost more start-up time than any other package of ours (about 0.6
// ms of a 7 ms `cusax version`; GODEBUG=inittrace=1). charclass_test.go
// checks each against the expression it replaces.

// nameOK is ^[A-Za-z0-9._-]{1,64}$.
func nameOK(s string) bool { return len(s) >= 1 && len(s) <= 64 && all(s, isNameByte) }

// pluginNameOK is ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$.
func pluginNameOK(s string) bool { return nameOK(s) && isAlnum(s[0]) }

// mechanismOK is ^[A-Z0-9_-]{1,20}$ (RFC 4422 §3.1 sasl-mech).
func mechanismOK(s string) bool {
	return len(s) >= 1 && len(s) <= 20 && all(s, func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	})
}

// hostnameOK is ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?$.
func hostnameOK(s string) bool {
	s = strings.TrimSuffix(s, ".")
	return s != "" && isAlnum(s[0]) && isAlnum(s[len(s)-1]) &&
		all(s, func(c byte) bool { return isAlnum(c) || c == '.' || c == '-' })
}

// settingKeyOK is ^[a-z0-9_]{1,64}$.
func settingKeyOK(s string) bool {
	return len(s) >= 1 && len(s) <= 64 && all(s, func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' })
}

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

func isNameByte(c byte) bool { return isAlnum(c) || c == '.' || c == '_' || c == '-' }

func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// ValidateName checks an account name: 1 to 64 characters from
// [A-Za-z0-9._-], and not "." or "..", since names become keyring keys and
// file names.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("must not be %q", name)
	case !nameOK(name):
		return errors.New("must be 1 to 64 characters from A-Z a-z 0-9 . _ -")
	}
	return nil
}

func validatePluginName(name string) error {
	if !pluginNameOK(name) {
		return errors.New("must be a plugin name: 1 to 64 characters from A-Z a-z 0-9 . _ -, not starting with . _ -")
	}
	return nil
}

// Validate checks the whole config: the version, every account (see
// Account.Validate), unique account names, default_account naming an
// account, plugin directories, and the calls.cost_allow patterns
// (dialtarget.ValidatePattern, no duplicates). It returns nil or all problems joined
// (errors.Join), each a *ValidationError.
func (c *Config) Validate() error {
	var errs []error
	top := func(field string, err error) {
		errs = append(errs, &ValidationError{Field: field, Err: err})
	}
	if c.Version < 0 || c.Version > CurrentVersion {
		top("version", fmt.Errorf("%d is not supported (this cusax reads version %d)", c.Version, CurrentVersion))
	}
	if hasControl(c.Default) {
		top("default_account", errControl)
	} else if c.Default != "" && c.index(c.Default) < 0 {
		top("default_account", fmt.Errorf("names no account: %q (have %s)", c.Default, quoteList(c.Names())))
	}
	for i, d := range c.Plugins.Dirs {
		field := fmt.Sprintf("plugins.dirs[%d]", i)
		switch {
		case d == "":
			top(field, errors.New("must not be empty"))
		case hasControl(d):
			top(field, errControl)
		}
	}
	if t := c.Plugins.CallTimeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d <= 0 || d > maxCallTimeout {
			top("plugins.call_timeout", fmt.Errorf("%q is not a duration between 0 and %s (e.g. \"2m\")", t, maxCallTimeout))
		}
	}
	if t := c.Plugins.DecisionTimeout; t != "" {
		if d, err := time.ParseDuration(t); err != nil || d <= 0 || d > maxDecisionTimeout {
			top("plugins.decision_timeout", fmt.Errorf("%q is not a duration between 0 and %s (e.g. \"5s\")", t, maxDecisionTimeout))
		}
	}
	for name, settings := range c.Policies {
		field := "policies." + name
		if err := validatePluginName(name); err != nil {
			top(field, err)
			continue
		}
		for k, v := range settings {
			switch {
			case !settingKeyOK(k):
				top(field+"."+k, errors.New("must be a setting name: 1 to 64 characters from a-z 0-9 _"))
			case hasControl(v):
				top(field+"."+k, errControl)
			}
		}
	}
	for i, p := range c.Calls.CostAllow {
		// dialtarget checks control characters (all of them, not only
		// CR, LF, NUL), emptiness, length and the scheme.
		if err := dialtarget.ValidatePattern(p); err != nil {
			top(fmt.Sprintf("calls.cost_allow[%d]", i), err)
		}
	}
	if err := noDuplicates(c.Calls.CostAllow); err != nil {
		top("calls.cost_allow", err)
	}
	if r := c.Calls.Region; r != "" && !validRegion(r) {
		top("calls.region", fmt.Errorf("%q is not an ISO 3166-1 alpha-2 country code (e.g. \"DE\")", r))
	}
	seen := make(map[string]int, len(c.Accounts))
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if j, dup := seen[a.Name]; dup && a.Name != "" {
			errs = append(errs, &ValidationError{Account: a.Name, Field: "name",
				Err: fmt.Errorf("duplicate: accounts #%d and #%d have this name", j+1, i+1)})
		} else {
			seen[a.Name] = i
		}
		if err := a.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// maxDecisionTimeout caps decision_timeout: a policy is asked while the
// user waits for a call to start.
const maxDecisionTimeout = 10 * time.Minute

// maxCallTimeout caps call_timeout: beyond an hour a bound is no bound.
const maxCallTimeout = time.Hour

var errControl = errors.New("must not contain CR, LF or NUL")

func hasControl(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }

// Validate checks one account: a valid name, at least one aspect, a JID
// with a localpart, an AOR that is a sip: or sips: URI with user and host, a
// server of the form host:port, a proxy that is a sip: or sips: URI whose
// transport parameter, if any, is udp, tcp or tls, plugin and SASL
// mechanism names, a readable absolute ca_file, and no CR, LF or NUL in any
// string (they would let a value inject SIP headers or XMPP stanzas). It
// returns nil or all problems joined, each a *ValidationError.
func (a *Account) Validate() error {
	var errs []error
	add := func(field string, err error) {
		errs = append(errs, &ValidationError{Account: a.Name, Field: field, Err: err, inAccount: true})
	}
	// CR/LF/NUL first, over every string field so new fields are covered
	// without remembering to list them; fields that fail are not parsed
	// further.
	bad := map[string]bool{}
	walkStrings(reflect.ValueOf(*a), "", func(field, s string) {
		if hasControl(s) {
			bad[field] = true
			add(field, errControl)
		}
	})
	check := func(field string, err error) {
		if err != nil && !bad[field] {
			add(field, err)
		}
	}

	check("name", ValidateName(a.Name))
	if a.XMPP == nil && a.SIP == nil {
		add("", errors.New("needs an [account.xmpp] or [account.sip] table, or both"))
	}
	if a.Related && (a.XMPP == nil || a.SIP == nil) {
		// RFC 7081 §3.4: the relationship is between an XMPP and a SIP account.
		add("related", errors.New("needs both an xmpp and a sip aspect (RFC 7081 §3.4)"))
	}
	if a.CAFile != "" {
		check("ca_file", checkReadableFile(a.CAFile))
	}
	for i, p := range a.Policy {
		check(fmt.Sprintf("policy[%d]", i), validatePluginName(p))
	}
	check("policy", noDuplicates(a.Policy))

	if x := a.XMPP; x != nil {
		check("xmpp.jid", validateJID(x.JID))
		if x.Server != "" {
			check("xmpp.server", validateHostPort(x.Server))
		}
		if x.Backend != "" {
			check("xmpp.backend", validatePluginName(x.Backend))
		}
		for i, m := range x.Mechanisms {
			if !mechanismOK(m) {
				check(fmt.Sprintf("xmpp.mechanisms[%d]", i),
					errors.New("must be a SASL mechanism name: 1 to 20 characters from A-Z 0-9 - _ (RFC 4422 §3.1)"))
			}
		}
		check("xmpp.mechanisms", noDuplicates(x.Mechanisms))
	}
	if s := a.SIP; s != nil {
		check("sip.aor", validateAOR(s.AOR))
		if s.Proxy != "" {
			check("sip.proxy", validateProxy(s.Proxy))
		}
		if s.Backend != "" {
			check("sip.backend", validatePluginName(s.Backend))
		}
		if s.IMBackend != "" {
			check("sip.im_backend", validatePluginName(s.IMBackend))
		}
		switch s.MediaEncryption {
		case "", "srtp", "optional", "none":
		default:
			check("sip.media_encryption", fmt.Errorf("%q is not one of srtp, optional, none", s.MediaEncryption))
		}
		switch s.MediaKeying {
		case "", "sdes", "dtls":
		default:
			check("sip.media_keying", fmt.Errorf("%q is not one of sdes, dtls", s.MediaKeying))
		}
		if s.TrustAssertedIdentity && s.Proxy == "" {
			// RFC 3325 §9.1: trust is placed in a known entity, not in
			// whatever server DNS names for the domain.
			check("sip.trust_asserted_identity", errors.New("trusts a proxy's P-Asserted-Identity: name that proxy in sip.proxy"))
		}
	}
	if p := a.Provisioning; p != nil {
		check("provisioning.url", validateProvisioningURL(p.URL))
		switch p.Auth {
		case "", "none", "bearer":
			if p.Username != "" {
				check("provisioning.username", errors.New("only used with auth = \"basic\""))
			}
		case "basic":
			if p.Username == "" {
				check("provisioning.username", errors.New("must not be empty with auth = \"basic\""))
			}
		default:
			check("provisioning.auth", fmt.Errorf("%q is not none, basic or bearer", p.Auth))
		}
		if p.MinTLS != "" && p.MinTLS != "1.2" && p.MinTLS != "1.3" {
			check("provisioning.min_tls", fmt.Errorf("%q is not 1.2 or 1.3", p.MinTLS))
		}
	}
	return errors.Join(errs...)
}

// walkStrings calls fn for every string reachable from v through structs,
// non-nil pointers and slices, with its TOML path.
func walkStrings(v reflect.Value, path string, fn func(field, s string)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String())
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, fn)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			walkStrings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			walkStrings(v.Field(i), name, fn)
		}
	}
}

func noDuplicates(list []string) error {
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if seen[s] {
			return fmt.Errorf("lists %q twice", s)
		}
		seen[s] = true
	}
	return nil
}

func checkReadableFile(path string) error {
	if !filepath.IsAbs(path) {
		return errors.New("must be an absolute path")
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("not readable: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("not readable: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file: %s", path)
	}
	return nil
}

// validateProvisioningURL requires https: the document sets up servers
// and credentials, so it must come over a verified TLS connection
// (RFC 7081 §2: "a web-based service at an HTTPS URL").
func validateProvisioningURL(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL")
	}
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return errors.New("must be an https:// URL")
	case u.Host == "":
		return errors.New("must have a host")
	case u.User != nil:
		// Credentials belong in the secrets store, never in the config.
		return errors.New("must not contain credentials (user@ or user:password@)")
	}
	return nil
}

func validateJID(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	j, err := jid.Parse(s)
	if err != nil {
		return fmt.Errorf("not a valid JID: %w", err)
	}
	if j.Localpart() == "" {
		return errors.New("must have a localpart (user@domain)")
	}
	return nil
}

func validateHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("must be host:port")
	}
	if err := validateHost(host); err != nil {
		return err
	}
	return validatePort(port)
}

func validatePort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return errors.New("port must be a number from 1 to 65535")
	}
	return nil
}

// validateHost accepts a DNS name, an IPv4 address, or an IPv6 address
// (bracketed or not).
func validateHost(host string) error {
	if host == "" {
		return errors.New("host must not be empty")
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return errors.New("host in brackets must be an IPv6 address")
		}
		return nil
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if len(host) > 253 || !hostnameOK(host) {
		return errors.New("host must be a DNS name or an IP address")
	}
	return nil
}

// parseSIPURI parses s with sipgo and applies the checks common to AOR and
// proxy. It keeps s out of its messages.
func parseSIPURI(s string) (*sip.Uri, error) {
	if s == "" {
		return nil, errors.New("must not be empty")
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		var numErr *strconv.NumError
		if errors.As(err, &numErr) {
			return nil, errors.New("not a valid SIP URI: bad port")
		}
		return nil, fmt.Errorf("not a valid SIP URI: %v", err)
	}
	switch {
	case u.Scheme != "sip" && u.Scheme != "sips":
		return nil, errors.New("must be a sip: or sips: URI")
	case u.HierarhicalSlashes:
		return nil, errors.New("not a valid SIP URI: sip: is not followed by //")
	case u.Wildcard:
		return nil, errors.New("must not be *")
	case u.Password != "":
		return nil, errors.New("must not contain a password (keep it in the keyring or a password_command)")
	case u.Headers.Length() > 0:
		return nil, errors.New("must not contain headers (?name=value)")
	case u.Port < 0 || u.Port > 65535:
		return nil, errors.New("not a valid SIP URI: bad port")
	}
	if err := validateHost(u.Host); err != nil {
		return nil, fmt.Errorf("not a valid SIP URI: %w", err)
	}
	return &u, nil
}

func validateAOR(s string) error {
	u, err := parseSIPURI(s)
	if err != nil {
		return err
	}
	if u.User == "" {
		return errors.New("must have a user part (sip:user@host)")
	}
	return nil
}

func validateProxy(s string) error {
	u, err := parseSIPURI(s)
	if err != nil {
		return err
	}
	for _, kv := range u.UriParams {
		if !strings.EqualFold(kv.K, "transport") {
			continue
		}
		switch t := strings.ToLower(kv.V); t {
		case "udp":
			if u.Scheme == "sips" {
				// RFC 3261 §26.2.2: sips requires TLS on every hop.
				return errors.New("transport=udp cannot carry a sips: URI")
			}
		case "tcp", "tls":
		default:
			return errors.New("transport must be udp, tcp or tls")
		}
	}
	return nil
}

// validRegion reports whether r looks like an ISO 3166-1 alpha-2 code.
func validRegion(r string) bool {
	if len(r) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		if c := r[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
