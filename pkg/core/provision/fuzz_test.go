package provision

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that it either returns a
// document or a *DocumentError, and that an accepted document survives a
// second look: it describes a valid account and its warnings are stable.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		validJSON,
		`{"version":1,"xmpp":{"jid":"a@example.com"}}`,
		`{"version":1,"sip":{"aor":"sips:a@example.com","proxy":"sip:h;transport=udp"}}`,
		`{"version":2}`,
		`{"version":1,"sip":{"aor":"sip:a@b","aor":"sip:c@d"}}`,
		`{"version":1,"xmpp":null,"x":[{"y":[]}]}`,
		`{"version":1} {}`,
		`[[[[[[[[[[[[]]]]]]]]]]]]`,
		`{"version":1e400}`,
		`{"version":-1,"provider":"\u202e"}`,
		`{"version":1,"cost_gate":{"allow":["tel:*","sip:*@*"],"region":"xx"},"sip":{"aor":"sip:a@b"}}`,
		"{\"version\":1,\"provider\":\"\xff\"}",
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			var de *DocumentError
			if !errors.As(err, &de) || len(de.Fields) == 0 || !errors.Is(err, ErrBadDocument) {
				t.Fatalf("error is not a *DocumentError with fields: %T %v", err, err)
			}
			if strings.ContainsAny(err.Error(), "\r\n\x00\x1b") {
				t.Fatalf("error carries a control character: %q", err)
			}
			return
		}
		if d.Version != Version || (d.XMPP == nil && d.SIP == nil) {
			t.Fatalf("accepted a document without version or aspects: %+v", d)
		}
		a := build(d, placeholderName)
		if err := a.Validate(); err != nil {
			t.Fatalf("accepted a document whose account does not validate: %v", err)
		}
		_ = d.Warnings()
	})
}

// FuzzProvisioningLink: whatever a WebFinger server answers, the link
// picked is an absolute https URL without user info, and an error is one
// line without control characters (it reaches the terminal).
func FuzzProvisioningLink(f *testing.F) {
	const resource = "acct:alice@example.com"
	for _, s := range []string{
		`{"subject":"acct:alice@example.com","links":[{"rel":"` + LinkRel + `","href":"https://p.example/a.json"}]}`,
		`{"links":[{"rel":"` + LinkRel + `","href":"http://p.example/a.json"},{"rel":"` + LinkRel + `","href":"https://u:p@p.example/"}]}`,
		`{"links":[{"rel":"` + LinkRel + `","type":"text/html","href":"https://p.example/"}]}`,
		`{"subject":"acct:mallory@example.com","links":[]}`,
		`{"links":[{"rel":"` + LinkRel + `","href":"//p.example/a\n.json"}]}`,
		`{"links":[{"rel":"` + LinkRel + `","href":"https://[::1"}]}`,
		`{"links":null}`, `[]`, ``, `{"links":[{"rel":1}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		href, err := provisioningLink(data, resource)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n\x00\x1b") {
				t.Fatalf("error carries a control character: %q", err)
			}
			return
		}
		u, perr := url.Parse(href)
		if perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			t.Fatalf("picked %q", href)
		}
	})
}
