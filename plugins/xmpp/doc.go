// Package xmpp is cusax's built-in IMPP backend: XMPP (RFC 6120, RFC 6121)
// on mellium.im/xmpp. It implements protocol.IMPP; the host uses it in
// process, and the same code is served over go-plugin.
//
// Connect logs in with the security RFC 7590 asks of every XMPP client:
//
//   - TLS always: STARTTLS is attempted even when the server does not offer
//     it (RFC 7590 §3.1), or XEP-0368 direct TLS is used from the first byte.
//     When TLS cannot be negotiated no credentials are sent and Connect
//     returns an error wrapping protocol.ErrInsecure, unless the request
//     allows plaintext explicitly.
//   - The server is authenticated (RFC 7590 §3.4): chain and identity are
//     checked by pkg/core/certid against the JID's domain (RFC 6120
//     §13.7.1.2, RFC 6125), also when the server was given as an IP address.
//     A failure aborts the TLS handshake before anything else is sent.
//   - SASL prefers SCRAM (with channel binding where it can work) and sends
//     PLAIN only inside TLS.
//   - Everything RFC 7590 §3.6 wants a user to see — encrypted or not, TLS
//     version, cipher suite, how the server was authenticated, its
//     certificate — ends up in the session's protocol.ConnectionReport.
//
// The session serves incoming stanzas in the background (IQ results, XEP-0199
// pings, roster pushes) and implements Roster (RFC 6121 §2) and Send
// (RFC 6121 §5); the rest of protocol.IMPPSession answers
// protocol.ErrUnsupported for now.
//
// Connect is bounded by its context and by ConnectRequest.Timeout (15 s by
// default): a server that accepts TCP and then says nothing makes it fail
// with protocol.ErrTimeout.
//
// Errors wrap the protocol sentinels: ErrInvalid (bad address, server or
// mechanism name), ErrUnreachable (DNS, connection refused), ErrTimeout,
// ErrCertificate, ErrInsecure, ErrAuth (the server rejected the
// credentials) and ErrProtocol.
package xmpp
