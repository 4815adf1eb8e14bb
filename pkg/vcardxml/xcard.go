package vcardxml

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/emersion/go-vcard"
)

// NSXCard is the RFC 6351 xCard namespace, which XEP-0292 uses for
// vCard 4 in PEP.
const NSXCard = "urn:ietf:params:xml:ns:vcard-4.0"

// ParseXCard reads one xCard document (at most MaxSize bytes): a
// <vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'> element as XEP-0292
// publishes it, or an RFC 6351 <vcards> wrapper, of which the first <vcard>
// is used. Errors wrap ErrTooLarge or ErrMalformed.
func ParseXCard(r io.Reader) (vcard.Card, error) {
	return DecodeXCard(newDecoder(r), nil)
}

// DecodeXCard reads an xCard <vcard> (or <vcards>) element from d; start is
// as for DecodeVCardTemp, and so are the limits. Mapping (RFC 6351 §3):
// each property element becomes the upper-cased property, <parameters>
// children become parameters, <group name> becomes Field.Group, the
// components of N, ADR, GENDER and CLIENTPIDMAP are joined with ';' (several
// values of one component with ','), several values of NICKNAME and
// CATEGORIES with ',' and of ORG with ';', and a value element whose type
// is not the property's default becomes VALUE (a TEL <uri> gives
// VALUE=uri). Elements in other namespaces are ignored (RFC 6351 §5), as
// are elements whose names cannot be vCard names. Errors wrap ErrTooLarge
// or ErrMalformed.
func DecodeXCard(d *xml.Decoder, start *xml.StartElement) (vcard.Card, error) {
	t := newTreeReader(d)
	s, err := t.root(start)
	if err != nil {
		return nil, fmt.Errorf("parse xcard: %w", err)
	}
	if s.Name.Space != NSXCard && s.Name.Space != "" || s.Name.Local != "vcard" && s.Name.Local != "vcards" {
		return nil, fmt.Errorf("parse xcard: root element %q in namespace %q, want vcard in %q: %w",
			s.Name.Local, s.Name.Space, NSXCard, ErrMalformed)
	}
	root, err := t.read(s)
	if err != nil {
		return nil, fmt.Errorf("parse xcard: %w", err)
	}
	if root.name.Local == "vcards" {
		i := slices.IndexFunc(kids(root), func(n *node) bool { return n.name.Local == "vcard" })
		if i < 0 {
			return nil, fmt.Errorf("parse xcard: %w: <vcards> without a <vcard>", ErrMalformed)
		}
		root = kids(root)[i]
	}
	c := vcard.Card{}
	for _, e := range kids(root) {
		if e.name.Local != "group" {
			addXProp(c, e, "")
			continue
		}
		g, _ := e.attrValue("name")
		if !validGroup(g) {
			g = ""
		}
		for _, p := range kids(e) {
			addXProp(c, p, g)
		}
	}
	canonicalize(c)
	return c, nil
}

func addXProp(c vcard.Card, e *node, group string) {
	name := strings.ToUpper(e.name.Local)
	switch {
	case !validName(name), name == "GROUP", name == "PARAMETERS", name == "VERSION", name == "BEGIN", name == "END":
		// xCard has no VERSION (RFC 6351 §3.1: it is always 4.0) and
		// groups do not nest.
		return
	}
	info := propInfo(name)
	f := &vcard.Field{Group: group}
	var vals []*node
	for _, k := range kids(e) {
		if k.name.Local == "parameters" {
			addXParams(f, k)
			continue
		}
		vals = append(vals, k)
	}
	if info.components != nil {
		parts := make([]string, len(info.components))
		seen := make([]bool, len(parts))
		for _, k := range vals {
			i := slices.Index(info.components, k.name.Local)
			if i < 0 {
				continue
			}
			v := k.value()
			if sub := kids(k); len(sub) > 0 && strings.TrimSpace(v) == "" {
				// XEP-0292's own example writes <sex><text>M</text></sex>.
				v = sub[0].value()
			}
			if i < len(parts)-1 {
				// A ';' would shift the following components (see
				// components in vcardtemp.go).
				v = strings.ReplaceAll(v, ";", ",")
			}
			if seen[i] {
				parts[i] += "," // several values of one component
			}
			parts[i] += v
			seen[i] = true
		}
		f.Value = strings.Join(parts, ";")
	} else {
		if len(vals) == 0 {
			// Not RFC 6351, but seen in the wild: the value straight in
			// the property element.
			v := strings.TrimSpace(e.value())
			if v == "" {
				return
			}
			f.Value = v
			c.Add(name, f)
			return
		}
		sep := ","
		if info.listSep == ";" {
			sep = ";"
		}
		texts := make([]string, len(vals))
		for i, k := range vals {
			texts[i] = k.value()
		}
		f.Value = strings.Join(texts, sep)
		if typ := strings.ToLower(vals[0].name.Local); !sameValueType(typ, info.valueType) {
			if f.Params == nil {
				f.Params = vcard.Params{}
			}
			f.Params.Set(vcard.ParamValue, typ)
		}
	}
	c.Add(name, f)
}

// addXParams reads <parameters> (RFC 6351 §3.4): each child is a parameter
// whose value elements are its values. VALUE is not an xCard parameter; the
// value element's name carries the type.
func addXParams(f *vcard.Field, e *node) {
	for _, p := range kids(e) {
		name := strings.ToUpper(p.name.Local)
		if !validName(name) || name == vcard.ParamValue {
			continue
		}
		var vs []string
		for _, v := range kids(p) {
			vs = append(vs, v.value())
		}
		if len(vs) == 0 {
			// Lenient, as for property values: <type>work</type>.
			v := strings.TrimSpace(p.value())
			if v == "" {
				continue
			}
			vs = []string{v}
		}
		if f.Params == nil {
			f.Params = vcard.Params{}
		}
		f.Params[name] = append(f.Params[name], vs...)
	}
}

// WriteXCard writes c as an XEP-0292 <vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'>
// element (RFC 6351), properties sorted by name and a field's group as a
// <group name> around it. The value element is named by the VALUE
// parameter, else the property's default type (a date-and-or-time as
// <date>, <date-time> or <time> by its form; an extension property as
// <unknown>). It returns an error wrapping ErrMalformed for a property,
// parameter or group name xCard cannot hold and ErrTooLarge when the result
// would exceed MaxSize, and writes nothing then.
func WriteXCard(w io.Writer, c vcard.Card) error {
	var b xbuf
	b.WriteString(`<vcard xmlns="` + NSXCard + `">`)
	for _, name := range propNames(c) {
		for _, f := range c[name] {
			if err := writeXProp(&b, strings.ToUpper(name), f); err != nil {
				return fmt.Errorf("write xcard: %w", err)
			}
		}
	}
	b.WriteString(`</vcard>`)
	return finish(w, b.Bytes(), "xcard")
}

// propNames returns c's property names in the order writers use, without
// VERSION, BEGIN and END, which writers produce themselves.
func propNames(c vcard.Card) []string {
	names := make([]string, 0, len(c))
	for k := range c {
		switch strings.ToUpper(k) {
		case vcard.FieldVersion, "BEGIN", "END":
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func writeXProp(b *xbuf, name string, f *vcard.Field) error {
	if !validName(name) {
		return fmt.Errorf("property name %q: %w", name, ErrMalformed)
	}
	if f.Group != "" {
		if !validGroup(f.Group) {
			return fmt.Errorf("group name %q: %w", f.Group, ErrMalformed)
		}
		b.WriteString(`<group name="`)
		b.text(f.Group)
		b.WriteString(`">`)
		defer b.close("group")
	}
	el := strings.ToLower(name)
	b.open(el)
	if err := writeXParams(b, f.Params); err != nil {
		return fmt.Errorf("property %s: %w", name, err)
	}
	info := propInfo(name)
	v := clean(f.Value)
	switch {
	case info.components != nil:
		parts := splitParts(v, len(info.components))
		if name == "GENDER" && len(strings.SplitN(v, ";", 2)) == 1 {
			parts = parts[:1] // RFC 6351: <identity> is optional
		}
		for i, p := range parts {
			vals := []string{p}
			if info.commaLists {
				vals = strings.Split(p, ",")
			}
			for _, s := range vals {
				b.leaf(info.components[i], s)
			}
		}
	default:
		typ := xValueType(name, info, f.Params, v)
		vals := []string{v}
		if info.listSep != "" {
			vals = strings.Split(v, info.listSep)
		}
		for _, s := range vals {
			b.leaf(typ, s)
		}
	}
	b.close(el)
	return nil
}

// xValueType names the value element of a non-structured property.
func xValueType(name string, info prop, p vcard.Params, v string) string {
	if t := strings.ToLower(p.Get(vcard.ParamValue)); validValueType(t) {
		return t
	}
	switch {
	case name == vcard.FieldTelephone && hasScheme(v):
		return typeURI // as canonicalize and Text add VALUE=uri
	case info.valueType == typeDateOrTime:
		return dateOrTimeElement(v)
	}
	return info.valueType
}

// xParamTypes are the value types RFC 6351's schema gives parameters other
// than text.
var xParamTypes = map[string]string{
	vcard.ParamPreferred:   "integer",
	vcard.ParamGeolocation: typeURI,
	vcard.ParamLanguage:    "language-tag",
}

func writeXParams(b *xbuf, p vcard.Params) error {
	keys := make([]string, 0, len(p))
	for k, vs := range p {
		if len(vs) == 0 || strings.EqualFold(k, vcard.ParamValue) {
			continue
		}
		if !validName(k) {
			return fmt.Errorf("parameter name %q: %w", k, ErrMalformed)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	b.open("parameters")
	for _, k := range keys {
		up := strings.ToUpper(k)
		el := strings.ToLower(k)
		b.open(el)
		for _, v := range p[k] {
			typ := xParamTypes[up]
			if typ == "" {
				typ = typeText
				if up == vcard.ParamTimezone && hasScheme(v) {
					typ = typeURI
				}
			}
			b.leaf(typ, v)
		}
		b.close(el)
	}
	b.close("parameters")
	return nil
}
