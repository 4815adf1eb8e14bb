package provision

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// client is an HTTPS-only client that remembers whether it dropped
// credentials on a redirect, so a 401 can say why.
type client struct {
	client      *http.Client
	droppedAuth string // the host credentials were withheld from
}

// newClient returns a client verifying against roots with TLS ≥ 1.2;
// dial, if not nil, replaces the dialer (Discover's Addr).
func newClient(roots *x509.CertPool, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
		DisableKeepAlives:   true, // one request per run; leave nothing open
	}
	if dial != nil {
		tr.DialContext = dial
		tr.Proxy = nil // the dialler decides where to connect
	}
	c := &client{}
	c.client = &http.Client{Transport: tr, CheckRedirect: c.checkRedirect}
	return c
}

// checkRedirect follows at most maxRedirects redirects, only to https,
// and sends credentials only to the host they were given for: net/http
// would forward them to subdomains too.
func (c *client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("more than %d redirects (last to %s): %w", maxRedirects, displayURL(req.URL), protocol.ErrProtocol)
	}
	if !strings.EqualFold(req.URL.Scheme, "https") {
		return fmt.Errorf("refusing redirect from %s to plain-HTTP %s: %w", displayURL(via[len(via)-1].URL), displayURL(req.URL), protocol.ErrInsecure)
	}
	if !sameHost(req.URL, via[0].URL) {
		// net/http has already dropped it unless the new host is a
		// subdomain; either way, remember it for the 401 message.
		req.Header.Del("Authorization")
		if via[0].Header.Get("Authorization") != "" {
			c.droppedAuth = req.URL.Host
		}
	}
	return nil
}

func sameHost(a, b *url.URL) bool {
	return strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "443"
}

// statusError maps a non-200 status to a sentinel.
func statusError(resp *http.Response, sentAuth bool, droppedAuth string) error {
	status := resp.Status
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return nil
	case code == http.StatusUnauthorized:
		scheme, _, _ := strings.Cut(strings.TrimSpace(resp.Header.Get("WWW-Authenticate")), " ")
		want := "credentials"
		if scheme != "" {
			want = quote(scheme) + " credentials"
		}
		switch {
		case droppedAuth != "":
			return fmt.Errorf("%s: the server wants %s, but cusax does not send credentials to %s, another host than the one asked (it was redirected there): %w", status, want, droppedAuth, protocol.ErrAuth)
		case sentAuth:
			return fmt.Errorf("%s: the server refused the credentials (it wants %s): %w", status, want, protocol.ErrAuth)
		default:
			return fmt.Errorf("%s: the server wants %s and none were given: %w", status, want, protocol.ErrAuth)
		}
	case code == http.StatusForbidden:
		return fmt.Errorf("%s: the server does not let these credentials read the document: %w", status, protocol.ErrAuth)
	case code == http.StatusNotFound || code == http.StatusGone:
		return fmt.Errorf("%s: %w", status, protocol.ErrNotFound)
	case code >= 500:
		return fmt.Errorf("server error %s: %w", status, protocol.ErrUnreachable)
	}
	return fmt.Errorf("unexpected status %s (want 200 OK): %w", status, protocol.ErrProtocol)
}

// checkMediaType accepts the listed types (and charset=utf-8 only) and
// says what an HTML answer probably is.
func checkMediaType(header string, allowed ...string) error {
	if header == "" {
		return fmt.Errorf("the answer has no Content-Type (want %s): %w", strings.Join(allowed, " or "), protocol.ErrProtocol)
	}
	mt, params, err := mime.ParseMediaType(header)
	if err != nil {
		return fmt.Errorf("malformed Content-Type %s: %w", quote(header), protocol.ErrProtocol)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return fmt.Errorf("Content-Type charset %s: want utf-8 (RFC 8259 §8.1): %w", quote(cs), protocol.ErrProtocol)
	}
	for _, a := range allowed {
		if mt == a {
			return nil
		}
	}
	if mt == "text/html" || mt == "application/xhtml+xml" {
		return fmt.Errorf("the server answered with an HTML page (a login portal or captive portal?), not a provisioning document: %w", protocol.ErrProtocol)
	}
	return fmt.Errorf("Content-Type %s: want %s: %w", quote(mt), strings.Join(allowed, " or "), protocol.ErrProtocol)
}

// readLimited reads at most MaxDocumentSize bytes; a body announced or
// found to be larger is a *DocumentError, and is not read to the end.
func readLimited(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > MaxDocumentSize {
		return nil, docError("document is %s bytes; the limit is %s", commas(int(n)), commas(MaxDocumentSize))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxDocumentSize {
		return nil, docError("document is larger than the limit of %s bytes", commas(MaxDocumentSize))
	}
	return data, nil
}

// transportError maps a client error to a sentinel, with the reason.
func transportError(ctx context.Context, err error, timeout time.Duration) error {
	var (
		verr   *tls.CertificateVerificationError
		ua     x509.UnknownAuthorityError
		host   x509.HostnameError
		inv    x509.CertificateInvalidError
		rec    tls.RecordHeaderError
		alert  tls.AlertError
		netErr net.Error
		dnsErr *net.DNSError
		opErr  *net.OpError
	)
	for _, s := range []error{protocol.ErrInsecure, protocol.ErrProtocol, protocol.ErrInvalid} {
		if errors.Is(err, s) {
			return unwrapURLError(err) // ours, from checkRedirect
		}
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no answer within %v: %w", timeout, protocol.ErrTimeout)
	case errors.Is(err, context.Canceled):
		return context.Canceled // not the url.Error: its text repeats the URL
	case errors.As(err, &ua):
		issuer := "unknown"
		if ua.Cert != nil {
			issuer = ua.Cert.Issuer.String()
		}
		return fmt.Errorf("certificate signed by unknown authority (issuer %s); if the provider uses a private CA, give it with --ca-file: %w", quote(issuer), protocol.ErrCertificate)
	case errors.As(err, &host):
		return fmt.Errorf("certificate is not valid for %s (it names %s): %w", host.Host, certNames(host.Certificate), protocol.ErrCertificate)
	case errors.As(err, &inv):
		if inv.Reason == x509.Expired {
			return fmt.Errorf("certificate expired or not yet valid (valid %s to %s): %w",
				inv.Cert.NotBefore.UTC().Format(time.RFC3339), inv.Cert.NotAfter.UTC().Format(time.RFC3339), protocol.ErrCertificate)
		}
		return fmt.Errorf("certificate invalid: %s: %w", inv.Error(), protocol.ErrCertificate)
	case errors.As(err, &verr):
		return fmt.Errorf("%s: %w", verr.Err, protocol.ErrCertificate)
	case errors.As(err, &rec) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("the server did not answer with TLS (plain HTTP on an https port?): %w", protocol.ErrInsecure)
	case errors.As(err, &alert) || strings.Contains(err.Error(), "tls: "):
		return fmt.Errorf("TLS handshake failed (cusax needs TLS 1.2 or later): %s: %w", tlsReason(err), protocol.ErrInsecure)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("cannot resolve %s: %w", dnsErr.Name, protocol.ErrUnreachable)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("no answer within %v: %w", timeout, protocol.ErrTimeout)
	case errors.As(err, &opErr):
		return fmt.Errorf("%s: %w", opErr.Err, protocol.ErrUnreachable)
	}
	return fmt.Errorf("%s: %w", unwrapURLError(err), protocol.ErrUnreachable)
}

// unwrapURLError drops net/http's "Get \"URL\": " prefix, which would
// repeat the URL with its query.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func tlsReason(err error) string {
	s := unwrapURLError(err).Error()
	if i := strings.Index(s, "tls: "); i >= 0 {
		return s[i+len("tls: "):]
	}
	return s
}

func certNames(c *x509.Certificate) string {
	var n []string
	n = append(n, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		n = append(n, ip.String())
	}
	if len(n) == 0 {
		return "no DNS name or IP address"
	}
	return strings.Join(n, ", ")
}
