package cusaxv1

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cusax/cusax/pkg/protocol"
	"google.golang.org/grpc"
)

// clientStream adapts a gRPC server stream to protocol.Stream.
type clientStream[W any, T any] struct {
	st     grpc.ServerStreamingClient[W]
	conv   func(*W) T
	cancel context.CancelFunc
	once   sync.Once
}

func (c *clientStream[W, T]) Recv() (T, error) {
	w, err := c.st.Recv()
	if err != nil {
		var zero T
		if errors.Is(err, io.EOF) {
			return zero, io.EOF
		}
		return zero, fromStatus(err)
	}
	return c.conv(w), nil
}

func (c *clientStream[W, T]) Close() error {
	c.once.Do(c.cancel)
	return nil
}

func openStream[W any, T any](ctx context.Context, open func(context.Context) (grpc.ServerStreamingClient[W], error), conv func(*W) T) (protocol.Stream[T], error) {
	ctx, cancel := context.WithCancel(ctx)
	st, err := open(ctx)
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	// Wait until the plugin has opened the stream: it sends headers then,
	// or ends the call with its error (a trailers-only answer, nil header),
	// so that ErrUnsupported & co. come from the call, not the first Recv.
	md, err := st.Header()
	if err != nil {
		cancel()
		return nil, fromStatus(err)
	}
	if md == nil {
		_, rerr := st.Recv()
		cancel()
		if rerr == nil || errors.Is(rerr, io.EOF) {
			return nil, fmt.Errorf("plugin ended the stream at once: %w", protocol.ErrProtocol)
		}
		return nil, fromStatus(rerr)
	}
	return &clientStream[W, T]{st: st, conv: conv, cancel: cancel}, nil
}

// ---- IMPP ----

// imppHost is the host side of an IMPP plugin: a protocol.IMPP whose calls
// go over gRPC.
type imppHost struct{ rpc IMPPClient }

var _ protocol.IMPP = (*imppHost)(nil)

// NewIMPPHost wraps a gRPC connection to an IMPP plugin.
func NewIMPPHost(cc grpc.ClientConnInterface) protocol.IMPP {
	return &imppHost{rpc: NewIMPPClient(cc)}
}

func (c *imppHost) Info(ctx context.Context) (protocol.Info, error) {
	w, err := c.rpc.Info(ctx, &InfoRequest{})
	if err != nil {
		return protocol.Info{}, fromStatus(err)
	}
	return infoFromWire(w), nil
}

func (c *imppHost) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.IMPPSession, error) {
	w, err := c.rpc.Connect(ctx, connectToWire(req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return &imppSession{rpc: c.rpc, id: w.GetSessionId(), report: reportFromWire(w.GetReport())}, nil
}

type imppSession struct {
	rpc    IMPPClient
	id     string
	report protocol.ConnectionReport
}

func (s *imppSession) sr() *SessionRequest { return &SessionRequest{SessionId: s.id} }

func (s *imppSession) Report() protocol.ConnectionReport { return s.report }

func (s *imppSession) Roster(ctx context.Context) ([]protocol.RosterItem, error) {
	w, err := s.rpc.Roster(ctx, s.sr())
	if err != nil {
		return nil, fromStatus(err)
	}
	return rosterFromWire(w), nil
}

func (s *imppSession) VCard(ctx context.Context, jid string) (protocol.VCard, error) {
	w, err := s.rpc.GetVCard(ctx, &JIDRequest{SessionId: s.id, Jid: jid})
	if err != nil {
		return protocol.VCard{}, fromStatus(err)
	}
	return vcardFromWire(w), nil
}

func (s *imppSession) SetPresence(ctx context.Context, p protocol.Presence) error {
	_, err := s.rpc.SetPresence(ctx, &SetPresenceRequest{SessionId: s.id, Presence: presenceToWire(p)})
	return fromStatus(err)
}

func (s *imppSession) Presences(ctx context.Context) (protocol.Stream[protocol.Presence], error) {
	return openStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[Presence], error) {
		return s.rpc.Presences(ctx, s.sr())
	}, presenceFromWire)
}

func (s *imppSession) Send(ctx context.Context, m protocol.Message) error {
	_, err := s.rpc.Send(ctx, &SendRequest{SessionId: s.id, Message: messageToWire(m)})
	return fromStatus(err)
}

func (s *imppSession) Messages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	return openStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[Message], error) {
		return s.rpc.Messages(ctx, s.sr())
	}, messageFromWire)
}

var _ protocol.AckedMessages = (*imppSession)(nil)

// AckedMessages: an older plugin answers UNIMPLEMENTED, which comes back as
// ErrUnsupported like a server without acknowledgement.
func (s *imppSession) AckedMessages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	return openStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[Message], error) {
		return s.rpc.AckedMessages(ctx, s.sr())
	}, messageFromWire)
}

func (s *imppSession) AckMessage(ctx context.Context, seq uint64) error {
	_, err := s.rpc.AckMessage(ctx, &AckRequest{SessionId: s.id, Seq: seq})
	return fromStatus(err)
}

var (
	_ protocol.PresenceSubscriber = (*imppSession)(nil)
	_ protocol.ActivityPublisher  = (*imppSession)(nil)
)

// Subscribe, ApproveSubscription and PublishActivity: an older plugin
// answers UNIMPLEMENTED, which comes back as ErrUnsupported.
func (s *imppSession) Subscribe(ctx context.Context, jid string) error {
	_, err := s.rpc.Subscribe(ctx, &JIDRequest{SessionId: s.id, Jid: jid})
	return fromStatus(err)
}

func (s *imppSession) ApproveSubscription(ctx context.Context, jid string) error {
	_, err := s.rpc.ApproveSubscription(ctx, &JIDRequest{SessionId: s.id, Jid: jid})
	return fromStatus(err)
}

func (s *imppSession) PublishActivity(ctx context.Context, a protocol.Activity) error {
	_, err := s.rpc.PublishActivity(ctx, &PublishActivityRequest{SessionId: s.id, Activity: activityToWire(a)})
	return fromStatus(err)
}

var _ protocol.PresenceView = (*imppSession)(nil)

// KnownPresences: an older plugin answers UNIMPLEMENTED (ErrUnsupported).
func (s *imppSession) KnownPresences(ctx context.Context) (protocol.PresenceSnapshot, error) {
	w, err := s.rpc.KnownPresences(ctx, s.sr())
	if err != nil {
		return protocol.PresenceSnapshot{}, fromStatus(err)
	}
	return snapshotFromWire(w), nil
}

func (s *imppSession) JoinRoom(ctx context.Context, j protocol.RoomJoin) (protocol.Room, error) {
	w, err := s.rpc.JoinRoom(ctx, &JoinRoomRequest{SessionId: s.id, Room: j.Room, Nick: j.Nick, Password: j.Password, History: int32(j.History),
		HistorySinceUnixNs: unixNS(j.HistorySince)})
	if err != nil {
		return protocol.Room{}, fromStatus(err)
	}
	return roomFromWire(w), nil
}

func (s *imppSession) LeaveRoom(ctx context.Context, room string) error {
	_, err := s.rpc.LeaveRoom(ctx, &JIDRequest{SessionId: s.id, Jid: room})
	return fromStatus(err)
}

func (s *imppSession) DiscoInfo(ctx context.Context, jid, node string) (protocol.DiscoInfo, error) {
	w, err := s.rpc.GetDiscoInfo(ctx, &DiscoInfoRequest{SessionId: s.id, Jid: jid, Node: node})
	if err != nil {
		return protocol.DiscoInfo{}, fromStatus(err)
	}
	return discoFromWire(w), nil
}

func (s *imppSession) Reach(ctx context.Context, jid string) ([]protocol.ReachAddress, error) {
	w, err := s.rpc.Reach(ctx, &JIDRequest{SessionId: s.id, Jid: jid})
	if err != nil {
		return nil, fromStatus(err)
	}
	return reachFromWire(w.GetAddresses()), nil
}

func (s *imppSession) PublishReach(ctx context.Context, addrs []protocol.ReachAddress) error {
	_, err := s.rpc.PublishReach(ctx, &PublishReachRequest{SessionId: s.id, Addresses: reachToWire(addrs)})
	return fromStatus(err)
}

func (s *imppSession) Close(ctx context.Context) error {
	_, err := s.rpc.Close(ctx, s.sr())
	return fromStatus(err)
}

// ---- telephony ----

// telephonyHost is the host side of a telephony plugin.
type telephonyHost struct{ rpc TelephonyClient }

var _ protocol.Telephony = (*telephonyHost)(nil)

// NewTelephonyHost wraps a gRPC connection to a telephony plugin.
func NewTelephonyHost(cc grpc.ClientConnInterface) protocol.Telephony {
	return &telephonyHost{rpc: NewTelephonyClient(cc)}
}

func (c *telephonyHost) Info(ctx context.Context) (protocol.Info, error) {
	w, err := c.rpc.Info(ctx, &InfoRequest{})
	if err != nil {
		return protocol.Info{}, fromStatus(err)
	}
	return infoFromWire(w), nil
}

func (c *telephonyHost) Connect(ctx context.Context, req protocol.ConnectRequest) (protocol.TelephonySession, error) {
	w, err := c.rpc.Connect(ctx, connectToWire(req))
	if err != nil {
		return nil, fromStatus(err)
	}
	return &telephonySession{rpc: c.rpc, id: w.GetSessionId()}, nil
}

type telephonySession struct {
	rpc TelephonyClient
	id  string
}

func (s *telephonySession) sr() *SessionRequest { return &SessionRequest{SessionId: s.id} }

func (s *telephonySession) Register(ctx context.Context, req protocol.RegisterRequest) (protocol.ConnectionReport, error) {
	w, err := s.rpc.Register(ctx, &RegisterRequest{SessionId: s.id, ExpiresNs: int64(req.Expires)})
	if err != nil {
		return protocol.ConnectionReport{}, fromStatus(err)
	}
	return reportFromWire(w), nil
}

func (s *telephonySession) Unregister(ctx context.Context) error {
	_, err := s.rpc.Unregister(ctx, s.sr())
	return fromStatus(err)
}

func (s *telephonySession) Dial(ctx context.Context, req protocol.DialRequest) (protocol.Stream[protocol.CallEvent], error) {
	return openStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[CallEvent], error) {
		return s.rpc.Dial(ctx, dialToWire(s.id, req))
	}, callEventFromWire)
}

func (s *telephonySession) Hangup(ctx context.Context, callID string) error {
	_, err := s.rpc.Hangup(ctx, &CallRequest{SessionId: s.id, CallId: callID})
	return fromStatus(err)
}

func (s *telephonySession) IncomingCalls(ctx context.Context) (protocol.Stream[protocol.IncomingCall], error) {
	return openStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[IncomingCall], error) {
		return s.rpc.IncomingCalls(ctx, s.sr())
	}, incomingFromWire)
}

func (s *telephonySession) Respond(ctx context.Context, callID string, code int, reason string) error {
	_, err := s.rpc.Respond(ctx, &RespondRequest{SessionId: s.id, CallId: callID, Status: int32(code), Reason: reason})
	return fromStatus(err)
}

var _ protocol.Answerer = (*telephonySession)(nil)

// Answer takes an incoming call over the wire. A plugin built before the
// RPC (or whose backend is no Answerer) answers Unimplemented, seen as
// ErrUnsupported at the call. Cancelling ctx (or closing the stream)
// cancels the RPC, which cancels the plugin side's ctx: the call ends.
func (s *telephonySession) Answer(ctx context.Context, req protocol.AnswerRequest) (protocol.Stream[protocol.AnswerEvent], error) {
	return openStream(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[AnswerEvent], error) {
		return s.rpc.Answer(ctx, answerToWire(s.id, req))
	}, answerEventFromWire)
}

var _ protocol.OptionsAsker = (*telephonySession)(nil)

// Options asks over the wire. A plugin built before the RPC (or whose
// session is no OptionsAsker) answers Unimplemented, seen as
// ErrUnsupported.
func (s *telephonySession) Options(ctx context.Context, target string) (protocol.OptionsResult, error) {
	res, err := s.rpc.Options(ctx, &OptionsRequest{SessionId: s.id, Target: target})
	if err != nil {
		return protocol.OptionsResult{}, fromStatus(err)
	}
	return protocol.OptionsResult{StatusCode: int(res.GetStatus()), Reason: res.GetReason(), Media: res.GetMedia(), Allow: res.GetAllow()}, nil
}

func (s *telephonySession) Close(ctx context.Context) error {
	_, err := s.rpc.Close(ctx, s.sr())
	return fromStatus(err)
}

// ---- policy ----

// policyHost is the host side of a policy plugin.
type policyHost struct{ rpc PolicyClient }

var (
	_ protocol.Policy     = (*policyHost)(nil)
	_ protocol.AuditJudge = (*policyHost)(nil)
)

// NewPolicyHost wraps a gRPC connection to a policy plugin.
func NewPolicyHost(cc grpc.ClientConnInterface) protocol.Policy {
	return &policyHost{rpc: NewPolicyClient(cc)}
}

func (c *policyHost) Info(ctx context.Context) (protocol.Info, error) {
	w, err := c.rpc.Info(ctx, &InfoRequest{})
	if err != nil {
		return protocol.Info{}, fromStatus(err)
	}
	return infoFromWire(w), nil
}

func (c *policyHost) ChooseAccount(ctx context.Context, req protocol.ChooseAccountRequest) (protocol.Decision, error) {
	w, err := c.rpc.ChooseAccount(ctx, chooseToWire(req))
	if err != nil {
		return protocol.Decision{}, fromStatus(err)
	}
	return decisionFromWire(w), nil
}

func (c *policyHost) ApproveCost(ctx context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	w, err := c.rpc.ApproveCost(ctx, costToWire(req))
	if err != nil {
		return protocol.Decision{}, fromStatus(err)
	}
	return decisionFromWire(w), nil
}

func (c *policyHost) JudgeCallerBinding(ctx context.Context, req protocol.BindingRequest) (protocol.Decision, error) {
	w, err := c.rpc.JudgeCallerBinding(ctx, bindingToWire(req))
	if err != nil {
		return protocol.Decision{}, fromStatus(err)
	}
	return decisionFromWire(w), nil
}

func (c *policyHost) JudgeSecurityParity(ctx context.Context, req protocol.ParityRequest) (protocol.ParityDecision, error) {
	w, err := c.rpc.JudgeSecurityParity(ctx, parityToWire(req))
	if err != nil {
		return protocol.ParityDecision{}, fromStatus(err)
	}
	return protocol.ParityDecision{Decision: decisionFromWire(w.GetDecision()), Findings: findingsFromWire(w.GetFindings())}, nil
}

// JudgeAuditFindings asks the plugin to re-weigh audit findings. A plugin
// built before this RPC answers Unimplemented: the error wraps
// protocol.ErrUnsupported, which the policy chain reads as abstaining.
func (c *policyHost) JudgeAuditFindings(ctx context.Context, req protocol.AuditFindingsRequest) (protocol.AuditFindingsDecision, error) {
	w, err := c.rpc.JudgeAuditFindings(ctx, auditFindingsToWire(req))
	if err != nil {
		return protocol.AuditFindingsDecision{}, fromStatus(err)
	}
	return auditDecisionFromWire(w), nil
}
