package vcardxml

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
)

// fld builds a field: fld("value", "TYPE=work|voice", "PREF=1",
// "group=item1"). Several parameter values are separated by '|', so that
// values may hold commas.
func fld(value string, params ...string) *vcard.Field {
	f := &vcard.Field{Value: value}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if k == "group" {
			f.Group = v
			continue
		}
		if f.Params == nil {
			f.Params = vcard.Params{}
		}
		f.Params[k] = append(f.Params[k], strings.Split(v, "|")...)
	}
	return f
}

// card returns a canonical card: the fields plus VERSION:4.0.
func card(props map[string][]*vcard.Field) vcard.Card {
	c := vcard.Card{vcard.FieldVersion: {{Value: "4.0"}}}
	for k, v := range props {
		c[k] = v
	}
	return c
}

// dump prints a card one field per line, sorted, for failure messages.
func dump(c vcard.Card) string {
	var lines []string
	for k, fs := range c {
		for i, f := range fs {
			var ps []string
			for pk, pv := range f.Params {
				ps = append(ps, fmt.Sprintf("%s=%q", pk, pv))
			}
			sort.Strings(ps)
			lines = append(lines, fmt.Sprintf("%s[%d] group=%q %s value=%q", k, i, f.Group, strings.Join(ps, " "), f.Value))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func assertCard(t *testing.T, what string, got, want vcard.Card) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", what, dump(got), dump(want))
	}
}
