package impptemplate

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"github.com/cusax/cusax/pkg/protocol"
)

// mechanisms is what we offer, strongest first. SCRAM never sends the
// password, and its server-final message proves the server knew it.
var mechanisms = []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1}

const nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"

// sasl is mellium's SASL feature (RFC 6120 §6), wrapped to record what the
// server offered and what was used, and to turn a <failure/> into
// protocol.ErrAuth. mellium runs it only once TLS is up (Necessary:
// Secure), so nothing secret crosses an unprotected stream.
func (n *negotiation) sasl(password string) xmpp.StreamFeature {
	f := xmpp.SASL("", password, mechanisms...)
	parse, negotiate := f.Parse, f.Negotiate
	f.Parse = func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
		req, data, err := parse(ctx, d, start)
		n.offered, _ = data.([]string)
		return req, data, err
	}
	f.Negotiate = func(ctx context.Context, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, error) {
		n.mechanism = pick(n.offered) // mellium picks the same: our order first
		mask, rw, err := negotiate(ctx, s, data)
		if err != nil {
			err = saslError(n.mechanism, err)
		}
		return mask, rw, err
	}
	return f
}

func pick(offered []string) string {
	for _, m := range mechanisms {
		for _, o := range offered {
			if o == m.Name {
				return m.Name
			}
		}
	}
	return ""
}

// saslError classifies a failed exchange. mellium returns the server's
// <failure/> (RFC 6120 §6.5) as an error that can re-encode itself as XML;
// its first child element names the condition.
func saslError(mech string, err error) error {
	if mech == "" {
		return fmt.Errorf("no common SASL mechanism: %w", protocol.ErrProtocol)
	}
	var m xmlstream.Marshaler
	if !errors.As(err, &m) {
		return err
	}
	d := xml.NewTokenDecoder(m.TokenReader())
	var failure struct {
		XMLName   xml.Name
		Condition []struct{ XMLName xml.Name } `xml:",any"`
	}
	if d.Decode(&failure) != nil || failure.XMLName.Space != nsSASL || failure.XMLName.Local != "failure" {
		return err
	}
	cond := ""
	for _, c := range failure.Condition {
		if c.XMLName.Local != "text" {
			cond = c.XMLName.Local
			break
		}
	}
	switch cond {
	case "not-authorized", "account-disabled", "credentials-expired":
		return fmt.Errorf("sasl %s: %s: %w", mech, cond, protocol.ErrAuth)
	}
	return fmt.Errorf("sasl %s: %s: %w", mech, cond, protocol.ErrProtocol)
}
