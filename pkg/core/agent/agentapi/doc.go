// Package agentapi is the client side of `cusax agent`: where its socket is
// (Paths), when that socket may be trusted (CheckDir, CheckSocket), how to
// reach it (Dial, ErrNoAgent), and the control service cusax.agent.v1.Agent
// (agent.proto; generated code committed, regenerate with
// scripts/generate.sh).
//
// The socket is private: its directory must be a real directory owned by
// the user with no group or other permission bits, the socket must be owned
// by the user, and the process listening on it must run as the user
// (SO_PEERCRED). Anything else is refused with ErrRefused and never trusted.
// On the socket, besides Agent, the agent serves the IMPP and Telephony
// services of pkg/protocol/proto/cusax/v1 as leases on its live sessions:
// cusaxv1.NewIMPPHost(conn) and cusaxv1.NewTelephonyHost(conn) work on the
// connection Dial returns.
package agentapi
