package vcardxml

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// xbuf builds XML output. Element names are the package's own constants or
// names checked by validName, so only text and attribute values need
// escaping.
type xbuf struct{ bytes.Buffer }

func (b *xbuf) open(name string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteByte('>')
}

func (b *xbuf) close(name string) {
	b.WriteString("</")
	b.WriteString(name)
	b.WriteByte('>')
}

func (b *xbuf) empty(name string) {
	b.WriteByte('<')
	b.WriteString(name)
	b.WriteString("/>")
}

// text writes s escaped; clean first, so that a card built in code with
// control characters still yields well-formed XML.
func (b *xbuf) text(s string) {
	_ = xml.EscapeText(b, []byte(clean(s))) // a bytes.Buffer never fails
}

func (b *xbuf) leaf(name, s string) {
	if s == "" {
		b.empty(name)
		return
	}
	b.open(name)
	b.text(s)
	b.close(name)
}

// kids returns e's child elements in e's own namespace: children inherit
// the default namespace, so anything else was declared by an extension and
// is ignored (RFC 6351 §5; XEP-0054 defines no extension elements).
func kids(e *node) []*node {
	var out []*node
	for _, c := range e.children {
		if c.name.Space == e.name.Space {
			out = append(out, c)
		}
	}
	return out
}

// splitParts splits a structured value into exactly n components; surplus
// components stay in the last one, so that writing and reading them back
// gives the same value.
func splitParts(v string, n int) []string {
	parts := strings.SplitN(v, ";", n)
	for len(parts) < n {
		parts = append(parts, "")
	}
	return parts
}
