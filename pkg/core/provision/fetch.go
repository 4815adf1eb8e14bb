package provision

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// DefaultTimeout bounds a whole fetch (connect, TLS, redirects, body)
// when FetchOptions.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// maxRedirects is how many redirects Fetch and Discover follow.
const maxRedirects = 5

// Roots returns the system roots plus the certificates in caPEM (the
// user's --ca-file), for FetchOptions.Roots and DiscoverOptions.Roots; nil
// when caPEM is empty, which means the system roots alone. Only the user
// adds trust: a document never can.
func Roots(caPEM []byte) (*x509.CertPool, error) {
	if len(caPEM) == 0 {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("ca file: no PEM certificate found: %w", protocol.ErrInvalid)
	}
	return pool, nil
}

// Auth is how a fetch authenticates: nil (none), Basic or Bearer.
type Auth interface {
	// Kind is "basic" or "bearer", as recorded in config.Provisioning.
	Kind() string
	set(h http.Header)
}

// Basic is HTTP basic authentication (RFC 7617) with the user's ID and
// password.
type Basic struct{ User, Password string }

// Kind returns "basic".
func (Basic) Kind() string { return "basic" }

func (b Basic) set(h http.Header) {
	r := http.Request{Header: h}
	r.SetBasicAuth(b.User, b.Password)
}

// Bearer is an OAuth 2.0 bearer token (RFC 6750 §2.1).
type Bearer struct{ Token string }

// Kind returns "bearer".
func (Bearer) Kind() string { return "bearer" }

func (b Bearer) set(h http.Header) { h.Set("Authorization", "Bearer "+b.Token) }

// FetchOptions configure Fetch.
type FetchOptions struct {
	// Roots verify the server's certificate; nil means the system roots.
	// The user's --ca-file belongs here, never anything from a document.
	Roots *x509.CertPool
	// Auth is sent to the document's host only; nil sends none.
	Auth Auth
	// Timeout bounds the whole fetch; 0 means DefaultTimeout.
	Timeout time.Duration
	// UserAgent is sent as User-Agent; "" sends "cusax".
	UserAgent string
	// ETag and LastModified, from the last fetch, make the request
	// conditional (RFC 9110 §13.1): an unchanged document is a 304 and
	// Fetched.NotModified.
	ETag, LastModified string
}

// Fetched is a fetched and checked document.
type Fetched struct {
	// Document is nil when NotModified.
	Document *Document
	// NotModified is true when the server answered 304 to a conditional
	// request: the document is unchanged since ETag/LastModified.
	NotModified bool
	// URL is the URL asked for; FinalURL the one that answered, after
	// redirects.
	URL, FinalURL string
	// ETag and LastModified are the response's validators, for the next
	// refresh.
	ETag, LastModified string
	// SHA256 is the hex SHA-256 of the raw document.
	SHA256 string
	// Fetched is when the response arrived.
	Fetched time.Time
	// Warnings are the document's warnings (Document.Warnings).
	Warnings []string
}

// Fetch gets the provisioning document at rawURL and parses it.
//
// Only https:// is accepted; http:// is refused before connecting
// (protocol.ErrInsecure), because the document decides which servers get
// the user's credentials. The certificate is verified against opts.Roots
// with TLS 1.2 or later. At most 5 redirects are followed, never to
// http:// (ErrInsecure), and credentials are dropped when a redirect
// leaves the original host (net/http would forward them to subdomains).
// The body is read through a limit, so an over-large document is refused
// without reading it all, and its Content-Type must be application/json or
// MediaType.
//
// Errors: a bad document is a *DocumentError whose Source is the URL;
// otherwise they wrap protocol.ErrInsecure, ErrCertificate, ErrAuth (401,
// 403), ErrNotFound (404, 410), ErrTimeout, ErrUnreachable (network, 5xx),
// ErrProtocol (other statuses, wrong Content-Type) or ErrInvalid (a bad
// URL). URLs in errors lose their query and user info, which may carry
// tokens; no error holds a credential.
func Fetch(ctx context.Context, rawURL string, opts FetchOptions) (*Fetched, error) {
	u, err := httpsURL(rawURL, "provisioning URL")
	if err != nil {
		return nil, err
	}
	shown := displayURL(u)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("provisioning URL %s: %v: %w", shown, err, protocol.ErrInvalid)
	}
	req.Header.Set("Accept", MediaType+", application/json;q=0.9")
	req.Header.Set("User-Agent", userAgent(opts.UserAgent))
	if opts.ETag != "" {
		req.Header.Set("If-None-Match", opts.ETag)
	}
	if opts.LastModified != "" {
		req.Header.Set("If-Modified-Since", opts.LastModified)
	}
	if opts.Auth != nil {
		opts.Auth.set(req.Header)
	}
	c := newClient(opts.Roots, nil)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shown, transportError(ctx, err, timeout))
	}
	defer resp.Body.Close()
	final := displayURL(resp.Request.URL)

	f := &Fetched{
		URL: u.String(), FinalURL: resp.Request.URL.String(), Fetched: time.Now(),
		ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"),
	}
	if resp.StatusCode == http.StatusNotModified && (opts.ETag != "" || opts.LastModified != "") {
		f.NotModified = true
		return f, nil
	}
	if err := statusError(resp, opts.Auth != nil, c.droppedAuth); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", final, err)
	}
	if err := checkMediaType(resp.Header.Get("Content-Type"), MediaType, "application/json"); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", final, err)
	}
	data, err := readLimited(resp)
	if err != nil {
		var de *DocumentError
		if errors.As(err, &de) {
			de.Source = shown
			return nil, de
		}
		return nil, fmt.Errorf("fetch %s: %w", final, transportError(ctx, err, timeout))
	}
	sum := sha256.Sum256(data)
	f.SHA256 = hex.EncodeToString(sum[:])
	d, err := Parse(data)
	if err != nil {
		var de *DocumentError
		if errors.As(err, &de) {
			de.Source = shown
		}
		return nil, err
	}
	f.Document, f.Warnings = d, d.Warnings()
	return f, nil
}

// httpsURL parses rawURL and requires https with a host and no user info.
// CheckURL refuses a provisioning URL Fetch would refuse, before any
// secret is read or connection made: not https (plain HTTP wraps
// protocol.ErrInsecure), no host, or user info. Errors show the URL
// without its query.
func CheckURL(rawURL string) error {
	_, err := httpsURL(rawURL, "provisioning URL")
	return err
}

func httpsURL(rawURL, what string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: not a URL: %w", what, protocol.ErrInvalid)
	}
	shown := displayURL(u)
	switch {
	case strings.EqualFold(u.Scheme, "http"):
		return nil, fmt.Errorf("refusing plain-HTTP %s %s: the document sets up credentials and servers; use https: %w", what, shown, protocol.ErrInsecure)
	case !strings.EqualFold(u.Scheme, "https"):
		return nil, fmt.Errorf("%s %s: must be an https:// URL: %w", what, shown, protocol.ErrInvalid)
	case u.Host == "":
		return nil, fmt.Errorf("%s %s: has no host: %w", what, shown, protocol.ErrInvalid)
	case u.User != nil:
		return nil, fmt.Errorf("%s %s: must not contain user info (it would be logged); give the credentials on stdin or by a password command: %w", what, shown, protocol.ErrInvalid)
	}
	u.Scheme = "https"
	return u, nil
}

// displayURL shows u without user info, query or fragment, which may
// carry credentials or tokens.
func displayURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := v.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

func userAgent(ua string) string {
	if ua == "" {
		return "cusax"
	}
	return ua
}
