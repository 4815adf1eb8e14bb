package provision

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

// wfServer answers WebFinger queries for example.test with the JRD body
// registered for the account, and records the last query.
func wfServer(t *testing.T, ca *testCA, names []string, jrds map[string]string) (addr string, last *http.Request) {
	t.Helper()
	last = &http.Request{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*last = *r.Clone(context.Background())
		if r.URL.Path != "/.well-known/webfinger" {
			http.NotFound(w, r)
			return
		}
		body, ok := jrds[r.URL.Query().Get("resource")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(body, "redirect ") {
			http.Redirect(w, r, strings.TrimPrefix(body, "redirect "), http.StatusFound)
			return
		}
		ct := jrdMediaType
		if strings.HasPrefix(body, "<") {
			ct = "text/html"
		}
		w.Header().Set("Content-Type", ct)
		fmt.Fprint(w, body)
	})
	srv := serveTLS(t, ca.issue(t, time.Time{}, names...), nil, h)
	return srv.Listener.Addr().String(), last
}

func jrdWith(subject string, links ...string) string {
	return fmt.Sprintf(`{"subject":%q,"aliases":["https://example.test/~alice"],"properties":{"http://example.test/p":null},"links":[%s]}`,
		subject, strings.Join(links, ","))
}

func link(rel, typ, href string) string {
	return fmt.Sprintf(`{"rel":%q,"type":%q,"href":%q,"titles":{"en":"x"}}`, rel, typ, href)
}

func TestDiscover(t *testing.T) {
	ca := newTestCA(t)
	prov := provServer(t, ca)
	docURL := prov.URL + "/alice.json"
	addr, last := wfServer(t, ca, []string{"example.test"}, map[string]string{
		"acct:alice@example.test": jrdWith("acct:alice@example.test",
			link("http://webfinger.net/rel/profile-page", "text/html", "https://example.test/alice"),
			link(LinkRel, MediaType, "http://example.test/insecure.json"),
			link(LinkRel, MediaType, docURL),
			link(LinkRel, MediaType, "https://example.test/second.json")),
		"acct:only-http@example.test":  jrdWith("", link(LinkRel, "", "http://example.test/p.json")),
		"acct:relative@example.test":   jrdWith("", link(LinkRel, "", "/p.json")),
		"acct:other-type@example.test": jrdWith("", link(LinkRel, "application/xml", "https://example.test/p.xml")),
		"acct:no-link@example.test":    jrdWith("acct:no-link@example.test", link("self", "", "https://example.test/")),
		"acct:no-links@example.test":   `{"subject":"acct:no-links@example.test"}`,
		"acct:mallory@example.test":    jrdWith("acct:bob@example.test", link(LinkRel, "", "https://example.test/bob.json")),
		"acct:malformed@example.test":  `{"links": {"rel": "x"}}`,
		"acct:truncated@example.test":  `{"links": [`,
		"acct:huge@example.test":       `{"x":"` + strings.Repeat("a", MaxDocumentSize) + `"}`,
		"acct:portal@example.test":     "<html>captive portal</html>",
		"acct:to-http@example.test":    "redirect http://example.test/.well-known/webfinger",
		"acct:alice+work@example.test": jrdWith("", link(LinkRel, "", docURL)),
		"acct:upper@example.test":      jrdWith("acct:UPPER@EXAMPLE.TEST", link(LinkRel, "", docURL)),
	})
	opts := DiscoverOptions{Roots: ca.pool, Addr: addr, Timeout: 5 * time.Second}

	t.Run("found, then fetched", func(t *testing.T) {
		href, err := Discover(context.Background(), "alice@example.test", opts)
		if err != nil {
			t.Fatal(err)
		}
		if href != docURL {
			t.Errorf("href = %s, want %s (the first https link with the rel)", href, docURL)
		}
		q := last.URL.Query()
		if last.URL.Path != "/.well-known/webfinger" || q.Get("resource") != "acct:alice@example.test" || q.Get("rel") != LinkRel {
			t.Errorf("query = %s", last.URL)
		}
		if last.Host != "example.test" || last.TLS == nil || last.TLS.ServerName != "example.test" {
			t.Errorf("Host %q, SNI %v: want example.test", last.Host, last.TLS)
		}
		f, err := Fetch(context.Background(), href, FetchOptions{Roots: ca.pool, Auth: Basic{testUser, testPassword}})
		if err != nil || f.Document.XMPP.JID != "alice@example.com" {
			t.Fatalf("Fetch(discovered) = %+v, %v", f, err)
		}
	})
	for _, addr := range []string{"acct:alice@example.test", "ACCT:alice@Example.Test.", "alice+work@example.test", "upper@example.test"} {
		t.Run("accepts "+addr, func(t *testing.T) {
			if _, err := Discover(context.Background(), addr, opts); err != nil {
				t.Fatal(err)
			}
		})
	}

	tests := []struct {
		address string
		opts    *DiscoverOptions
		want    error
		msg     string
	}{
		{"nobody@example.test", nil, protocol.ErrNotFound, "webfinger https://example.test/.well-known/webfinger: 404 Not Found: no WebFinger service there, or it does not know acct:nobody@example.test"},
		{"no-link@example.test", nil, protocol.ErrNotFound, `no link with rel "https://github.com/cusax/cusax/rel/provisioning" for acct:no-link@example.test`},
		{"no-links@example.test", nil, protocol.ErrNotFound, "no link with rel"},
		{"only-http@example.test", nil, protocol.ErrInsecure, "no usable provisioning link: http://example.test/p.json is plain HTTP"},
		{"relative@example.test", nil, protocol.ErrProtocol, `"/p.json" is not an absolute URL`},
		{"other-type@example.test", nil, protocol.ErrProtocol, `has type "application/xml"`},
		{"mallory@example.test", nil, protocol.ErrProtocol, `the answer is about "acct:bob@example.test", not acct:mallory@example.test`},
		{"malformed@example.test", nil, protocol.ErrProtocol, "malformed JRD (RFC 7033 §4.4)"},
		{"truncated@example.test", nil, protocol.ErrProtocol, "malformed JRD"},
		{"huge@example.test", nil, protocol.ErrProtocol, "larger than the limit of 65,536 bytes"},
		{"portal@example.test", nil, protocol.ErrProtocol, "HTML page"},
		{"to-http@example.test", nil, protocol.ErrInsecure, "refusing redirect from https://example.test/.well-known/webfinger?… to plain-HTTP http://example.test/.well-known/webfinger"},
		{"alice", nil, protocol.ErrInvalid, `address "alice": want user@domain`},
		{"@example.test", nil, protocol.ErrInvalid, "want user@domain"},
		{"alice@", nil, protocol.ErrInvalid, "want user@domain"},
		{"xmpp:alice@example.test", nil, protocol.ErrInvalid, "want user@domain or acct:user@domain"},
		{"alice@exa mple.test", nil, protocol.ErrInvalid, "the domain must be a DNS name"},
		{"alice@127.0.0.1", nil, protocol.ErrInvalid, "the domain must be a DNS name"},
		{"alice@bücher.example", nil, protocol.ErrInvalid, "xn-- form"},
		{"al/ice@example.test", nil, protocol.ErrInvalid, "the user part must not contain"},
		{"alice@example.test", &DiscoverOptions{Roots: ca.pool, Addr: "no-port"}, protocol.ErrInvalid, "must be HOST:PORT"},
		{"alice@example.test", &DiscoverOptions{Roots: newTestCA(t).pool, Addr: addr}, protocol.ErrCertificate, "unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			o := opts
			if tt.opts != nil {
				o = *tt.opts
			}
			href, err := Discover(context.Background(), tt.address, o)
			if err == nil {
				t.Fatalf("Discover = %s, want an error", href)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error does not wrap %v: %v", tt.want, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error:\n  %v\ndoes not contain\n  %s", err, tt.msg)
			}
		})
	}

	t.Run("certificate is checked for the domain, not the address dialled", func(t *testing.T) {
		wrongAddr, _ := wfServer(t, ca, []string{"127.0.0.1", "other.test"}, nil)
		_, err := Discover(context.Background(), "alice@example.test", DiscoverOptions{Roots: ca.pool, Addr: wrongAddr})
		if !errors.Is(err, protocol.ErrCertificate) || !strings.Contains(err.Error(), "not valid for example.test") {
			t.Fatalf("err = %v, want a certificate error for example.test", err)
		}
	})
}
