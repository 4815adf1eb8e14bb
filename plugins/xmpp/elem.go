package xmpp

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"mellium.im/xmlstream"
)

// Limits on what the session keeps of one element from the server. Prosody
// itself refuses client stanzas over 256 KiB (c2s_stanza_size_limit), but a
// server may send us anything; these bound our memory and work, not the
// protocol.
const (
	// maxStanzaSize bounds the bytes (text, names, attribute values) kept of
	// one incoming message or presence.
	maxStanzaSize = 256 << 10
	// maxIQSize bounds the bytes kept of one IQ result (disco, pubsub, …);
	// vCards get their own bound (vcardxml.MaxSize).
	maxIQSize = 1 << 20
	// maxElemDepth and maxElems bound nesting and element count.
	maxElemDepth = 64
	maxElems     = 4096
)

// errTooLarge: an element exceeded the budget it was read with.
var errTooLarge = errors.New("element too large")

// elem is a small, bounded DOM of one XML element as the server sent it.
// Names carry resolved namespaces (encoding/xml). Character data directly
// inside the element is concatenated; mixed content loses its order, which
// none of the protocols read here use.
type elem struct {
	Name     xml.Name
	Attr     []xml.Attr
	Children []*elem
	text     strings.Builder
	textCut  bool // text was cut to fit the budget
}

// readElem reads the element that start opened from r, up to and including
// its end, keeping at most budget bytes. When the budget runs out the rest
// is read and dropped and truncated is true: the result is still a
// well-formed tree of what was kept. Only errors of r are returned; they
// leave r at an unknown position.
func readElem(r xml.TokenReader, start xml.StartElement, budget int) (e *elem, truncated bool, err error) {
	b := &elemBuilder{budget: budget}
	root := b.open(start, nil)
	stack := []*elem{root}
	for len(stack) > 0 {
		tok, err := r.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				// The reader ended with the element still open: xmlstream's
				// inner readers end there. Keep what we have.
				break
			}
			return root, b.truncated, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			var child *elem
			if top != nil && len(stack) < maxElemDepth {
				child = b.open(t, top)
			} else {
				b.truncated = true
			}
			stack = append(stack, child)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if top != nil {
				b.addText(top, t)
			}
		}
	}
	return root, b.truncated, nil
}

type elemBuilder struct {
	budget    int
	elems     int
	truncated bool
}

// open makes an element for start under parent (nil: the root), or returns
// nil when the budget is spent.
func (b *elemBuilder) open(start xml.StartElement, parent *elem) *elem {
	cost := len(start.Name.Space) + len(start.Name.Local)
	for _, a := range start.Attr {
		cost += len(a.Name.Space) + len(a.Name.Local) + len(a.Value)
	}
	if parent != nil && (cost > b.budget || b.elems >= maxElems) {
		b.truncated = true
		return nil
	}
	b.budget -= min(cost, b.budget)
	b.elems++
	e := &elem{Name: start.Name, Attr: append([]xml.Attr(nil), start.Attr...)}
	if parent != nil {
		parent.Children = append(parent.Children, e)
	}
	return e
}

func (b *elemBuilder) addText(e *elem, t xml.CharData) {
	if len(t) > b.budget {
		t = t[:cutUTF8(t, b.budget)]
		b.truncated = true
		e.textCut = true
	}
	b.budget -= len(t)
	e.text.Write(t)
}

// cutUTF8 returns the largest n' <= n such that s[:n'] does not end in
// the middle of a UTF-8 sequence.
func cutUTF8[T ~string | ~[]byte](s T, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i-1]) {
			if !utf8.FullRune([]byte(s[i-1 : n])) {
				return i - 1
			}
			return n
		}
	}
	return n
}

// attr returns the value of the attribute without namespace named local.
func (e *elem) attr(local string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attr {
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == e.Name.Space) {
			return a.Value
		}
	}
	return ""
}

// langAttr returns xml:lang.
func (e *elem) langAttr() string {
	for _, a := range e.Attr {
		if a.Name.Local == "lang" && (a.Name.Space == nsXML || a.Name.Space == "xml") {
			return a.Value
		}
	}
	return ""
}

const nsXML = "http://www.w3.org/XML/1998/namespace"

// child returns the first child named {space}local; an empty space matches
// any namespace.
func (e *elem) child(space, local string) *elem {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Name.Local == local && (space == "" || c.Name.Space == space) {
			return c
		}
	}
	return nil
}

// all returns every child named {space}local.
func (e *elem) all(space, local string) []*elem {
	if e == nil {
		return nil
	}
	var out []*elem
	for _, c := range e.Children {
		if c.Name.Local == local && (space == "" || c.Name.Space == space) {
			out = append(out, c)
		}
	}
	return out
}

// children returns e's child elements (nil for a nil e).
func (e *elem) children() []*elem {
	if e == nil {
		return nil
	}
	return e.Children
}

// Text returns the character data directly inside e.
func (e *elem) Text() string {
	if e == nil {
		return ""
	}
	return e.text.String()
}

// childText returns the text of the first child {space}local.
func (e *elem) childText(space, local string) string {
	return e.child(space, local).Text()
}

// tokens replays e as a token stream (start, text, children, end), e.g. to
// hand it to a decoder.
func (e *elem) tokens() xml.TokenReader {
	start := xml.StartElement{Name: e.Name, Attr: e.Attr}
	var inner []xml.TokenReader
	if s := e.text.String(); s != "" {
		inner = append(inner, xmlstream.Token(xml.CharData(s)))
	}
	for _, c := range e.Children {
		inner = append(inner, c.tokens())
	}
	return xmlstream.Wrap(xmlstream.MultiReader(inner...), start)
}

// decoder returns a decoder positioned after e's start element, and that
// start element, as xml.Unmarshaler-style decoders want them.
func (e *elem) decoder() (*xml.Decoder, *xml.StartElement, error) {
	d := xml.NewTokenDecoder(e.tokens())
	tok, err := d.Token()
	if err != nil {
		return nil, nil, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return nil, nil, errors.New("element replay did not start with a start element")
	}
	return d, &start, nil
}
