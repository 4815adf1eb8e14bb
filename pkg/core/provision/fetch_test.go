package provision

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/protocol"
)

const (
	testUser     = "alice"
	testPassword = "correct horse battery staple"
	testToken    = "tok-0123456789abcdef"
)

// provServer serves validJSON at /alice.json to alice with her password,
// and other documents and misbehaviour at other paths.
func provServer(t *testing.T, ca *testCA) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	doc := func(ct, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("/alice.json", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="provisioning"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Mon, 23 Nov 2026 10:00:00 GMT")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, validJSON)
	})
	mux.HandleFunc("/bearer.json", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			w.Header().Set("WWW-Authenticate", `Bearer realm="provisioning"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		doc(MediaType, validJSON)(w, r)
	})
	mux.HandleFunc("/vendor.json", doc(MediaType, validJSON))
	mux.HandleFunc("/html", doc("text/html; charset=utf-8", "<html>Log in</html>"))
	mux.HandleFunc("/text", doc("text/plain", validJSON))
	mux.HandleFunc("/latin1", doc("application/json; charset=iso-8859-1", validJSON))
	mux.HandleFunc("/no-type", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no sniffing either
		fmt.Fprint(w, validJSON)
	})
	mux.HandleFunc("/bad.json", doc("application/json", `{"version":1,"sip":{"aor":"sip:a@example.com","proxy":"sip:h;transport=sctp"},"xmpp":{"jid":"x"}}`))
	mux.HandleFunc("/v2.json", doc("application/json", `{"version":2}`))
	mux.HandleFunc("/big-announced", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "70123")
		fmt.Fprint(w, strings.Repeat(" ", 70123))
	})
	var bigWritten atomic.Int64
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(" ", 8<<10))
		for range 1280 { // 10 MiB, if the client read it all
			n, err := w.Write(chunk)
			bigWritten.Add(int64(n))
			if err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	t.Cleanup(func() {
		if n := bigWritten.Load(); n >= 10<<20 {
			t.Errorf("the client read all %d bytes of an over-large body", n)
		}
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/gone", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	mux.HandleFunc("/forbidden", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			// Abort: an empty 200 could still reach a client that
			// gave up (HTTP/2 under load), and the test would see that
			// instead of its own cancellation.
			panic(http.ErrAbortHandler)
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/alice.json", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to-other-host", func(w http.ResponseWriter, r *http.Request) {
		// Same server, other name: only the host differs.
		_, port, _ := net.SplitHostPort(r.Host)
		http.Redirect(w, r, "https://localhost:"+port+"/alice.json", http.StatusFound)
	})
	return serveTLS(t, ca.issue(t, time.Time{}, "127.0.0.1", "localhost"), nil, mux)
}

func TestFetch(t *testing.T) {
	ca := newTestCA(t)
	srv := provServer(t, ca)
	basic := Basic{User: testUser, Password: testPassword}

	f, err := Fetch(context.Background(), srv.URL+"/alice.json", FetchOptions{Roots: ca.pool, Auth: basic})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	sum := sha256.Sum256([]byte(validJSON))
	if f.Document == nil || f.Document.SIP.AOR != "sip:alice@example.com" || f.NotModified {
		t.Errorf("document: %+v", f)
	}
	if f.SHA256 != hex.EncodeToString(sum[:]) || f.ETag != `"v1"` || f.LastModified == "" || f.FinalURL != srv.URL+"/alice.json" {
		t.Errorf("metadata: %+v", f)
	}
	if f.Fetched.IsZero() || time.Since(f.Fetched) > time.Minute {
		t.Errorf("Fetched = %v", f.Fetched)
	}

	t.Run("not modified", func(t *testing.T) {
		f, err := Fetch(context.Background(), srv.URL+"/alice.json", FetchOptions{Roots: ca.pool, Auth: basic, ETag: `"v1"`})
		if err != nil || !f.NotModified || f.Document != nil {
			t.Fatalf("Fetch = %+v, %v; want NotModified", f, err)
		}
	})
	t.Run("bearer", func(t *testing.T) {
		if _, err := Fetch(context.Background(), srv.URL+"/bearer.json", FetchOptions{Roots: ca.pool, Auth: Bearer{testToken}}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("vendor media type", func(t *testing.T) {
		if _, err := Fetch(context.Background(), srv.URL+"/vendor.json", FetchOptions{Roots: ca.pool}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("same-host redirect keeps credentials", func(t *testing.T) {
		f, err := Fetch(context.Background(), srv.URL+"/moved", FetchOptions{Roots: ca.pool, Auth: basic})
		if err != nil {
			t.Fatal(err)
		}
		if f.URL != srv.URL+"/moved" || f.FinalURL != srv.URL+"/alice.json" {
			t.Errorf("URL %s, FinalURL %s", f.URL, f.FinalURL)
		}
	})
}

func TestFetchRefuses(t *testing.T) {
	ca := newTestCA(t)
	srv := provServer(t, ca)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, validJSON)
	}))
	defer plain.Close()
	toPlain := serveTLS(t, ca.issue(t, time.Time{}, "127.0.0.1"), nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/doc.json", http.StatusFound)
	}))
	otherCA := newTestCA(t)
	wrongCA := serveTLS(t, otherCA.issue(t, time.Time{}, "127.0.0.1"), nil, http.NotFoundHandler())
	wrongName := serveTLS(t, ca.issue(t, time.Time{}, "prov.example.test"), nil, http.NotFoundHandler())
	expired := serveTLS(t, ca.issue(t, time.Now().Add(-time.Minute), "127.0.0.1"), nil, http.NotFoundHandler())
	tls11 := serveTLS(t, ca.issue(t, time.Time{}, "127.0.0.1"), &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, http.NotFoundHandler())
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := strings.Replace(closed.URL, "http:", "https:", 1)
	closed.Close()

	basic := Basic{User: testUser, Password: testPassword}
	tests := []struct {
		name    string
		url     string
		opts    FetchOptions
		want    error
		msg     string
		timeout time.Duration
	}{
		{name: "plain http", url: plain.URL + "/doc.json", want: protocol.ErrInsecure,
			msg: "refusing plain-HTTP provisioning URL " + plain.URL + "/doc.json: the document sets up credentials and servers; use https"},
		{name: "ftp", url: "ftp://example.com/doc.json", want: protocol.ErrInvalid, msg: "must be an https:// URL"},
		{name: "no host", url: "https:///doc.json", want: protocol.ErrInvalid, msg: "has no host"},
		{name: "user info", url: "https://alice:s3cr3t-in-url@127.0.0.1:" + port + "/alice.json", want: protocol.ErrInvalid, msg: "must not contain user info"},
		{name: "redirect to http", url: toPlain.URL + "/", want: protocol.ErrInsecure, msg: "refusing redirect from " + toPlain.URL + "/ to plain-HTTP " + plain.URL + "/doc.json"},
		{name: "redirect loop", url: srv.URL + "/loop", want: protocol.ErrProtocol, msg: "more than 5 redirects"},
		{name: "credentials not forwarded to another host", url: srv.URL + "/to-other-host", opts: FetchOptions{Auth: basic}, want: protocol.ErrAuth,
			msg: "cusax does not send credentials to localhost:" + port + ", another host than the one asked"},
		{name: "401 no credentials", url: srv.URL + "/alice.json", want: protocol.ErrAuth, msg: `401 Unauthorized: the server wants "Basic" credentials and none were given`},
		{name: "401 wrong password", url: srv.URL + "/alice.json", opts: FetchOptions{Auth: Basic{testUser, "wrong-password"}}, want: protocol.ErrAuth,
			msg: `the server refused the credentials (it wants "Basic" credentials)`},
		{name: "401 wrong token", url: srv.URL + "/bearer.json", opts: FetchOptions{Auth: Bearer{"tok-wrong"}}, want: protocol.ErrAuth, msg: `wants "Bearer" credentials`},
		{name: "403", url: srv.URL + "/forbidden", want: protocol.ErrAuth, msg: "403 Forbidden"},
		{name: "404", url: srv.URL + "/missing?token=sekrit", want: protocol.ErrNotFound, msg: "fetch " + srv.URL + "/missing?…: 404 Not Found"},
		{name: "410", url: srv.URL + "/gone", want: protocol.ErrNotFound, msg: "410 Gone"},
		{name: "503", url: srv.URL + "/broken", want: protocol.ErrUnreachable, msg: "server error 503 Service Unavailable"},
		{name: "204", url: srv.URL + "/empty", want: protocol.ErrProtocol, msg: "unexpected status 204 No Content (want 200 OK)"},
		{name: "html", url: srv.URL + "/html", want: protocol.ErrProtocol, msg: "the server answered with an HTML page (a login portal"},
		{name: "text/plain", url: srv.URL + "/text", want: protocol.ErrProtocol, msg: `Content-Type "text/plain": want application/vnd.cusax.provisioning+json or application/json`},
		{name: "latin1", url: srv.URL + "/latin1", want: protocol.ErrProtocol, msg: `charset "iso-8859-1": want utf-8`},
		{name: "no content type", url: srv.URL + "/no-type", want: protocol.ErrProtocol, msg: "has no Content-Type"},
		{name: "over-large, announced", url: srv.URL + "/big-announced", want: ErrBadDocument,
			msg: "provisioning document " + srv.URL + "/big-announced: document is 70,123 bytes; the limit is 65,536"},
		{name: "over-large, chunked", url: srv.URL + "/big-chunked", want: ErrBadDocument, msg: "document is larger than the limit of 65,536 bytes"},
		{name: "malformed document", url: srv.URL + "/bad.json", want: ErrBadDocument,
			msg: "provisioning document " + srv.URL + `/bad.json: 2 bad fields: xmpp.jid: "x": must have a localpart (user@domain); sip.proxy: "sip:h;transport=sctp": transport must be udp, tcp or tls`},
		{name: "newer version", url: srv.URL + "/v2.json", want: protocol.ErrProtocol, msg: "version 2 is newer than this cusax understands (1); update cusax"},
		{name: "unknown CA", url: wrongCA.URL + "/", want: protocol.ErrCertificate, msg: "certificate signed by unknown authority"},
		{name: "system roots do not know the test CA", url: srv.URL + "/vendor.json", opts: FetchOptions{Roots: nil}, want: protocol.ErrCertificate, msg: "unknown authority"},
		{name: "wrong name", url: wrongName.URL + "/", want: protocol.ErrCertificate, msg: "certificate is not valid for 127.0.0.1 (it names prov.example.test)"},
		{name: "expired", url: expired.URL + "/", want: protocol.ErrCertificate, msg: "certificate expired or not yet valid"},
		{name: "TLS 1.1", url: tls11.URL + "/", want: protocol.ErrInsecure, msg: "TLS handshake failed (cusax needs TLS 1.2 or later)"},
		{name: "plain HTTP on the https port", url: strings.Replace(plain.URL, "http:", "https:", 1) + "/", want: protocol.ErrInsecure, msg: "did not answer with TLS"},
		{name: "timeout", url: srv.URL + "/slow", want: protocol.ErrTimeout, msg: "no answer within 200ms", timeout: 200 * time.Millisecond},
		{name: "connection refused", url: closedURL + "/", want: protocol.ErrUnreachable, msg: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.Roots == nil && tt.name != "system roots do not know the test CA" {
				opts.Roots = ca.pool
			}
			opts.Timeout = tt.timeout
			if opts.Timeout == 0 {
				opts.Timeout = 5 * time.Second
			}
			f, err := Fetch(context.Background(), tt.url, opts)
			if err == nil {
				t.Fatalf("Fetch accepted it: %+v", f)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error does not wrap %v: %v", tt.want, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error:\n  %v\ndoes not contain\n  %s", err, tt.msg)
			}
			for _, secret := range []string{testPassword, "s3cr3t-in-url", "wrong-password", "tok-wrong", "sekrit", testToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error carries a secret: %v", err)
				}
			}
		})
	}
	if n := plainHits.Load(); n != 0 {
		t.Errorf("the plain-HTTP server was asked %d times; it must never be", n)
	}
}

func TestRoots(t *testing.T) {
	if pool, err := Roots(nil); pool != nil || err != nil {
		t.Errorf("Roots(nil) = %v, %v; want nil (system roots)", pool, err)
	}
	if _, err := Roots([]byte("not PEM")); !errors.Is(err, protocol.ErrInvalid) {
		t.Errorf("Roots(garbage): %v", err)
	}
	ca := newTestCA(t)
	srv := provServer(t, ca)
	pool, err := Roots(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(context.Background(), srv.URL+"/vendor.json", FetchOptions{Roots: pool}); err != nil {
		t.Errorf("Fetch with system roots + the test CA: %v", err)
	}
}

func TestFetchCanceled(t *testing.T) {
	ca := newTestCA(t)
	srv := provServer(t, ca)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := Fetch(ctx, srv.URL+"/slow?token=sekrit", FetchOptions{Roots: ca.pool})
	if !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("err = %v", err)
	}
}
