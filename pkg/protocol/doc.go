// Package protocol is the contract between the cusax core and its plugins:
// the Go interfaces of the three plugin kinds (an IMPP backend, a telephony
// backend and a policy), the domain types they exchange, and the sentinel
// errors they return.
//
// The package holds no IO and no logic beyond small helpers on its types. The
// gRPC wire form of this contract lives in pkg/protocol/proto/cusax/v1; a
// backend written against these interfaces works the same in process and
// behind go-plugin.
//
// Error contract: every method returns nil or an error that wraps one of the
// sentinels below (ErrAuth, ErrUnsupported, …) whenever the failure belongs
// to one of those classes, so that callers can use errors.Is on both sides
// of the plugin boundary.
package protocol
