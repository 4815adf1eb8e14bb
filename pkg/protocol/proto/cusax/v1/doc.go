// Package cusaxv1 is the gRPC wire form (package cusax.v1) of the plugin
// contract in package protocol, and its go-plugin glue: the generated code,
// the shims that convert to and from the domain types, the handshake, and
// the registry of a plugin process's open sessions.
//
// Plugin authors do not need this package: they call Serve in package
// plugin (pkg/protocol/plugin) with their protocol.IMPP, protocol.Telephony
// or protocol.Policy. The host dispenses the same interfaces through
// ClientPlugins. Generated types never leave this package, and sentinel
// errors cross the wire as a gRPC status with an ErrorInfo naming the
// sentinel, so errors.Is works on the host side.
//
// Regenerate the .pb.go files with `make generate`.
package cusaxv1
