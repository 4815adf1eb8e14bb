package protocol

import "context"

// The Unsupported* types are embeddable stubs: a backend embeds one and
// overrides what it implements; every other method answers ErrUnsupported.

// UnsupportedIMPPSession answers ErrUnsupported to every optional method.
type UnsupportedIMPPSession struct{}

func (UnsupportedIMPPSession) Roster(context.Context) ([]RosterItem, error) {
	return nil, ErrUnsupported
}
func (UnsupportedIMPPSession) VCard(context.Context, string) (VCard, error) {
	return VCard{}, ErrUnsupported
}
func (UnsupportedIMPPSession) SetPresence(context.Context, Presence) error { return ErrUnsupported }
func (UnsupportedIMPPSession) Presences(context.Context) (Stream[Presence], error) {
	return nil, ErrUnsupported
}
func (UnsupportedIMPPSession) Send(context.Context, Message) error { return ErrUnsupported }
func (UnsupportedIMPPSession) Messages(context.Context) (Stream[Message], error) {
	return nil, ErrUnsupported
}
func (UnsupportedIMPPSession) JoinRoom(context.Context, RoomJoin) (Room, error) {
	return Room{}, ErrUnsupported
}
func (UnsupportedIMPPSession) LeaveRoom(context.Context, string) error { return ErrUnsupported }
func (UnsupportedIMPPSession) DiscoInfo(context.Context, string, string) (DiscoInfo, error) {
	return DiscoInfo{}, ErrUnsupported
}
func (UnsupportedIMPPSession) Reach(context.Context, string) ([]ReachAddress, error) {
	return nil, ErrUnsupported
}
func (UnsupportedIMPPSession) PublishReach(context.Context, []ReachAddress) error {
	return ErrUnsupported
}

// UnsupportedTelephonySession answers ErrUnsupported to every optional method.
type UnsupportedTelephonySession struct{}

func (UnsupportedTelephonySession) Dial(context.Context, DialRequest) (Stream[CallEvent], error) {
	return nil, ErrUnsupported
}
func (UnsupportedTelephonySession) Hangup(context.Context, string) error { return ErrUnsupported }
func (UnsupportedTelephonySession) IncomingCalls(context.Context) (Stream[IncomingCall], error) {
	return nil, ErrUnsupported
}
func (UnsupportedTelephonySession) Respond(context.Context, string, int, string) error {
	return ErrUnsupported
}

// AbstainingPolicy abstains from every decision; a policy embeds it and
// overrides the decisions it takes part in.
type AbstainingPolicy struct{}

func (AbstainingPolicy) ChooseAccount(context.Context, ChooseAccountRequest) (Decision, error) {
	return Decision{Verdict: Abstain}, nil
}
func (AbstainingPolicy) ApproveCost(context.Context, CostRequest) (Decision, error) {
	return Decision{Verdict: Abstain}, nil
}
func (AbstainingPolicy) JudgeCallerBinding(context.Context, BindingRequest) (Decision, error) {
	return Decision{Verdict: Abstain}, nil
}
func (AbstainingPolicy) JudgeSecurityParity(_ context.Context, req ParityRequest) (ParityDecision, error) {
	return ParityDecision{Decision: Decision{Verdict: Abstain}, Findings: req.Findings}, nil
}

// JudgeAuditFindings abstains: the profile's severities stand.
func (AbstainingPolicy) JudgeAuditFindings(context.Context, AuditFindingsRequest) (AuditFindingsDecision, error) {
	return AuditFindingsDecision{Decision: Decision{Verdict: Abstain}}, nil
}

var _ AuditJudge = AbstainingPolicy{}
