package testbed

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"
)

// xnode is any XML element, kept whole: the seeding client sends payloads given as XML text and
// hands back what the server answered without a struct per XEP in between.
type xnode struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []xnode    `xml:",any"`
	Text     string     `xml:",chardata"`
}

// parseXML parses one element.
func parseXML(s string) (xnode, error) {
	var n xnode
	if err := xml.NewDecoder(strings.NewReader(s)).Decode(&n); err != nil {
		return xnode{}, fmt.Errorf("parse XML %.60q: %w", s, err)
	}
	return n, nil
}

// attr returns the value of the attribute without namespace called local, or "".
func (n xnode) attr(local string) string {
	for _, a := range n.Attrs {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// child returns the first child called local (in any namespace), or nil.
func (n *xnode) child(local string) *xnode {
	for i := range n.Children {
		if n.Children[i].XMLName.Local == local {
			return &n.Children[i]
		}
	}
	return nil
}

// find follows a path of child names, e.g. find("tel", "uri").
func (n *xnode) find(path ...string) *xnode {
	c := n
	for _, p := range path {
		if c = c.child(p); c == nil {
			return nil
		}
	}
	return c
}

// all returns the children called local.
func (n xnode) all(local string) []xnode {
	var out []xnode
	for _, c := range n.Children {
		if c.XMLName.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// canonical renders the element in a form that ignores what XML does not distinguish:
// namespace prefixes and declarations, attribute order, and whitespace around text.
// Two elements are the same document content if their canonical forms are equal.
func (n xnode) canonical() string {
	var sb strings.Builder
	n.writeCanonical(&sb)
	return sb.String()
}

func (n xnode) writeCanonical(sb *strings.Builder) {
	fmt.Fprintf(sb, "<{%s}%s", n.XMLName.Space, n.XMLName.Local)
	var attrs []string
	for _, a := range n.Attrs {
		if a.Name.Local == "xmlns" || a.Name.Space == "xmlns" {
			continue
		}
		attrs = append(attrs, fmt.Sprintf(" {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value))
	}
	slices.Sort(attrs)
	sb.WriteString(strings.Join(attrs, ""))
	sb.WriteString(">")
	if t := strings.TrimSpace(n.Text); t != "" {
		fmt.Fprintf(sb, "%q", t)
	}
	for _, c := range n.Children {
		c.writeCanonical(sb)
	}
	sb.WriteString("</>")
}

// xmlTokens reads the XML text s as tokens for mellium's encoder. Namespace declarations are
// dropped from the attributes: encoding/xml already carries each element's namespace in its
// name and declares it again when encoding, and a second xmlns attribute would make the
// stanza malformed. Comments, processing instructions and directives are dropped too.
func xmlTokens(s string) xml.TokenReader {
	return &cleanTokens{d: xml.NewDecoder(strings.NewReader(s))}
}

type cleanTokens struct{ d *xml.Decoder }

func (c *cleanTokens) Token() (xml.Token, error) {
	for {
		tok, err := c.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			attrs := t.Attr[:0:0]
			for _, a := range t.Attr {
				if a.Name.Local == "xmlns" || a.Name.Space == "xmlns" {
					continue
				}
				attrs = append(attrs, a)
			}
			t.Attr = attrs
			return t, nil
		case xml.EndElement:
			return t, nil
		case xml.CharData:
			return t.Copy(), nil
		}
	}
}

// escapeXML escapes s for use in XML text or a quoted attribute.
func escapeXML(s string) string {
	var sb strings.Builder
	_ = xml.EscapeText(&sb, []byte(s))
	return sb.String()
}

// decodeElement reads one whole element from r, whose start token comes first.
func decodeElement(r xml.TokenReader) (xnode, error) {
	var n xnode
	err := xml.NewTokenDecoder(r).Decode(&n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}
