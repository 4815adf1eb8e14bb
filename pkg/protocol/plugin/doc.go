// Package plugin is what a plugin's main needs from the cusax SDK: Serve
// (the go-plugin handshake, the gRPC server, and the lifecycle that makes
// a plugin log out and exit when its host dies), Logger (JSON on stderr at
// the host's level) and PolicySettings (a policy's own config table).
//
// A backend implements protocol.IMPP, protocol.Telephony or
// protocol.Policy, embedding the protocol.Unsupported… types for what it
// does not do, and calls Serve from main:
//
//	func main() {
//		log := plugin.Logger("mybackend", os.Getenv(protocol.LogLevelEnv))
//		plugin.Serve(plugin.ServeConfig{IMPP: mybackend.New(log), Logger: log})
//	}
//
// The generated wire code and its gRPC shims stay in package cusaxv1
// (pkg/protocol/proto/cusax/v1); a plugin need not import it.
package plugin
