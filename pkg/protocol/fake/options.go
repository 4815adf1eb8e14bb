package fake

import (
	"context"
	"fmt"
	"strings"

	"github.com/cusax/cusax/pkg/protocol"
)

var _ protocol.OptionsAsker = (*telSession)(nil)

// Options answers as the bed's registrar does (protocol.OptionsAsker,
// CapOptions): 200 for a target registered with the service, 480 for an
// account of the service that is not registered now, 404 for anything
// else. Nothing is dialled (Dialled does not change).
func (s *telSession) Options(_ context.Context, target string) (protocol.OptionsResult, error) {
	if err := s.has(protocol.CapOptions); err != nil {
		return protocol.OptionsResult{}, err
	}
	if err := checkText(target); err != nil {
		return protocol.OptionsResult{}, err
	}
	if !strings.HasPrefix(target, "sip:") && !strings.HasPrefix(target, "sips:") {
		return protocol.OptionsResult{}, fmt.Errorf("target %q is not a SIP URI: %w", target, protocol.ErrInvalid)
	}
	svc := s.b.svc
	svc.mu.Lock()
	defer svc.mu.Unlock()
	switch {
	case len(svc.callHub[key(target)]) > 0:
		return protocol.OptionsResult{StatusCode: 200, Reason: "OK", Allow: []string{"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS"}}, nil
	case svc.accounts[key(target)] != nil:
		return protocol.OptionsResult{StatusCode: 480, Reason: "Temporarily Unavailable"}, nil
	}
	return protocol.OptionsResult{StatusCode: 404, Reason: "Not Found"}, nil
}
