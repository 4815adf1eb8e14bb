package plugin_test

import (
	"context"
	"fmt"
	"os"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/plugin"
)

// myIMPP is an IMPP backend that only logs in (plugins/impptemplate is a
// complete one against real XMPP servers).
type myIMPP struct{}

func (myIMPP) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindIMPP, Name: "mine", Version: "0.1.0",
		APIVersion: protocol.APIVersion, Capabilities: []protocol.Capability{protocol.CapLogin}}, nil
}

func (myIMPP) Connect(context.Context, protocol.ConnectRequest) (protocol.IMPPSession, error) {
	return nil, fmt.Errorf("mine: not written yet: %w", protocol.ErrUnreachable)
}

// myTelephony is a telephony backend that only registers
// (plugins/telephonytemplate is a complete one against real SIP servers).
type myTelephony struct{}

func (myTelephony) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindTelephony, Name: "mine", Version: "0.1.0",
		APIVersion: protocol.APIVersion, Capabilities: []protocol.Capability{protocol.CapRegister}}, nil
}

func (myTelephony) Connect(context.Context, protocol.ConnectRequest) (protocol.TelephonySession, error) {
	return nil, fmt.Errorf("mine: not written yet: %w", protocol.ErrUnreachable)
}

// myPolicy abstains from every decision (plugins/policytemplate decides one).
type myPolicy struct{ protocol.AbstainingPolicy }

func (myPolicy) Info(context.Context) (protocol.Info, error) {
	return protocol.Info{Kind: protocol.KindPolicy, Name: "mine", Version: "0.1.0", APIVersion: protocol.APIVersion}, nil
}

// The main of cusax-plugin-impp-mine: Serve answers the go-plugin
// handshake on stdout, so log only through plugin.Logger (stderr).
func ExampleServe_impp() {
	log := plugin.Logger("impp-mine", os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{IMPP: myIMPP{}, Logger: log})
}

// The main of cusax-plugin-telephony-mine.
func ExampleServe_telephony() {
	log := plugin.Logger("telephony-mine", os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{Telephony: myTelephony{}, Logger: log})
}

// The main of cusax-plugin-policy-mine.
func ExampleServe_policy() {
	log := plugin.Logger("policy-mine", os.Getenv(protocol.LogLevelEnv))
	plugin.Serve(plugin.ServeConfig{Policy: myPolicy{}, Logger: log})
}

// A policy reads its [policies.NAME] table once at start; the host passes
// it as JSON in protocol.PolicySettingsEnv.
func ExamplePolicySettings() {
	os.Setenv(protocol.PolicySettingsEnv, `{"refuse":"pstn"}`) // what the host does
	defer os.Unsetenv(protocol.PolicySettingsEnv)
	settings, err := plugin.PolicySettings()
	fmt.Println(settings["refuse"], err)
	// Output: pstn <nil>
}
