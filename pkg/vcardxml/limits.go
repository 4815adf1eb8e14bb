package vcardxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// MaxSize is the largest vCard, in bytes of XML or text, that the parsers
// accept and the writers produce. Real vCards are a few KiB, a photo is
// what pushes them up, and a larger one could not reach us or be published
// anyway: Prosody 0.12 refuses client stanzas over 256 KiB
// (c2s_stanza_size_limit's default, mod_c2s.lua).
const MaxSize = 256 << 10

const (
	// maxDepth bounds element nesting. The deepest legitimate path is
	// vcards/vcard/group/tel/parameters/type/text (7 levels).
	maxDepth = 16
	// maxTokens bounds the number of XML tokens: MaxSize bytes cannot hold
	// more than MaxSize/4 well-formed elements ("<a/>"), so this only
	// matters for decoders handed to us whose input we cannot cap.
	maxTokens = 1 << 16
)

var (
	// ErrTooLarge reports a vCard larger than MaxSize, or with more XML
	// tokens than a vCard of that size could hold.
	ErrTooLarge = errors.New("vcard too large")
	// ErrMalformed reports input that is not a vCard of the expected form
	// (bad XML, a DTD, the wrong root element, no BEGIN:VCARD…END:VCARD),
	// or a card whose names cannot be written.
	ErrMalformed = errors.New("malformed vcard")
)

// capReader reads at most MaxSize bytes and then fails with ErrTooLarge
// (io.LimitReader alone would end in io.EOF, which encoding/xml reports as
// "unexpected EOF", indistinguishable from a truncated document).
type capReader struct {
	r io.Reader // an io.LimitReader of MaxSize+1 bytes
	n int64
}

func newCapReader(r io.Reader) *capReader {
	return &capReader{r: io.LimitReader(r, MaxSize+1)}
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > MaxSize {
		return n - int(c.n-MaxSize), ErrTooLarge
	}
	return n, err
}

// node is one element of a bounded, fully read XML tree. Reading the whole
// vCard first keeps the mapping code simple, and the limits keep the tree
// small.
type node struct {
	name     xml.Name
	attr     []xml.Attr
	text     []byte // character data directly inside this element
	children []*node
}

// value returns the element's own character data, cleaned.
func (n *node) value() string { return clean(string(n.text)) }

// attrValue returns the value of the un-namespaced attribute local.
func (n *node) attrValue(local string) (string, bool) {
	for _, a := range n.attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return clean(a.Value), true
		}
	}
	return "", false
}

// treeReader reads tokens from a decoder within the package's limits.
type treeReader struct {
	d      *xml.Decoder
	base   int64 // d.InputOffset() when we started
	tokens int
	text   int
}

func newTreeReader(d *xml.Decoder) *treeReader {
	return &treeReader{d: d, base: d.InputOffset()}
}

func (t *treeReader) token() (xml.Token, error) {
	tok, err := t.d.Token()
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("larger than %d bytes: %w", MaxSize, ErrTooLarge)
		}
		if err == io.EOF {
			return nil, fmt.Errorf("unexpected end of input: %w", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	t.tokens++
	if t.tokens > maxTokens {
		return nil, fmt.Errorf("more than %d xml tokens: %w", maxTokens, ErrTooLarge)
	}
	// A decoder we were handed may read from an unbounded stream; its
	// offset tells us how much of it this vCard has used so far.
	if t.d.InputOffset()-t.base > MaxSize {
		return nil, fmt.Errorf("larger than %d bytes: %w", MaxSize, ErrTooLarge)
	}
	switch tok := tok.(type) {
	case xml.CharData:
		t.text += len(tok)
		if t.text > MaxSize {
			return nil, fmt.Errorf("more than %d bytes of text: %w", MaxSize, ErrTooLarge)
		}
	case xml.Directive:
		// RFC 6120 §11.1: XMPP forbids DTDs; refusing them also rules out
		// entity declarations and their expansion.
		return nil, fmt.Errorf("%w: xml directives (DTDs) are not allowed", ErrMalformed)
	}
	return tok, nil
}

// root returns *start, or reads up to the first start element when start is
// nil, allowing only a prolog (XML declaration, comments, white space)
// before it.
func (t *treeReader) root(start *xml.StartElement) (xml.StartElement, error) {
	if start != nil {
		return start.Copy(), nil
	}
	for {
		tok, err := t.token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			return tok.Copy(), nil
		case xml.EndElement:
			return xml.StartElement{}, fmt.Errorf("%w: end element before the root element", ErrMalformed)
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) != 0 {
				return xml.StartElement{}, fmt.Errorf("%w: text before the root element", ErrMalformed)
			}
		}
	}
}

// read reads the element opened by start, up to and including its end
// element, into a tree.
func (t *treeReader) read(start xml.StartElement) (*node, error) {
	root := &node{name: start.Name, attr: start.Attr}
	stack := []*node{root}
	for len(stack) > 0 {
		tok, err := t.token()
		if err != nil {
			return nil, err
		}
		cur := stack[len(stack)-1]
		switch tok := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", ErrMalformed, maxDepth)
			}
			n := &node{name: tok.Name, attr: tok.Copy().Attr}
			cur.children = append(cur.children, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			cur.text = append(cur.text, tok...)
		}
	}
	return root, nil
}

// newDecoder returns a strict decoder reading at most MaxSize bytes of r.
func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(newCapReader(r))
	d.Strict = true
	return d
}

// finish writes b to w when it fits in MaxSize; writers build their output
// in memory first so that an error leaves w untouched.
func finish(w io.Writer, b []byte, what string) error {
	if len(b) > MaxSize {
		return fmt.Errorf("write %s: %d bytes, more than %d: %w", what, len(b), MaxSize, ErrTooLarge)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}
