package xmpp

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"

	"github.com/cusax/cusax/pkg/protocol"
)

// XML namespaces used during negotiation.
const (
	nsSASL   = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsSASLCB = "urn:xmpp:sasl-cb:0" // XEP-0440
)

// saslFailure is a SASL <failure/> from the server (RFC 6120 §6.5). It is
// our own type because mellium's is internal and cannot be matched with
// errors.As; we run the SASL exchange ourselves (saslFeature) to get it.
type saslFailure struct {
	Condition string // "not-authorized", … (RFC 6120 §6.5.x)
	Text      string // the optional human-readable <text/>
}

func (f *saslFailure) Error() string {
	s := f.Condition
	if s == "" {
		s = "failure"
	}
	if f.Text != "" {
		s += " (" + f.Text + ")"
	}
	return s
}

// Unwrap classifies the condition (RFC 6120 §6.5) as a protocol sentinel.
func (f *saslFailure) Unwrap() error {
	switch f.Condition {
	case "not-authorized", "account-disabled", "credentials-expired", "invalid-authzid", "mechanism-too-weak":
		return protocol.ErrAuth
	case "encryption-required":
		return protocol.ErrInsecure
	}
	// aborted, incorrect-encoding, invalid-mechanism, malformed-request,
	// temporary-auth-failure and unknown conditions.
	return protocol.ErrProtocol
}

// UnmarshalXML reads <failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>.
func (f *saslFailure) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "text" {
				var s string
				if err := d.DecodeElement(&s, &t); err != nil {
					return err
				}
				f.Text = strings.TrimSpace(s)
				continue
			}
			if f.Condition == "" {
				f.Condition = t.Name.Local
			}
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// errServerSignature: the server could not prove it knows the credentials
// (SCRAM server-final message did not verify), which is also what a
// channel-binding man in the middle looks like.
var errServerSignature = errors.New("server signature did not verify")

// saslFeature is the SASL stream feature (RFC 6120 §6) for one attempt. It
// records what the server offered (Parse) and runs the exchange itself
// (Negotiate) so that the authentication identity can differ from the
// JID's localpart, the mechanism order can depend on the TLS state, and a
// <failure/> comes back as a typed error.
func (a *attempt) saslFeature() xmpp.StreamFeature {
	necessary := xmpp.Secure
	if a.plaintext {
		// Only reached with AllowPlaintext, on a second connection made
		// after the server refused TLS.
		necessary = 0
	}
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: nsSASL, Local: "mechanisms"},
		Necessary:  necessary,
		Prohibited: xmpp.Authn,
		Parse: func(_ context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
			parsed := struct {
				List []string `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanism"`
			}{}
			err := d.DecodeElement(&parsed, start)
			offered := make([]string, 0, len(parsed.List))
			for _, m := range parsed.List {
				offered = append(offered, strings.TrimSpace(m))
			}
			a.offered = offered
			a.log.Debug("sasl mechanisms offered", "mechanisms", offered)
			return true, offered, err
		},
		Negotiate: func(ctx context.Context, s *xmpp.Session, data any) (xmpp.SessionState, io.ReadWriter, error) {
			offered, _ := data.([]string)
			if err := a.authenticate(ctx, s, offered); err != nil {
				return 0, nil, err
			}
			// A stream restart follows (RFC 6120 §6.4.6).
			return xmpp.Authn, s.Conn(), nil
		},
	}
}

// channelBindingFeature is informational (no Negotiate): it records the
// XEP-0440 channel-binding types a server advertises. Keeping it
// Parse-only matters: mellium picks optional features in map order, so a
// negotiating one could run before TLS (research notes §1.12).
func (a *attempt) channelBindingFeature() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:      xml.Name{Space: nsSASLCB, Local: "sasl-channel-binding"},
		Necessary: xmpp.Secure,
		Parse: func(_ context.Context, d *xml.Decoder, start *xml.StartElement) (bool, any, error) {
			parsed := struct {
				Types []struct {
					Type string `xml:"type,attr"`
				} `xml:"urn:xmpp:sasl-cb:0 channel-binding"`
			}{}
			err := d.DecodeElement(&parsed, start)
			a.cbTypes = []string{}
			for _, t := range parsed.Types {
				a.cbTypes = append(a.cbTypes, t.Type)
			}
			a.log.Debug("channel-binding types advertised (XEP-0440)", "types", a.cbTypes)
			return false, nil, err
		},
	}
}

// authenticate runs one SASL exchange (RFC 6120 §6.4). Nothing secret is
// logged: neither the password nor any SASL payload.
func (a *attempt) authenticate(ctx context.Context, s *xmpp.Session, offered []string) error {
	if a.phase == "tls handshake" {
		a.logTLS(s)
	}
	a.phase = "sasl"
	cs := s.ConnectionState()
	cb := channelBinding{tlsVersion: cs.Version, tlsUnique: len(cs.TLSUnique) > 0, advertised: a.cbTypes}
	mechs, note := orderMechanisms(a.p.mechanisms, cb, a.p.allowPlain)
	if note != "" {
		a.log.Debug(note)
		if selectMechanism(a.p.mechanisms, offered) != selectMechanism(mechs, offered) {
			a.notes = append(a.notes, note)
		}
	}
	name := selectMechanism(mechs, offered)
	if name == "" {
		return fmt.Errorf("no common SASL mechanism: server offers [%s], client allows [%s]: %w",
			strings.Join(offered, " "), strings.Join(mechs, " "), protocol.ErrProtocol)
	}
	a.mechanism = name
	a.log.Debug("sasl authenticating", "mechanism", name, "user", a.p.username)

	opts := []sasl.Option{
		sasl.Credentials(func() ([]byte, []byte, []byte) {
			return []byte(a.p.username), []byte(a.p.password), nil
		}),
		sasl.RemoteMechanisms(offered...),
	}
	if cs.Version != 0 {
		opts = append(opts, sasl.TLSState(cs))
	}
	client := sasl.NewClient(knownMechanisms[name], opts...)

	w := s.TokenWriter()
	defer w.Close()
	r := s.TokenReader()
	defer r.Close()
	d := xml.NewTokenDecoder(r)

	more, resp, err := client.Step(nil)
	if err != nil {
		return fmt.Errorf("sasl %s: %v: %w", name, err, protocol.ErrProtocol)
	}
	if err := writeSASL(w, "auth", resp, xml.Attr{Name: xml.Name{Local: "mechanism"}, Value: name}); err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		start, err := nextStart(d)
		if err != nil {
			return err
		}
		if start.Name.Space != nsSASL {
			return fmt.Errorf("sasl: unexpected <%s xmlns='%s'>: %w", start.Name.Local, start.Name.Space, protocol.ErrProtocol)
		}
		switch start.Name.Local {
		case "failure":
			f := &saslFailure{}
			if err := d.DecodeElement(f, &start); err != nil {
				return err
			}
			a.log.Debug("sasl failure", "condition", f.Condition)
			return f
		case "challenge", "success":
			var payload struct {
				Data string `xml:",chardata"`
			}
			if err := d.DecodeElement(&payload, &start); err != nil {
				return err
			}
			in, err := decodeSASLPayload(payload.Data)
			if err != nil {
				return fmt.Errorf("sasl %s: %v: %w", start.Name.Local, err, protocol.ErrProtocol)
			}
			success := start.Name.Local == "success"
			if success && !more {
				// PLAIN, or additional data already consumed.
				a.log.Debug("sasl success", "mechanism", name)
				return nil
			}
			more, resp, err = client.Step(in)
			if err != nil {
				if success {
					// SCRAM: the server-final message (additional data with
					// success, RFC 6120 §6.3.10) must verify, or the server
					// did not prove knowledge of the credentials.
					return fmt.Errorf("sasl %s: %w: %v: %w", name, errServerSignature, err, protocol.ErrAuth)
				}
				return fmt.Errorf("sasl %s: %v: %w", name, err, protocol.ErrProtocol)
			}
			if success {
				a.log.Debug("sasl success", "mechanism", name)
				return nil
			}
			if err := writeSASL(w, "response", resp); err != nil {
				return err
			}
		default:
			return fmt.Errorf("sasl: unexpected <%s/>: %w", start.Name.Local, protocol.ErrProtocol)
		}
	}
}

// writeSASL sends <local xmlns=SASL>base64</local>. RFC 6120 §6.4.2: an
// empty response is "=".
func writeSASL(w xmlstream.TokenWriteFlusher, local string, payload []byte, attrs ...xml.Attr) error {
	enc := "="
	if len(payload) > 0 {
		enc = base64.StdEncoding.EncodeToString(payload)
	}
	_, err := xmlstream.Copy(w, xmlstream.Wrap(
		xmlstream.Token(xml.CharData(enc)),
		xml.StartElement{Name: xml.Name{Space: nsSASL, Local: local}, Attr: attrs},
	))
	if err != nil {
		return err
	}
	return w.Flush()
}

func decodeSASLPayload(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "=" {
		return nil, nil
	}
	return base64.StdEncoding.DecodeString(s)
}

// nextStart returns the next start element, skipping whitespace.
func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return xml.StartElement{}, io.ErrUnexpectedEOF
			}
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(strings.TrimSpace(string(t))) == 0 {
				continue
			}
		case xml.EndElement:
			return xml.StartElement{}, fmt.Errorf("sasl: unexpected </%s>: %w", t.Name.Local, protocol.ErrProtocol)
		}
		return xml.StartElement{}, fmt.Errorf("sasl: unexpected %T: %w", tok, protocol.ErrProtocol)
	}
}
