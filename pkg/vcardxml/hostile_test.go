package vcardxml

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-vcard"
)

// endless yields prefix, then repeats fill forever: a server that never
// stops talking.
type endless struct {
	prefix, fill string
	off          int
}

func (e *endless) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if e.off < len(e.prefix) {
			c := copy(p[n:], e.prefix[e.off:])
			n += c
			e.off += c
			continue
		}
		i := (e.off - len(e.prefix)) % len(e.fill)
		c := copy(p[n:], e.fill[i:])
		n += c
		e.off += c
	}
	return n, nil
}

// tokenFlood is an xml.TokenReader (no input offset to check) producing
// <vcard><x/><x/>… without end.
type tokenFlood struct{ n int }

func (f *tokenFlood) Token() (xml.Token, error) {
	f.n++
	name := xml.Name{Space: NSXCard, Local: "x"}
	switch {
	case f.n == 1:
		return xml.StartElement{Name: xml.Name{Space: NSXCard, Local: "vcard"}}, nil
	case f.n%2 == 0:
		return xml.StartElement{Name: name}, nil
	default:
		return xml.EndElement{Name: name}, nil
	}
}

type parser struct {
	name  string
	parse func(io.Reader) (vcard.Card, error)
	open  string // root start tag
	close string
}

var xmlParsers = []parser{
	{"vcard-temp", ParseVCardTemp, `<vCard xmlns="vcard-temp">`, `</vCard>`},
	{"xcard", ParseXCard, `<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0">`, `</vcard>`},
}

func TestHostileXML(t *testing.T) {
	for _, p := range xmlParsers {
		tests := []struct {
			name string
			in   io.Reader
			want error
		}{
			{"huge text", strings.NewReader(p.open + "<NOTE>" + strings.Repeat("x", MaxSize) + "</NOTE>" + p.close), ErrTooLarge},
			{"endless text", &endless{prefix: p.open + "<note><text>", fill: "spam "}, ErrTooLarge},
			{"endless elements", &endless{prefix: p.open, fill: "<a/>"}, ErrTooLarge},
			{"deep nesting", strings.NewReader(p.open + strings.Repeat("<a>", 100000)), ErrMalformed},
			{"billion laughs", strings.NewReader(`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` + p.open + "<FN>&lol2;</FN>" + p.close), ErrMalformed},
			{"undeclared entity", strings.NewReader(p.open + "<FN>&lol;</FN>" + p.close), ErrMalformed},
			{"external entity", strings.NewReader(`<!DOCTYPE x SYSTEM "file:///etc/passwd">` + p.open + p.close), ErrMalformed},
			{"invalid utf-8", strings.NewReader(p.open + "<FN>\xff\xfe</FN>" + p.close), ErrMalformed},
			{"binary junk", strings.NewReader("\x00\x01\x02\x89PNG\r\n\x1a\n"), ErrMalformed},
			{"truncated", strings.NewReader(p.open + "<FN>Bob"), ErrMalformed},
			{"mismatched tags", strings.NewReader(p.open + "<FN>Bob</fn>" + p.close), ErrMalformed},
			{"other encoding", strings.NewReader(`<?xml version="1.0" encoding="ISO-8859-1"?>` + p.open + p.close), ErrMalformed},
		}
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				start := time.Now()
				c, err := p.parse(tt.in)
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
				if c != nil {
					t.Errorf("card %v returned with error", c)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("took %v", d)
				}
			})
		}
	}
}

// A decoder handed in by a stanza handler reads an unbounded stream; the
// parsers must still stop.
func TestHostileCallerDecoder(t *testing.T) {
	d := xml.NewDecoder(&endless{prefix: `<vcard xmlns="urn:ietf:params:xml:ns:vcard-4.0">`, fill: "<fn><text>x</text></fn>"})
	if _, err := DecodeXCard(d, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeXCard(endless) = %v, want ErrTooLarge", err)
	}
	td := xml.NewTokenDecoder(&tokenFlood{})
	if _, err := DecodeXCard(td, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeXCard(token flood) = %v, want ErrTooLarge", err)
	}
}

// invalidUTF8 hands out tokens with invalid UTF-8, which a token decoder
// passes through unchecked.
type invalidUTF8 struct{ toks []xml.Token }

func (r *invalidUTF8) Token() (xml.Token, error) {
	if len(r.toks) == 0 {
		return nil, io.EOF
	}
	t := r.toks[0]
	r.toks = r.toks[1:]
	return t, nil
}

func TestInvalidUTF8Replaced(t *testing.T) {
	vc := xml.Name{Space: NSVCardTemp, Local: "vCard"}
	fn := xml.Name{Space: NSVCardTemp, Local: "FN"}
	r := &invalidUTF8{toks: []xml.Token{
		xml.StartElement{Name: vc},
		xml.StartElement{Name: fn}, xml.CharData("B\xffob\x01"), xml.EndElement{Name: fn},
		xml.EndElement{Name: vc},
	}}
	c, err := DecodeVCardTemp(xml.NewTokenDecoder(r), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Value("FN"), "B\uFFFDob\uFFFD"; got != want {
		t.Errorf("FN = %q, want %q", got, want)
	}
}
