package vcardxml

import (
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-vcard"
)

// NSVCardTemp is the XEP-0054 namespace.
const NSVCardTemp = "vcard-temp"

// XEP-0054 §3 (DTD): the flag elements of TEL, EMAIL and ADR, and the
// components of N and ADR in vCard 4 order (RFC 6350 §6.2.2, §6.3.1).
// encoding/xml matches names case-sensitively and XEP-0054 spells them in
// upper case; we compare upper-cased names so that a lower-case writer is
// understood too.
var (
	telFlags   = []string{"HOME", "WORK", "VOICE", "FAX", "PAGER", "MSG", "CELL", "VIDEO", "BBS", "MODEM", "ISDN", "PCS"}
	emailFlags = []string{"HOME", "WORK", "INTERNET", "X400"}
	adrFlags   = []string{"HOME", "WORK", "POSTAL", "PARCEL", "DOM", "INTL"}
	nParts     = []string{"FAMILY", "GIVEN", "MIDDLE", "PREFIX", "SUFFIX"}
	adrParts   = []string{"POBOX", "EXTADD", "STREET", "LOCALITY", "REGION", "PCODE", "CTRY"}
)

// ParseVCardTemp reads one XEP-0054 <vCard xmlns='vcard-temp'> document
// (at most MaxSize bytes) and returns it as a canonical vCard 4 card.
// Errors wrap ErrTooLarge or ErrMalformed.
func ParseVCardTemp(r io.Reader) (vcard.Card, error) {
	return DecodeVCardTemp(newDecoder(r), nil)
}

// DecodeVCardTemp reads a <vCard xmlns='vcard-temp'> element from d. start
// is its start element when the caller has already read it (as a stanza
// handler has); with nil, DecodeVCardTemp reads up to the next start
// element itself. It consumes the element up to its end tag and stops
// there. A decoder the caller made reads an unbounded stream, so the limits
// are checked as tokens arrive: one enormous token is read before it can be
// refused, which the stream's own stanza limit must bound. An element
// without a namespace is accepted as vcard-temp. Errors wrap ErrTooLarge or
// ErrMalformed.
func DecodeVCardTemp(d *xml.Decoder, start *xml.StartElement) (vcard.Card, error) {
	t := newTreeReader(d)
	s, err := t.root(start)
	if err != nil {
		return nil, fmt.Errorf("parse vcard-temp: %w", err)
	}
	if !strings.EqualFold(s.Name.Local, "vCard") || s.Name.Space != NSVCardTemp && s.Name.Space != "" {
		return nil, fmt.Errorf("parse vcard-temp: root element %q in namespace %q, want vCard in %q: %w",
			s.Name.Local, s.Name.Space, NSVCardTemp, ErrMalformed)
	}
	root, err := t.read(s)
	if err != nil {
		return nil, fmt.Errorf("parse vcard-temp: %w", err)
	}
	return fromVCardTemp(root), nil
}

func fromVCardTemp(root *node) vcard.Card {
	c := vcard.Card{}
	for _, e := range kids(root) {
		name := strings.ToUpper(e.name.Local)
		switch name {
		case "FN", "NICKNAME", "TITLE", "ROLE", "NOTE", "URL", "BDAY":
			addField(c, name, e.value(), nil)
		case "UID":
			// RFC 6350 §6.7.6: UID is a URI unless VALUE=text says otherwise;
			// vcard-temp's is free text.
			v := e.value()
			var p vcard.Params
			if !hasScheme(v) {
				p = vcard.Params{vcard.ParamValue: {typeText}}
			}
			addField(c, name, v, p)
		case "N":
			if v, ok := components(e, nParts); ok {
				addField(c, vcard.FieldName, v, nil)
			}
		case "ADR":
			if v, ok := components(e, adrParts); ok {
				types, pref := flags(e, adrFlags)
				addField(c, vcard.FieldAddress, v, typeParams(types, pref))
			}
		case "TEL":
			num := leafOr(e, "NUMBER")
			if num == "" {
				continue
			}
			types, pref := flags(e, telFlags)
			addField(c, vcard.FieldTelephone, telFromNumber(num), typeParams(types, pref))
		case "EMAIL":
			addr := leafOr(e, "USERID")
			if addr == "" {
				continue
			}
			types, pref := flags(e, emailFlags)
			addField(c, vcard.FieldEmail, addr, typeParams(types, pref))
		case "ORG":
			parts := []string{""}
			found := false
			for _, k := range kids(e) {
				v := k.value()
				switch strings.ToUpper(k.name.Local) {
				case "ORGNAME":
					parts[0] = v
				case "ORGUNIT":
					parts = append(parts, v)
				default:
					continue
				}
				found = found || v != ""
			}
			if found {
				addField(c, vcard.FieldOrganization, strings.Join(parts, ";"), nil)
			}
		case "JABBERID":
			if jid := strings.TrimSpace(e.value()); jid != "" {
				addField(c, vcard.FieldIMPP, "xmpp:"+escapeJID(jid), nil)
			}
		case "PHOTO":
			if v := photoURI(e); v != "" {
				addField(c, vcard.FieldPhoto, v, nil)
			}
		}
	}
	canonicalize(c)
	return c
}

func addField(c vcard.Card, name, value string, p vcard.Params) {
	if value == "" {
		return
	}
	c.Add(name, &vcard.Field{Value: value, Params: p})
}

// child returns e's first child element named name (upper case).
func child(e *node, name string) *node {
	for _, k := range kids(e) {
		if strings.ToUpper(k.name.Local) == name {
			return k
		}
	}
	return nil
}

// leafOr returns the text of e's child named name or, for writers that put
// the value straight into the element, e's own trimmed text.
func leafOr(e *node, name string) string {
	if k := child(e, name); k != nil {
		return k.value()
	}
	return strings.TrimSpace(e.value())
}

// flags returns the flag elements of e that appear in allowed, lower-cased
// as vCard 4 TYPE values in document order, and whether <PREF/> is there.
func flags(e *node, allowed []string) (types []string, pref bool) {
	for _, k := range kids(e) {
		name := strings.ToUpper(k.name.Local)
		switch {
		case name == "PREF":
			pref = true
		case slices.Contains(allowed, name):
			types = append(types, strings.ToLower(name))
		}
	}
	return types, pref
}

func typeParams(types []string, pref bool) vcard.Params {
	p := vcard.Params{}
	if len(types) > 0 {
		p[vcard.ParamType] = types
	}
	if pref {
		// RFC 6350 §5.3: 1 is the most preferred.
		p.Set(vcard.ParamPreferred, "1")
	}
	return p
}

// components joins the children of e named in parts into a structured
// value, and reports whether any of them had text. A ';' inside a
// component other than the last would shift the following ones, so it
// becomes ','; the last one keeps it, as splitParts does on the way out.
func components(e *node, parts []string) (string, bool) {
	vals := make([]string, len(parts))
	found := false
	for _, k := range kids(e) {
		name := strings.ToUpper(k.name.Local)
		if name == "COUNTRY" { // some writers spell CTRY out
			name = "CTRY"
		}
		i := slices.Index(parts, name)
		if i < 0 {
			continue
		}
		v := k.value()
		if i < len(parts)-1 {
			v = strings.ReplaceAll(v, ";", ",")
		}
		if v == "" {
			continue
		}
		found = true
		if vals[i] != "" {
			vals[i] += ","
		}
		vals[i] += v
	}
	return strings.Join(vals, ";"), found
}

// WriteVCardTemp writes c as a <vCard xmlns='vcard-temp'> element (XEP-0054)
// with the properties vcard-temp can hold, in the DTD's order; the others
// are left out. TYPE values that are vcard-temp flags become flag elements,
// any PREF parameter (or TYPE=pref) becomes <PREF/>. It writes nothing and
// returns an error wrapping ErrTooLarge when the result would exceed
// MaxSize.
func WriteVCardTemp(w io.Writer, c vcard.Card) error {
	var b xbuf
	b.WriteString(`<vCard xmlns="vcard-temp">`)
	leaves := func(prop, elem string, conv func(string) string) {
		for _, f := range c[prop] {
			if v := conv(f.Value); v != "" {
				b.leaf(elem, v)
			}
		}
	}
	same := func(v string) string { return v }
	leaves(vcard.FieldFormattedName, "FN", same)
	for _, f := range c[vcard.FieldName] {
		writeParts(&b, "N", nil, false, splitParts(f.Value, len(nParts)), nParts)
	}
	leaves(vcard.FieldNickname, "NICKNAME", same)
	for _, f := range c[vcard.FieldPhoto] {
		switch mt, bin, ok := binaryPhoto(f.Value); {
		case ok:
			b.open("PHOTO")
			b.leaf("TYPE", mt)
			b.leaf("BINVAL", bin)
			b.close("PHOTO")
		case f.Value != "":
			b.open("PHOTO")
			b.leaf("EXTVAL", f.Value)
			b.close("PHOTO")
		}
	}
	leaves(vcard.FieldBirthday, "BDAY", extendedDate)
	for _, f := range c[vcard.FieldAddress] {
		types, pref := fieldFlags(f, adrFlags)
		writeParts(&b, "ADR", types, pref, splitParts(f.Value, len(adrParts)), adrParts)
	}
	for _, f := range c[vcard.FieldTelephone] {
		num := numberFromTel(f.Value)
		if num == "" {
			continue
		}
		types, pref := fieldFlags(f, telFlags)
		b.open("TEL")
		writeFlags(&b, types, pref)
		b.leaf("NUMBER", num)
		b.close("TEL")
	}
	for _, f := range c[vcard.FieldEmail] {
		if f.Value == "" {
			continue
		}
		types, pref := fieldFlags(f, emailFlags)
		b.open("EMAIL")
		writeFlags(&b, types, pref)
		b.leaf("USERID", f.Value)
		b.close("EMAIL")
	}
	leaves(vcard.FieldIMPP, "JABBERID", jidFromIMPP)
	leaves(vcard.FieldTitle, "TITLE", same)
	leaves(vcard.FieldRole, "ROLE", same)
	for _, f := range c[vcard.FieldOrganization] {
		if strings.Trim(f.Value, ";") == "" {
			continue
		}
		parts := strings.Split(f.Value, ";")
		b.open("ORG")
		b.leaf("ORGNAME", parts[0])
		for _, u := range parts[1:] {
			b.leaf("ORGUNIT", u)
		}
		b.close("ORG")
	}
	leaves(vcard.FieldNote, "NOTE", same)
	leaves(vcard.FieldUID, "UID", same)
	leaves(vcard.FieldURL, "URL", same)
	b.WriteString(`</vCard>`)
	return finish(w, b.Bytes(), "vcard-temp")
}

// fieldFlags returns f's TYPE values that are vcard-temp flags (upper
// case), and whether f is preferred.
func fieldFlags(f *vcard.Field, allowed []string) (types []string, pref bool) {
	for _, t := range f.Params.Types() {
		t = strings.ToUpper(t)
		switch {
		case t == "PREF":
			pref = true
		case slices.Contains(allowed, t):
			types = append(types, t)
		}
	}
	return types, pref || f.Params.Get(vcard.ParamPreferred) != ""
}

func writeFlags(b *xbuf, types []string, pref bool) {
	for _, t := range types {
		b.empty(t)
	}
	if pref {
		b.empty("PREF")
	}
}

// writeParts writes a structured property; one whose components are all
// empty is left out, as reading it would drop it.
func writeParts(b *xbuf, elem string, types []string, pref bool, vals, names []string) {
	if strings.Join(vals, "") == "" {
		return
	}
	b.open(elem)
	writeFlags(b, types, pref)
	for i, v := range vals {
		if v != "" {
			b.leaf(names[i], v)
		}
	}
	b.close(elem)
}
