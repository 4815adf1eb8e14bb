package tlsprobe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

const (
	nsStream   = "http://etherx.jabber.org/streams"
	nsTLS      = "urn:ietf:params:xml:ns:xmpp-tls"
	maxEvident = 2048
)

// XMPPStream is what the XMPP server said around TLS.
type XMPPStream struct {
	// StartTLSAdvertised: the pre-TLS features listed <starttls/>.
	StartTLSAdvertised bool `json:"starttls_advertised"`
	// StartTLSRequired: <starttls/> carried <required/> (RFC 6120 §5.3.1).
	StartTLSRequired bool `json:"starttls_required"`
	// StartTLSResult is the answer to <starttls/>, which is sent whether
	// or not it was advertised (RFC 7590 §3.1): "proceed", "failure",
	// "stream-error:<condition>", "closed", or "" when the stream never
	// got that far (see Evidence).
	StartTLSResult string `json:"starttls_result"`
	// StartTLSWorked: <proceed/> was followed by a completed handshake.
	StartTLSWorked bool `json:"starttls_worked"`
	// MechanismsBeforeTLS are the SASL mechanisms offered before TLS.
	MechanismsBeforeTLS []string `json:"mechanisms_before_tls"`
	// MechanismsAfterTLS are those offered on the TLS-protected stream.
	MechanismsAfterTLS []string `json:"mechanisms_after_tls"`
	// StartTLSAfterTLS: <starttls/> offered again on the protected stream
	// (RFC 6120 §5.4.3.3 says it must not be; XEP-0368 likewise for direct
	// TLS).
	StartTLSAfterTLS bool `json:"starttls_after_tls"`
	// ChannelBindingsAfterTLS are the XEP-0440 channel-binding types.
	ChannelBindingsAfterTLS []string `json:"channel_bindings_after_tls,omitempty"`
	// FeaturesAfterTLS: the protected stream's features were read.
	FeaturesAfterTLS bool `json:"features_after_tls"`
	// EvidenceBeforeTLS and EvidenceAfterTLS are the server's bytes as
	// read (capped at 2 KiB each), or the error that ended the dialog.
	EvidenceBeforeTLS string `json:"evidence_before_tls,omitempty"`
	EvidenceAfterTLS  string `json:"evidence_after_tls,omitempty"`
}

// AfterTLS copies the post-TLS facts of a.
func (x *XMPPStream) AfterTLS(a *XMPPStream) {
	x.MechanismsAfterTLS = a.MechanismsAfterTLS
	x.StartTLSAfterTLS = a.StartTLSAfterTLS
	x.ChannelBindingsAfterTLS = a.ChannelBindingsAfterTLS
	x.FeaturesAfterTLS = a.FeaturesAfterTLS
	x.EvidenceAfterTLS = a.EvidenceAfterTLS
}

type features struct {
	StartTLS *struct {
		Required *struct{} `xml:"required"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-tls starttls"`
	Mechanisms struct {
		Mechanism []string `xml:"mechanism"`
	} `xml:"urn:ietf:params:xml:ns:xmpp-sasl mechanisms"`
	ChannelBinding struct {
		Types []struct {
			Type string `xml:"type,attr"`
		} `xml:"channel-binding"`
	} `xml:"urn:xmpp:sasl-cb:0 sasl-channel-binding"`
}

// oneByte reads one byte per call, so that the XML decoder never reads
// past </proceed> into the TLS handshake; it keeps what it read.
type oneByte struct {
	r   io.Reader
	b   [1]byte
	log bytes.Buffer
}

func (o *oneByte) ReadByte() (byte, error) {
	if _, err := io.ReadFull(o.r, o.b[:]); err != nil {
		return 0, err
	}
	if o.log.Len() < maxEvident {
		o.log.WriteByte(o.b[0])
	}
	return o.b[0], nil
}

func (o *oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c, err := o.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = c
	return 1, nil
}

func streamHeader(domain string) string {
	var to bytes.Buffer
	_ = xml.EscapeText(&to, []byte(domain))
	return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='" + nsStream +
		"' to='" + strings.ReplaceAll(to.String(), "'", "&apos;") + "' version='1.0'>"
}

// openStream sends a stream header and reads the server's features.
func openStream(rw io.ReadWriter, dec *xml.Decoder, domain string) (features, error) {
	var f features
	if _, err := io.WriteString(rw, streamHeader(domain)); err != nil {
		return f, fmt.Errorf("xmpp: send stream header: %w", err)
	}
	start, err := nextElement(dec)
	if err != nil {
		return f, fmt.Errorf("xmpp: read stream header: %w", err)
	}
	if start.Name.Space != nsStream || start.Name.Local != "stream" {
		return f, fmt.Errorf("xmpp: expected a stream header, got <%s>", start.Name.Local)
	}
	el, err := nextElement(dec)
	if err != nil {
		return f, fmt.Errorf("xmpp: read stream features: %w", err)
	}
	if el.Name.Space == nsStream && el.Name.Local == "error" {
		return f, fmt.Errorf("xmpp: stream error %s", streamErrorCondition(dec, el))
	}
	if el.Name.Space != nsStream || el.Name.Local != "features" {
		return f, fmt.Errorf("xmpp: expected stream features, got <%s>", el.Name.Local)
	}
	if err := dec.DecodeElement(&f, &el); err != nil {
		return f, fmt.Errorf("xmpp: parse stream features: %w", err)
	}
	return f, nil
}

// xmppStartTLS opens the stream on a fresh TCP connection and sends
// <starttls/> whatever the features say (RFC 7590 §3.1). A nil error means
// <proceed/> was read and the next byte on conn belongs to TLS.
func xmppStartTLS(conn io.ReadWriter, domain string) (*XMPPStream, error) {
	st := &XMPPStream{}
	br := &oneByte{r: conn}
	dec := xml.NewDecoder(br)
	defer func() { st.EvidenceBeforeTLS = br.log.String() }()
	f, err := openStream(conn, dec, domain)
	if err != nil {
		if errors.Is(err, io.EOF) {
			st.StartTLSResult = "closed"
		}
		return st, err
	}
	st.StartTLSAdvertised = f.StartTLS != nil
	st.StartTLSRequired = f.StartTLS != nil && f.StartTLS.Required != nil
	st.MechanismsBeforeTLS = nonNil(f.Mechanisms.Mechanism)

	if _, err := io.WriteString(conn, "<starttls xmlns='"+nsTLS+"'/>"); err != nil {
		st.StartTLSResult = "closed"
		return st, fmt.Errorf("xmpp: send <starttls/>: %w", err)
	}
	el, err := nextElement(dec)
	switch {
	case err != nil:
		st.StartTLSResult = "closed"
		return st, fmt.Errorf("xmpp: no answer to <starttls/>: %w", err)
	case el.Name.Space == nsTLS && el.Name.Local == "proceed":
		// Consume </proceed> if it was not self-closed; the decoder reads
		// nothing further for <proceed/>.
		if err := dec.Skip(); err != nil {
			return st, fmt.Errorf("xmpp: read <proceed/>: %w", err)
		}
		st.StartTLSResult = "proceed"
		return st, nil
	case el.Name.Space == nsTLS && el.Name.Local == "failure":
		st.StartTLSResult = "failure"
	case el.Name.Space == nsStream && el.Name.Local == "error":
		st.StartTLSResult = "stream-error:" + streamErrorCondition(dec, el)
	default:
		st.StartTLSResult = "unexpected:" + el.Name.Local
	}
	return st, fmt.Errorf("%w (answer: %s)", errNoProceed, st.StartTLSResult)
}

// xmppAfterTLS restarts the stream over TLS, reads the features and closes
// the stream; it never authenticates.
func xmppAfterTLS(c io.ReadWriter, domain string) *XMPPStream {
	st := &XMPPStream{}
	br := &oneByte{r: c}
	dec := xml.NewDecoder(br)
	f, err := openStream(c, dec, domain)
	st.EvidenceAfterTLS = br.log.String()
	if err != nil {
		st.EvidenceAfterTLS += "\n" + err.Error()
		return st
	}
	_, _ = io.WriteString(c, "</stream:stream>")
	st.FeaturesAfterTLS = true
	st.StartTLSAfterTLS = f.StartTLS != nil
	st.MechanismsAfterTLS = nonNil(f.Mechanisms.Mechanism)
	for _, t := range f.ChannelBinding.Types {
		st.ChannelBindingsAfterTLS = append(st.ChannelBindingsAfterTLS, t.Type)
	}
	return st
}

func nextElement(dec *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.EndElement:
			return xml.StartElement{}, io.EOF // </stream:stream>
		}
	}
}

// streamErrorCondition returns the defined condition of a stream error
// (RFC 6120 §4.9.3).
func streamErrorCondition(dec *xml.Decoder, start xml.StartElement) string {
	var e struct {
		Any []struct{ XMLName xml.Name } `xml:",any"`
	}
	if err := dec.DecodeElement(&e, &start); err != nil {
		return "unparsed"
	}
	for _, c := range e.Any {
		if c.XMLName.Local != "text" {
			return c.XMLName.Local
		}
	}
	return "undefined"
}

func nonNil(s []string) []string {
	out := make([]string, 0, len(s))
	for _, v := range s {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}
