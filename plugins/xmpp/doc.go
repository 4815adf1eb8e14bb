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
//     checked by pkg/protocol/certid against the JID's domain (RFC 6120
//     §13.7.1.2, RFC 6125), also when the server was given as an IP address.
//     A failure aborts the TLS handshake before anything else is sent.
//   - SASL prefers SCRAM (with channel binding where it can work) and sends
//     PLAIN only inside TLS.
//   - Everything RFC 7590 §3.6 wants a user to see — encrypted or not, TLS
//     version, cipher suite, how the server was authenticated, its
//     certificate — ends up in the session's protocol.ConnectionReport.
//
// Connect is bounded by its context and by ConnectRequest.Timeout (15 s by
// default): a server that accepts TCP and then says nothing makes it fail
// with protocol.ErrTimeout.
//
// # The session
//
// A session implements all of protocol.IMPPSession, and Info declares it:
//
//   - Roster (RFC 6121 §2) and Send (RFC 6121 §5; groupchat to a room's
//     bare JID), with a stanza error for the message mapped to a sentinel;
//   - VCard: XEP-0292 (PEP node urn:xmpp:vcard4) first, then XEP-0054
//     vcard-temp, converted to vCard 4 text by pkg/vcardxml (see
//     VCard for what Prosody 0.12's vcard_legacy does to both);
//   - SetPresence and Presences (RFC 6121 §4, with the XEP-0152 <reach/>
//     extension). The initial presence is never sent implicitly: open the
//     streams first, then call SetPresence; until then the server sends no
//     contact presence and routes only full-JID messages to the session;
//   - Messages: every chat, normal, groupchat and headline message with a
//     body, and every error message, received after the call;
//   - JoinRoom and LeaveRoom (XEP-0045): the room's echo of our own
//     groupchat message has From = Room.JID (room@service/our-nick);
//   - DiscoInfo (XEP-0030, XEP-0128 forms as field var → values);
//   - Reach and PublishReach (XEP-0152: PEP node urn:xmpp:reach:0, access
//     model "presence", and the last presence of each resource);
//   - Subscribe and ApproveSubscription (RFC 6121 §3.1.1, §3.1.4:
//     presence of type subscribe / subscribed to the bare JID);
//   - PublishActivity (XEP-0108 over PEP, node
//     http://jabber.org/protocol/activity, access model "presence"; the
//     zero Activity publishes an empty <activity/>, §5);
//   - KnownPresences: the last available presence of each full JID.
//
// mellium's Serve loop reads the stream for the whole session. Every
// stanza goes to one handler of ours (inbound), which reads it whole into
// a bounded tree (256 KiB per message or presence, 1 MiB per IQ result,
// depth and element count capped) before looking at it, and never returns
// an error for what the server sent: mellium ends the stream on any
// handler error, and its own mux does so for an IQ without payload, a
// stanza with an unparseable JID, or a roster push it cannot decode. IQ
// get/set payloads are then replayed to a mux (pings, roster pushes),
// whose pushes are accepted only from the server (RFC 6121 §2.1.6) and
// only with one bare, valid JID. Malformed XML, including invalid UTF-8,
// is a stream error (RFC 6120 §11.6) that encoding/xml raises by itself:
// the session then ends and its streams say so.
//
// IQ answers are read off the wire by the caller while Serve waits
// (mellium's design); the session reads them in a goroutine that the
// caller abandons when its ctx ends, so a server stalling in mid-answer
// costs a timeout, not a hung call. Requests whose ctx has no deadline get
// one of 30 s.
//
// Streams (Messages, Presences) fan out: each open stream gets every
// value. The Serve loop never waits for a reader: each stream buffers 256
// values, and drops (and counts, and logs) what a reader too slow to keep
// up cannot take. A stream ends when its ctx ends (Recv returns
// ctx.Err()), when it is closed (io.EOF), or with the session (io.EOF
// after Close, else an error wrapping ErrNotConnected).
//
// Errors wrap the protocol sentinels: ErrInvalid (bad address, server,
// mechanism name or request field), ErrUnreachable (DNS, connection
// refused, remote server not found), ErrTimeout, ErrCertificate,
// ErrInsecure, ErrAuth (the server rejected the credentials), ErrNotFound,
// ErrDenied, ErrNotConnected and ErrProtocol; a stanza error names its
// condition (RFC 6120 §8.3.3) in the text.
package xmpp
