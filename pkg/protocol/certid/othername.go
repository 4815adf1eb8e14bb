package certid

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}
	// id-on-xmppAddr, RFC 6120 §13.7.1.4.
	oidXMPPAddr = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 5}
	// id-on-dnsSRV (SRVName), RFC 4985 §2.
	oidSRVName = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 8, 7}
)

type otherNameSet struct {
	xmppAddrs []string
	srvNames  []string
}

// otherNames extracts the XmppAddr and SRVName otherName SANs, which
// crypto/x509 parses past without exposing.
func otherNames(c *x509.Certificate) (otherNameSet, error) {
	var out otherNameSet
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidSubjectAltName) {
			continue
		}
		in := cryptobyte.String(ext.Value)
		var seq cryptobyte.String
		if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
			return out, fmt.Errorf("malformed subjectAltName")
		}
		for !seq.Empty() {
			var gn cryptobyte.String
			var tag cbasn1.Tag
			if !seq.ReadAnyASN1(&gn, &tag) {
				return out, fmt.Errorf("malformed GeneralName")
			}
			// otherName is [0] IMPLICIT, constructed: type-id OID, [0] EXPLICIT value.
			if tag != cbasn1.Tag(0).ContextSpecific().Constructed() {
				continue
			}
			var oid asn1.ObjectIdentifier
			var val cryptobyte.String
			if !gn.ReadASN1ObjectIdentifier(&oid) || !gn.ReadASN1(&val, cbasn1.Tag(0).ContextSpecific().Constructed()) {
				return out, fmt.Errorf("malformed otherName")
			}
			switch {
			case oid.Equal(oidXMPPAddr):
				var s cryptobyte.String
				if val.ReadASN1(&s, cbasn1.UTF8String) && utf8.Valid(s) {
					out.xmppAddrs = append(out.xmppAddrs, string(s))
				}
			case oid.Equal(oidSRVName):
				var s cryptobyte.String
				if val.ReadASN1(&s, cbasn1.IA5String) {
					out.srvNames = append(out.srvNames, string(s))
				}
			}
		}
	}
	return out, nil
}
