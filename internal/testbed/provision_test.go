package testbed

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// portalBed is a bed that was never started: enough for the portal, which needs only the CA,
// the users and the addresses it puts in documents.
func portalBed(t *testing.T) *Bed {
	t.Helper()
	c, err := newCA("test")
	if err != nil {
		t.Fatal(err)
	}
	b := &Bed{Domain: "example.test", Domain2: "biloxi.test", NoTLSDomain: "notls.test", ca: c,
		XMPPAddr: "127.0.0.1:5222", SIPTLSAddr: "127.0.0.1:5061",
		Users: map[string]User{"alice": {"alice", "pw-a"}, "dave": {"dave", "pw-d"}}}
	return b
}

func TestPortal(t *testing.T) {
	b := portalBed(t)
	p, err := b.StartPortal()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pool := x509.NewCertPool()
	pool.AddCert(b.ca.cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	get := func(u, user, pw string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", u, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return resp, m
	}

	resp, doc := get(p.DocumentURL(), "alice", "pw-a")
	if resp.StatusCode != 200 || doc["xmpp"].(map[string]any)["jid"] != "alice@example.test" || doc["sip"] == nil {
		t.Fatalf("alice's document: %d %v", resp.StatusCode, doc)
	}
	if resp, _ := get(p.DocumentURL(), "alice", "wrong"); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("wrong password: %d", resp.StatusCode)
	}
	if _, doc := get(p.DocumentURL(), "dave", "pw-d"); doc["sip"] != nil || doc["related"] != false {
		t.Fatalf("dave has no SIP account: %v", doc)
	}
	p.AddToken("t0k", "alice")
	req, _ := http.NewRequest("GET", p.DocumentURL(), nil)
	req.Header.Set("Authorization", "Bearer t0k")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("bearer: %v %v", resp, err)
	}

	q := url.Values{"resource": {"acct:alice@example.test"}, "rel": {ProvisioningRel}}
	resp, jrd := get(p.URL+"/.well-known/webfinger?"+q.Encode(), "", "")
	links, _ := jrd["links"].([]any)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/jrd+json" || len(links) != 1 ||
		links[0].(map[string]any)["href"] != p.DocumentURL() {
		t.Fatalf("webfinger: %d %v", resp.StatusCode, jrd)
	}
	q.Set("resource", "acct:alice@biloxi.test")
	if resp, _ := get(p.URL+"/.well-known/webfinger?"+q.Encode(), "", ""); resp.StatusCode != 404 {
		t.Fatalf("webfinger for a user on another domain: %d", resp.StatusCode)
	}

	u := p.Serve("/broken.json", 200, "application/json", []byte("{"))
	if resp, _ := get(u, "", ""); resp.StatusCode != 200 {
		t.Fatalf("canned: %d", resp.StatusCode)
	}
	plain, err := http.Get(p.PlainURL + "/broken.json")
	if err != nil || plain.StatusCode != 200 {
		t.Fatalf("plain listener: %v %v", plain, err)
	}
	plain.Body.Close()
	if n := len(p.Requests()); n != 8 {
		t.Errorf("portal logged %d requests, want 8", n)
	}
}
