// Package baresip is a telephony backend for cusax that drives baresip 1.0
// (Debian package baresip-core), written as a third party writes one: it
// imports the SDK (pkg/protocol) and third-party modules, never pkg/core.
//
// One baresip process runs per session (Connect), with a configuration
// generated in a private directory (os.MkdirTemp: 0700, removed by Close;
// baresip -f DIR reads nothing from the user's ~/.baresip). The
// plugin drives it over ctrl_tcp on loopback (JSON in netstrings): the
// account line, password included, reaches baresip as a "uanew" command,
// never in argv or in a file. baresip runs in its own process group with
// Pdeathsig SIGKILL, so it dies with the plugin.
//
// What baresip 1.0 cannot do, and the backend therefore refuses rather
// than fakes: SIP over TLS (it checks neither the chain nor the name of
// the server's certificate: ErrInsecure), hence SDES-SRTP (ErrMediaInsecure
// for media_encryption srtp); RFC 8760 SHA-256 digest (MD5 only); extra
// INVITE headers such as Call-Info, RFC 3325 anonymous calls and video
// (ErrUnsupported); rejecting a call with any code but 486.
//
// See docs/baresip-backend.md.
package baresip
