package vcardxml

import (
	"strings"

	"github.com/emersion/go-vcard"
)

// canonicalize brings a freshly parsed card into the canonical form the
// package documents, in place. Parsers call it last, so that every form
// yields the same card for the same content and round trips are exact.
func canonicalize(c vcard.Card) {
	delete(c, "BEGIN")
	delete(c, "END")
	c[vcard.FieldVersion] = []*vcard.Field{{Value: "4.0"}}
	for name, fields := range c {
		if name == vcard.FieldVersion {
			continue
		}
		info := propInfo(name)
		for _, f := range fields {
			canonicalParams(info, f)
			f.Value = canonicalValue(name, info, f)
			if len(f.Params) == 0 {
				f.Params = nil
			}
		}
	}
}

func canonicalParams(info prop, f *vcard.Field) {
	p := f.Params
	if p == nil {
		return
	}
	// TYPE: lower case, one value per entry (vCard 3 writers and quoted
	// values may pack several behind one comma), and TYPE=pref as PREF=1
	// (RFC 6350 §5.3).
	if types, ok := p[vcard.ParamType]; ok {
		var out []string
		pref := false
		for _, t := range types {
			for v := range strings.SplitSeq(t, ",") {
				v = strings.ToLower(strings.TrimSpace(v))
				switch v {
				case "":
				case "pref":
					pref = true
				default:
					out = append(out, v)
				}
			}
		}
		if len(out) == 0 {
			delete(p, vcard.ParamType)
		} else {
			p[vcard.ParamType] = out
		}
		if pref && len(p[vcard.ParamPreferred]) == 0 {
			p.Set(vcard.ParamPreferred, "1")
		}
	}
	// VALUE: one lower-case value type, kept only where it is not the
	// default; structured values have no alternative type.
	if vs, ok := p[vcard.ParamValue]; ok {
		v := ""
		if len(vs) > 0 {
			v = strings.ToLower(strings.TrimSpace(vs[0]))
		}
		if info.components != nil || !validValueType(v) || sameValueType(v, info.valueType) {
			delete(p, vcard.ParamValue)
		} else {
			p[vcard.ParamValue] = []string{v}
		}
	}
	for k, vs := range p {
		if len(vs) == 0 {
			delete(p, k)
		}
	}
}

func canonicalValue(name string, info prop, f *vcard.Field) string {
	v := f.Value
	switch {
	case name == vcard.FieldTelephone:
		v = unmangleTel(v)
		if hasScheme(v) && f.Params.Get(vcard.ParamValue) == "" {
			if f.Params == nil {
				f.Params = vcard.Params{}
			}
			// RFC 6350 §6.4.1: TEL is text unless VALUE=uri says otherwise.
			f.Params.Set(vcard.ParamValue, typeURI)
		}
	case info.valueType == typeDateOrTime && f.Params.Get(vcard.ParamValue) == "":
		v = basicDate(v)
	case name == "GENDER":
		v = strings.TrimRight(v, ";")
	case info.components != nil:
		// N, ADR, CLIENTPIDMAP: every component present (RFC 6350 §6.2.2,
		// §6.3.1), so that xCard, which always writes them all, gives back
		// the same value.
		if n := strings.Count(v, ";") + 1; n < len(info.components) {
			v += strings.Repeat(";", len(info.components)-n)
		}
	}
	return v
}

// unmangleTel undoes Prosody 0.12 vcard_legacy's conversion of a vcard-temp
// <NUMBER>sip:…</NUMBER> into the vCard 4 value tel:sip:… (see
// shared/research/test-bed-notes.md); a tel: URI never contains a second
// scheme (RFC 3966 §3), so this cannot misread a real number.
func unmangleTel(v string) string {
	if len(v) > 4 && strings.EqualFold(v[:4], "tel:") {
		rest := v[4:]
		low := strings.ToLower(rest)
		if strings.HasPrefix(low, "sip:") || strings.HasPrefix(low, "sips:") {
			return rest
		}
	}
	return v
}

// basicDate turns an ISO 8601 extended date (1984-02-03, vcard-temp's and
// vCard 3's form) into the basic form vCard 4 requires (RFC 6350 §4.3.1).
func basicDate(v string) string {
	if len(v) == 10 && v[4] == '-' && v[7] == '-' && allDigits(v[:4]) && allDigits(v[5:7]) && allDigits(v[8:]) {
		return v[:4] + v[5:7] + v[8:]
	}
	return v
}

// extendedDate is basicDate's inverse, for vcard-temp, whose BDAY is an
// XML Schema date (XEP-0054 §3, "ISO 8601 format").
func extendedDate(v string) string {
	if len(v) == 8 && allDigits(v) {
		return v[:4] + "-" + v[4:6] + "-" + v[6:]
	}
	return v
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
