package provision

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// LinkRel is the WebFinger link relation of a cusax provisioning document
// (RFC 7033 §4.4.4.1: a URI, since it is not a registered relation type).
// It is under the project's own address, so no one else defines it.
const LinkRel = "https://github.com/cusax/cusax/rel/provisioning"

// jrdMediaType is the JSON Resource Descriptor type (RFC 7033 §10.2).
const jrdMediaType = "application/jrd+json"

// DiscoverOptions configure Discover.
type DiscoverOptions struct {
	// Roots verify the server's certificate; nil means the system roots.
	Roots *x509.CertPool
	// Timeout bounds the whole query; 0 means DefaultTimeout.
	Timeout time.Duration
	// Addr, if set, is HOST:PORT to connect to instead of DOMAIN:443; the
	// certificate is still verified for DOMAIN (like curl --connect-to).
	// It is for test beds and for providers whose WebFinger server has
	// no address of its own.
	Addr string
	// UserAgent is sent as User-Agent; "" sends "cusax".
	UserAgent string
}

// Discover finds the provisioning document of address (user@domain or
// acct:user@domain) by WebFinger: it asks
// https://DOMAIN/.well-known/webfinger?resource=acct:user@domain&rel=LinkRel
// (RFC 7033 §4, §4.1; always HTTPS, §4.2 and §9.1) and returns the href of
// the first link with rel LinkRel whose href is an absolute https:// URL
// (RFC 7033 §4.4.4.3: href is a URI, so a relative one is refused, not
// resolved).
//
// The response must be a JRD (application/jrd+json or application/json)
// of at most MaxDocumentSize bytes whose subject, if any, is the account
// asked about. Redirects follow the rules of Fetch (https only, at most 5;
// RFC 7033 §4.2).
//
// Errors wrap protocol.ErrInvalid (bad address), ErrNotFound (404: no
// WebFinger service or no such account; no link with LinkRel),
// ErrInsecure (only plain-HTTP links; an http redirect), ErrProtocol
// (malformed JRD, wrong subject) and the transport sentinels of Fetch.
func Discover(ctx context.Context, address string, opts DiscoverOptions) (string, error) {
	resource, domain, err := acctURI(address)
	if err != nil {
		return "", err
	}
	q := url.Values{"resource": {resource}, "rel": {LinkRel}}
	u := &url.URL{Scheme: "https", Host: domain, Path: "/.well-known/webfinger", RawQuery: q.Encode()}
	shown := "https://" + domain + "/.well-known/webfinger"

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	if opts.Addr != "" {
		if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
			return "", fmt.Errorf("webfinger address %s: must be HOST:PORT: %w", quote(opts.Addr), protocol.ErrInvalid)
		}
		var d net.Dialer
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.EqualFold(addr, net.JoinHostPort(domain, "443")) {
				addr = opts.Addr // only the WebFinger host; a redirect elsewhere dials normally
			}
			return d.DialContext(ctx, network, addr)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("webfinger %s: %v: %w", shown, err, protocol.ErrInvalid)
	}
	req.Header.Set("Accept", jrdMediaType+", application/json;q=0.9")
	req.Header.Set("User-Agent", userAgent(opts.UserAgent))
	resp, err := newClient(opts.Roots, dial).client.Do(req)
	if err != nil {
		return "", fmt.Errorf("webfinger %s: %w", shown, transportError(ctx, err, timeout))
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("webfinger %s: %s: no WebFinger service there, or it does not know %s: %w", shown, resp.Status, resource, protocol.ErrNotFound)
	}
	if err := statusError(resp, false, ""); err != nil {
		return "", fmt.Errorf("webfinger %s: %w", shown, err)
	}
	if err := checkMediaType(resp.Header.Get("Content-Type"), jrdMediaType, "application/json"); err != nil {
		return "", fmt.Errorf("webfinger %s: %w", shown, err)
	}
	data, err := readLimited(resp)
	if err != nil {
		var de *DocumentError
		if errors.As(err, &de) {
			return "", fmt.Errorf("webfinger %s: %s: %w", shown, de.Fields[0].Msg, protocol.ErrProtocol)
		}
		return "", fmt.Errorf("webfinger %s: %w", shown, transportError(ctx, err, timeout))
	}
	href, err := provisioningLink(data, resource)
	if err != nil {
		return "", fmt.Errorf("webfinger %s: %w", shown, err)
	}
	return href, nil
}

// acctURI turns user@domain or acct:user@domain into the acct: URI
// (RFC 7565) and the domain to ask.
func acctURI(address string) (resource, domain string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("address %s: %s: %w", quote(address), why, protocol.ErrInvalid)
	}
	a := address
	if scheme, rest, ok := strings.Cut(a, ":"); ok {
		if !strings.EqualFold(scheme, "acct") {
			return bad("want user@domain or acct:user@domain")
		}
		a = rest
	}
	at := strings.LastIndexByte(a, '@')
	if at <= 0 || at == len(a)-1 {
		return bad("want user@domain")
	}
	user, domain := a[:at], strings.ToLower(strings.TrimSuffix(a[at+1:], "."))
	if msg := badText(user); msg != "" || strings.ContainsAny(user, " /?#") {
		return bad("the user part must not contain white space, control characters, / ? or #")
	}
	if !validDomain(domain) {
		return bad("the domain must be a DNS name in ASCII (use the xn-- form of an international name)")
	}
	// RFC 7565 §7: the user part is percent-encoded where needed.
	return "acct:" + url.PathEscape(user) + "@" + domain, domain, nil
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || net.ParseIP(d) != nil {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

// jrd is the part of a JSON Resource Descriptor (RFC 7033 §4.4) cusax
// reads; other members (aliases, properties, titles) are ignored, as
// §4.4 lets clients do.
type jrd struct {
	Subject string `json:"subject"`
	Links   []struct {
		Rel  string `json:"rel"`
		Type string `json:"type"`
		Href string `json:"href"`
	} `json:"links"`
}

// provisioningLink picks the href of the first LinkRel link that is an
// absolute https URL. Servers may ignore the rel parameter and send every
// link (RFC 7033 §4.3), so the rel is checked here.
func provisioningLink(data []byte, resource string) (string, error) {
	var j jrd
	if err := json.Unmarshal(data, &j); err != nil {
		return "", fmt.Errorf("malformed JRD (RFC 7033 §4.4): %s: %w", strings.TrimPrefix(err.Error(), "json: "), protocol.ErrProtocol)
	}
	if j.Subject != "" && !strings.EqualFold(j.Subject, resource) {
		return "", fmt.Errorf("the answer is about %s, not %s: %w", quote(j.Subject), resource, protocol.ErrProtocol)
	}
	var refused []string
	for _, l := range j.Links {
		if l.Rel != LinkRel {
			continue
		}
		if l.Type != "" && l.Type != MediaType && l.Type != "application/json" {
			refused = append(refused, fmt.Sprintf("%s has type %s", quote(l.Href), quote(l.Type)))
			continue
		}
		u, err := url.Parse(l.Href)
		switch {
		case err != nil || !u.IsAbs() || u.Host == "":
			refused = append(refused, fmt.Sprintf("%s is not an absolute URL", quote(l.Href)))
		case strings.EqualFold(u.Scheme, "http"):
			refused = append(refused, fmt.Sprintf("%s is plain HTTP", displayURL(u)))
		case !strings.EqualFold(u.Scheme, "https"):
			refused = append(refused, fmt.Sprintf("%s is not https", quote(u.Scheme+":…")))
		case u.User != nil:
			refused = append(refused, fmt.Sprintf("%s carries user info", displayURL(u)))
		default:
			return u.String(), nil
		}
	}
	if len(refused) > 0 {
		sentinel := protocol.ErrProtocol
		for _, r := range refused {
			if strings.HasSuffix(r, "plain HTTP") {
				sentinel = protocol.ErrInsecure
			}
		}
		return "", fmt.Errorf("no usable provisioning link: %s: %w", strings.Join(refused, "; "), sentinel)
	}
	return "", fmt.Errorf("no link with rel %q for %s: the provider does not offer cusax provisioning by WebFinger: %w", LinkRel, resource, protocol.ErrNotFound)
}
