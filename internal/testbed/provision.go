package testbed

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ProvisioningRel is the WebFinger link relation of a cusax provisioning document
// (docs/provisioning.md); the portal answers WebFinger queries with it.
const ProvisioningRel = "https://github.com/cusax/cusax/rel/provisioning"

// Portal is a provider's web portal on loopback, as a CUSAX provider would run one next to its
// XMPP and SIP servers: over HTTPS with a certificate from the bed's CA (valid for the bed's
// domain and for 127.0.0.1), it answers WebFinger queries (RFC 7033) for the bed's users and
// serves each user the provisioning document for their account, after HTTP basic
// authentication with the user's bed password or a bearer token. A second, plain-HTTP listener
// serves the same paths, for tests that show cusax refuses it.
type Portal struct {
	URL      string // https://127.0.0.1:port
	Addr     string // 127.0.0.1:port of the HTTPS listener
	PlainURL string // http://127.0.0.1:port, the same handler without TLS

	bed    *Bed
	https  *http.Server
	plain  *http.Server
	mu     sync.Mutex
	edit   map[string]func(doc map[string]any) // per user: changes to the generated document
	canned map[string]cannedResponse           // per path: a fixed answer
	tokens map[string]string                   // bearer token → user
	log    []PortalRequest
}

// PortalRequest is one request the portal answered, for tests to inspect. No credentials.
type PortalRequest struct {
	Method, Path, Query string
	User                string // the authenticated user, "" if none
	Status              int
	TLS                 bool
}

type cannedResponse struct {
	status      int
	contentType string
	body        []byte
}

// DocumentPath is where the portal serves the provisioning document of the authenticated user.
const DocumentPath = "/cusax/v1/account"

// StartPortal starts the portal on two free loopback ports. Stop it with Close.
func (b *Bed) StartPortal() (*Portal, error) {
	if b.ca == nil {
		return nil, errors.New("testbed: the bed has no CA (not started?)")
	}
	leaf, err := b.ca.issue([]string{b.Domain, "127.0.0.1"}, nil)
	if err != nil {
		return nil, err
	}
	cert, err := tls.X509KeyPair(leaf.certPEM, leaf.keyPEM)
	if err != nil {
		return nil, err
	}
	p := &Portal{bed: b, edit: map[string]func(map[string]any){}, canned: map[string]cannedResponse{}, tokens: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, err
	}
	p.Addr = ln.Addr().String()
	p.URL = "https://" + p.Addr
	p.PlainURL = "http://" + pln.Addr().String()
	p.https = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	p.plain = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go p.https.ServeTLS(ln, "", "")
	go p.plain.Serve(pln)
	return p, nil
}

// Close stops both listeners.
func (p *Portal) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return errors.Join(p.https.Shutdown(ctx), p.plain.Shutdown(ctx))
}

// DocumentURL is the HTTPS URL of the provisioning document (the same for every user: the
// portal picks the document by who authenticates).
func (p *Portal) DocumentURL() string { return p.URL + DocumentPath }

// Edit changes the document the portal generates for user from now on (nil: back to the
// generated one). The function gets the document as a JSON object to modify.
func (p *Portal) Edit(user string, f func(doc map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f == nil {
		delete(p.edit, user)
		return
	}
	p.edit[user] = f
}

// Serve makes path answer with a fixed status, content type and body (for hostile and broken
// documents), whoever asks. It returns the HTTPS URL of path.
func (p *Portal) Serve(path string, status int, contentType string, body []byte) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.canned[path] = cannedResponse{status, contentType, body}
	return p.URL + path
}

// AddToken makes token a bearer token that authenticates as user.
func (p *Portal) AddToken(token, user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokens[token] = user
}

// Requests returns the requests answered so far.
func (p *Portal) Requests() []PortalRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]PortalRequest(nil), p.log...)
}

// Document returns the provisioning document for user as the portal serves it: both aspects
// of the bed (XMPP with STARTTLS, SIP over TLS through Kamailio), related (RFC 7081 §3.4),
// calling over XMPP and IM over SIP off (§2), Call-Info on (RFC 6993), and a cost gate
// allowing calls within the bed's domain.
func (p *Portal) Document(user string) (map[string]any, bool) {
	b := p.bed
	if _, ok := b.User(user); !ok {
		return nil, false
	}
	a, _ := b.account(user)
	domain := a.Domain
	doc := map[string]any{
		"version":  1,
		"provider": "cusax test bed",
		"account":  user + "-provisioned",
		"related":  true,
		"xmpp": map[string]any{
			"jid":    b.JID(user),
			"server": b.XMPPAddr,
		},
		"features": map[string]any{
			"calls_over_xmpp": false,
			"im_over_sip":     false,
			"call_info":       true,
		},
		"cost_gate": map[string]any{
			"allow": []any{"sip:*@" + b.Domain},
		},
	}
	if domain == b.Domain {
		doc["sip"] = map[string]any{
			"aor":   "sip:" + user + "@" + b.Domain,
			"proxy": "sip:" + b.SIPTLSAddr + ";transport=tls",
		}
	} else {
		doc["related"] = false
	}
	p.mu.Lock()
	edit := p.edit[user]
	p.mu.Unlock()
	if edit != nil {
		edit(doc)
	}
	return doc, true
}

func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := PortalRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, TLS: r.TLS != nil}
	status := p.answer(w, r, &rec)
	rec.Status = status
	p.mu.Lock()
	p.log = append(p.log, rec)
	p.mu.Unlock()
}

func (p *Portal) answer(w http.ResponseWriter, r *http.Request, rec *PortalRequest) int {
	p.mu.Lock()
	c, ok := p.canned[r.URL.Path]
	p.mu.Unlock()
	if ok {
		if c.contentType != "" {
			w.Header().Set("Content-Type", c.contentType)
		}
		w.WriteHeader(c.status)
		w.Write(c.body)
		return c.status
	}
	switch r.URL.Path {
	case "/.well-known/webfinger":
		return p.webfinger(w, r)
	case DocumentPath:
		user, ok := p.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="cusax test bed", charset="UTF-8"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return http.StatusUnauthorized
		}
		rec.User = user
		doc, ok := p.Document(user)
		if !ok {
			http.NotFound(w, r)
			return http.StatusNotFound
		}
		return writeJSON(w, "application/json", doc)
	}
	http.NotFound(w, r)
	return http.StatusNotFound
}

// webfinger answers RFC 7033 §4 queries: resource acct:user@domain of a bed user gets a JRD
// (§4.4) whose provisioning link points at the document; anything else is 404 (§4.2).
func (p *Portal) webfinger(w http.ResponseWriter, r *http.Request) int {
	resource := r.URL.Query().Get("resource")
	if resource == "" {
		http.Error(w, "resource missing", http.StatusBadRequest)
		return http.StatusBadRequest
	}
	addr, ok := strings.CutPrefix(resource, "acct:")
	local, domain, ok2 := strings.Cut(addr, "@")
	if !ok || !ok2 {
		http.NotFound(w, r)
		return http.StatusNotFound
	}
	if a, found := p.bed.account(local); !found || !strings.EqualFold(a.Domain, domain) {
		http.NotFound(w, r)
		return http.StatusNotFound
	}
	links := []any{map[string]any{"rel": "http://webfinger.net/rel/profile-page", "href": p.URL + "/~" + url.PathEscape(local)}}
	if rels := r.URL.Query()["rel"]; len(rels) == 0 || contains(rels, ProvisioningRel) {
		links = []any{map[string]any{"rel": ProvisioningRel, "type": "application/json", "href": p.DocumentURL()}}
	}
	return writeJSON(w, "application/jrd+json", map[string]any{"subject": resource, "links": links})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// authenticate accepts HTTP basic authentication with a bed user's name or address and password
// (RFC 7617) or a
// bearer token added with AddToken (RFC 6750).
func (p *Portal) authenticate(r *http.Request) (string, bool) {
	if user, pw, ok := r.BasicAuth(); ok {
		if name, byJID := p.bed.userByJID(user); byJID {
			user = name // the user ID may be the whole address, as many providers allow
		}
		u, found := p.bed.User(user)
		return user, found && subtle.ConstantTimeCompare([]byte(u.Password), []byte(pw)) == 1
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		p.mu.Lock()
		defer p.mu.Unlock()
		user, found := p.tokens[tok]
		return user, found
	}
	return "", false
}

func writeJSON(w http.ResponseWriter, contentType string, v any) int {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, fmt.Sprint(err), http.StatusInternalServerError)
		return http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(append(body, '\n'))
	return http.StatusOK
}
