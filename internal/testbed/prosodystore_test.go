package testbed

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"testing"
	"time"
)

func TestProsodyEncode(t *testing.T) {
	tests := []struct{ in, keep, want string }{
		{"example.test", "", "example%2etest"},
		{"grace.h", "", "grace%2eh"},
		{"pep_urn:xmpp:vcard4", "_", "pep_urn%3axmpp%3avcard4"},
		{"a_b", "", "a%5fb"},
		{"Ünï", "", "%c3%9cn%c3%af"},
	}
	for _, tt := range tests {
		if got := prosodyEncode(tt.in, tt.keep); got != tt.want {
			t.Errorf("prosodyEncode(%q, %q) = %q, want %q", tt.in, tt.keep, got, tt.want)
		}
	}
}

func TestLuaSource(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"roster", lua{{false, lua{{"version", 1}, {"pending", lua{}}}}, {"a@b", rosterItemLua("both", "A", []string{"G"})}},
			`{[false]={["version"]=1;["pending"]={};};["a@b"]={["subscription"]="both";["groups"]={["G"]=true;};["name"]="A";};}`},
		{"array and escapes", lua{{nil, "x\"y\\z\n"}, {nil, int64(-2)}}, `{"x\"y\\z\n";-2;}`},
	}
	for _, tt := range tests {
		if got := luaSource(tt.v); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestPEPItemLua(t *testing.T) {
	x, err := parseXML(`<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>A &amp; B</text></fn></vcard>`)
	if err != nil {
		t.Fatal(err)
	}
	item, err := pepItemLua(x, "current", "c@example.test", time.Unix(1795444064, 0))
	if err != nil {
		t.Fatal(err)
	}
	// The shape mod_pep writes (seen in pep_urn%3axmpp%3avcard4/bob.list after a real publish).
	const ns = `["xmlns"]="urn:ietf:params:xml:ns:vcard-4.0";`
	want := `{["name"]="vcard";["attr"]={` + ns + `["stamp"]="2026-11-23T14:27:44Z";};` +
		`{["name"]="fn";["attr"]={` + ns + `};{["name"]="text";["attr"]={` + ns + `};"A & B";};};` +
		`["key"]="current";["when"]=1795444064;["with"]="c@example.test";}`
	if got := luaSource(item); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := stanzaLua(mustParse(t, `<a xmlns='x'>text<b/></a>`)); err == nil {
		t.Error("mixed content accepted")
	}
}

// TestSCRAMKeys checks the key derivation against the exchange in RFC 5802 §5: the server
// signature it shows must come out of our ServerKey, and the client proof must reveal a
// ClientKey whose hash is our StoredKey.
func TestSCRAMKeys(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("QSXCR+Q6sek8bf92")
	stored, server, err := scramSHA1Keys("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	const authMessage = "n=user,r=fyko+d2lbbFgONRv9qkxdawL," +
		"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096," +
		"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
	hm := func(key []byte) []byte {
		h := hmac.New(sha1.New, key)
		h.Write([]byte(authMessage))
		return h.Sum(nil)
	}
	if got := base64.StdEncoding.EncodeToString(hm(server)); got != "rmF9pqV8S7suAoZWja4dJRkFsKQ=" {
		t.Errorf("server signature %s, want rmF9pqV8S7suAoZWja4dJRkFsKQ=", got)
	}
	proof, _ := base64.StdEncoding.DecodeString("v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=")
	clientKey := hm(stored)
	for i := range clientKey {
		clientKey[i] ^= proof[i]
	}
	if h := sha1.Sum(clientKey); !hmac.Equal(h[:], stored) {
		t.Errorf("StoredKey %x does not match the RFC's client proof", stored)
	}
}

func TestCanonicalXML(t *testing.T) {
	a := mustParse(t, `<v:vcard xmlns:v='urn:x' b='2' a='1'>
	  <v:fn> <v:text>Bob</v:text> </v:fn></v:vcard>`)
	b := mustParse(t, `<vcard a='1' b='2' xmlns='urn:x'><fn><text>Bob</text></fn></vcard>`)
	if a.canonical() != b.canonical() {
		t.Errorf("same content, different canonical forms:\n%s\n%s", a.canonical(), b.canonical())
	}
	c := mustParse(t, `<vcard xmlns='urn:y' a='1' b='2'><fn><text>Bob</text></fn></vcard>`)
	if c.canonical() == b.canonical() {
		t.Error("namespace ignored")
	}
}
