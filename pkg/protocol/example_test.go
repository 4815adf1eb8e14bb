package protocol_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/cusax/cusax/pkg/protocol"
)

// A caller checks a capability before it calls the operation.
func ExampleInfo_Has() {
	info := protocol.Info{Kind: protocol.KindIMPP, Name: "template", APIVersion: protocol.APIVersion,
		Capabilities: []protocol.Capability{protocol.CapLogin}}
	fmt.Println(info.Has(protocol.CapLogin), info.Has(protocol.CapRoster))
	// Output: true false
}

// session logs in and nothing else: the embedded stub answers every
// optional operation with ErrUnsupported.
type session struct {
	protocol.UnsupportedIMPPSession
}

func (session) Report() protocol.ConnectionReport { return protocol.ConnectionReport{} }
func (session) Close(context.Context) error       { return nil }

var _ protocol.IMPPSession = session{}

func ExampleUnsupportedIMPPSession() {
	_, err := session{}.Roster(context.Background())
	fmt.Println(errors.Is(err, protocol.ErrUnsupported))
	// Output: true
}

// A backend wraps a sentinel; it crosses the plugin boundary by its wire
// name and comes back as the same sentinel.
func ExampleSentinelName() {
	err := fmt.Errorf("register sip:alice@example.com: 403 Forbidden: %w", protocol.ErrAuth)
	fmt.Println(protocol.SentinelName(err), errors.Is(err, protocol.ErrAuth))
	// Output: AUTH true
}

// Printing a request never shows the password.
func ExampleConnectRequest_String() {
	req := protocol.ConnectRequest{Address: "alice@example.com", Password: "s3cret"}
	fmt.Printf("%v\n", req)
	// Output: ConnectRequest{Address:"alice@example.com" Server:"" DirectTLS:false AllowPlaintext:false Password:<redacted>}
}

// MinTLS ("", "1.2" or "1.3") becomes a crypto/tls version.
func ExampleTLSVersion() {
	v, ok := protocol.TLSVersion("1.3")
	fmt.Printf("%#x %v\n", v, ok)
	_, ok = protocol.TLSVersion("1.1")
	fmt.Println(ok)
	// Output:
	// 0x304 true
	// false
}
