package jsoncheck

import (
	"strings"
	"testing"
)

// The checker must refuse what docs/json.md rules out, or the schema test
// proves nothing.
func TestCheckRefuses(t *testing.T) {
	ok := `{"schema":"cusax.version/v1","version":"1","plugin_api_version":1,"go":"go1","platform":"linux/amd64"}`
	if _, err := Check(ok); err != nil {
		t.Fatalf("a valid document refused: %v", err)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"no document", "", "no JSON document"},
		{"not JSON", "version 1", "not JSON"},
		{"an array", `[1]`, "not a JSON object"},
		{"no schema", `{"version":"1"}`, `no "schema"`},
		{"unknown schema", `{"schema":"cusax.nope/v1"}`, "no schema file"},
		{"schema of another form", `{"schema":"https://example.com/x"}`, "not of the form"},
		{"path in the name", `{"schema":"cusax.../v1"}`, "not of the form"},
		{"unknown key", strings.Replace(ok, `"go"`, `"extra":1,"go"`, 1), "does not match"},
		{"missing key", strings.Replace(ok, `"go":"go1",`, "", 1), "does not match"},
		{"second line bad", ok + "\n" + `{"schema":"cusax.version/v1"}`, "document 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Check(tc.doc); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestVocabularyRefuses(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"nanoseconds", `{"elapsed_ns":1}`, "integer *_ms"},
		{"seconds", `{"wait_s":1}`, "integer *_ms"},
		{"float ms", `{"elapsed_ms":1.5}`, "not an integer"},
		{"string ms", `{"elapsed_ms":"1"}`, "not an integer"},
		{"camelCase", `{"elapsedMs":1}`, "snake_case"},
		{"time not _at", `{"started":"2026-12-07T10:00:00Z"}`, "named *_at"},
		{"_at not a time", `{"started_at":"yesterday"}`, "not an RFC 3339"},
		{"nested", `{"a":[{"b":{"expires_ns":3600000000000}}]}`, "integer *_ms"},
		{"xmpp object", `{"xmpp":{"jid":"a@b"}}`, "chat and telephony"},
		{"sip object", `{"sip":{"aor":"sip:a@b"}}`, "chat and telephony"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := decode(tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := Vocabulary(v); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want %q", err, tc.want)
			}
		})
	}
	for _, good := range []string{
		`{"elapsed_ms":12,"started_at":"2026-12-07T10:00:00.5Z","not_after":"2099-01-01T00:00:00Z"}`,
		`{"aspect":"xmpp","backends":{"chat":"xmpp"}}`,
		`{"fields":{"FORM_TYPE":["x"]},"summary":{"status":{"pass":1}}}`,
	} {
		v, _ := decode(good)
		if err := Vocabulary(v); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
}
