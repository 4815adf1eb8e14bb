package cusaxv1

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cusax/cusax/pkg/protocol"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// sessions keeps the live sessions of one plugin process. Session state
// stays in the plugin; the host holds only the opaque ID.
type sessions[S any] struct {
	mu sync.Mutex
	m  map[string]S
}

func (s *sessions[S]) add(v S) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]S{}
	}
	s.m[id] = v
	live.add(id, v)
	if f, ok := any(v).(Forgettable); ok {
		f.SetForget(func() { s.remove(id) })
	}
	return id
}

// Forgettable is implemented by sessions that can end without a Close
// from the client (the agent's leases end when the client's connection
// closes): SetForget hands them the function that drops them from the
// server's registry (it runs under the registry's lock: keep f only).
type Forgettable interface {
	SetForget(forget func())
}

func (s *sessions[S]) get(id string) (S, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	if !ok {
		var zero S
		return zero, toStatus(fmt.Errorf("session %q: %w", id, protocol.ErrNotConnected))
	}
	return v, nil
}

func (s *sessions[S]) remove(id string) (S, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[id]
	delete(s.m, id)
	live.remove(id)
	return v, ok
}

// serveStream answers a streaming RPC with st (opened with err): an error
// as its status; else headers first, which tell the host the stream is open
// (see openStream), then every value until either side ends.
func serveStream[T any, W any](out grpc.ServerStreamingServer[W], st protocol.Stream[T], err error, conv func(T) *W) error {
	if err != nil {
		return toStatus(err)
	}
	if err := out.SendHeader(metadata.MD{}); err != nil {
		st.Close()
		return err
	}
	return pump(out.Context(), st, out.Send, conv)
}

// pump forwards a protocol.Stream to a gRPC server stream until either ends.
func pump[T any, W any](ctx context.Context, st protocol.Stream[T], send func(W) error, conv func(T) W) error {
	defer st.Close()
	for {
		v, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return toStatus(err)
		}
		if err := send(conv(v)); err != nil {
			return err
		}
	}
}

// ---- IMPP ----

type imppServer struct {
	UnimplementedIMPPServer
	impl protocol.IMPP
	s    sessions[protocol.IMPPSession]
}

func (g *imppServer) Info(ctx context.Context, _ *InfoRequest) (*PluginInfo, error) {
	i, err := g.impl.Info(ctx)
	return infoToWire(i), toStatus(err)
}

func (g *imppServer) Connect(ctx context.Context, req *ConnectRequest) (*ConnectResponse, error) {
	sess, err := g.impl.Connect(ctx, connectFromWire(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return &ConnectResponse{SessionId: g.s.add(sess), Report: reportToWire(sess.Report())}, nil
}

func (g *imppServer) Roster(ctx context.Context, req *SessionRequest) (*RosterResponse, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	items, err := sess.Roster(ctx)
	return rosterToWire(items), toStatus(err)
}

func (g *imppServer) GetVCard(ctx context.Context, req *JIDRequest) (*VCard, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	v, err := sess.VCard(ctx, req.GetJid())
	return vcardToWire(v), toStatus(err)
}

func (g *imppServer) SetPresence(ctx context.Context, req *SetPresenceRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &Empty{}, toStatus(sess.SetPresence(ctx, presenceFromWire(req.GetPresence())))
}

func (g *imppServer) Presences(req *SessionRequest, out grpc.ServerStreamingServer[Presence]) error {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return err
	}
	st, err := sess.Presences(out.Context())
	return serveStream(out, st, err, presenceToWire)
}

func (g *imppServer) Send(ctx context.Context, req *SendRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &Empty{}, toStatus(sess.Send(ctx, messageFromWire(req.GetMessage())))
}

func (g *imppServer) Messages(req *SessionRequest, out grpc.ServerStreamingServer[Message]) error {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return err
	}
	st, err := sess.Messages(out.Context())
	return serveStream(out, st, err, messageToWire)
}

func (g *imppServer) AckedMessages(req *SessionRequest, out grpc.ServerStreamingServer[Message]) error {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return err
	}
	am, ok := sess.(protocol.AckedMessages)
	if !ok {
		return toStatus(fmt.Errorf("acknowledged messages: %w", protocol.ErrUnsupported))
	}
	st, err := am.AckedMessages(out.Context())
	return serveStream(out, st, err, messageToWire)
}

func (g *imppServer) AckMessage(ctx context.Context, req *AckRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	am, ok := sess.(protocol.AckedMessages)
	if !ok {
		return nil, toStatus(fmt.Errorf("acknowledged messages: %w", protocol.ErrUnsupported))
	}
	return &Empty{}, toStatus(am.AckMessage(ctx, req.GetSeq()))
}

func (g *imppServer) JoinRoom(ctx context.Context, req *JoinRoomRequest) (*Room, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	r, err := sess.JoinRoom(ctx, protocol.RoomJoin{Room: req.GetRoom(), Nick: req.GetNick(), Password: req.GetPassword(), History: int(req.GetHistory()),
		HistorySince: fromUnixNS(req.GetHistorySinceUnixNs())})
	return roomToWire(r), toStatus(err)
}

func (g *imppServer) LeaveRoom(ctx context.Context, req *JIDRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &Empty{}, toStatus(sess.LeaveRoom(ctx, req.GetJid()))
}

func (g *imppServer) GetDiscoInfo(ctx context.Context, req *DiscoInfoRequest) (*DiscoInfo, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	d, err := sess.DiscoInfo(ctx, req.GetJid(), req.GetNode())
	return discoToWire(d), toStatus(err)
}

func (g *imppServer) Reach(ctx context.Context, req *JIDRequest) (*ReachResponse, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	a, err := sess.Reach(ctx, req.GetJid())
	return &ReachResponse{Addresses: reachToWire(a)}, toStatus(err)
}

func (g *imppServer) PublishReach(ctx context.Context, req *PublishReachRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &Empty{}, toStatus(sess.PublishReach(ctx, reachFromWire(req.GetAddresses())))
}

func (g *imppServer) Close(ctx context.Context, req *SessionRequest) (*Empty, error) {
	sess, ok := g.s.remove(req.GetSessionId())
	if !ok {
		return &Empty{}, nil // Close is idempotent.
	}
	return &Empty{}, toStatus(sess.Close(ctx))
}

func (g *imppServer) Subscribe(ctx context.Context, req *JIDRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	ps, ok := sess.(protocol.PresenceSubscriber)
	if !ok {
		return nil, toStatus(fmt.Errorf("presence subscription: %w", protocol.ErrUnsupported))
	}
	return &Empty{}, toStatus(ps.Subscribe(ctx, req.GetJid()))
}

func (g *imppServer) ApproveSubscription(ctx context.Context, req *JIDRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	ps, ok := sess.(protocol.PresenceSubscriber)
	if !ok {
		return nil, toStatus(fmt.Errorf("presence subscription: %w", protocol.ErrUnsupported))
	}
	return &Empty{}, toStatus(ps.ApproveSubscription(ctx, req.GetJid()))
}

func (g *imppServer) PublishActivity(ctx context.Context, req *PublishActivityRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	ap, ok := sess.(protocol.ActivityPublisher)
	if !ok {
		return nil, toStatus(fmt.Errorf("activity: %w", protocol.ErrUnsupported))
	}
	return &Empty{}, toStatus(ap.PublishActivity(ctx, activityFromWire(req.GetActivity())))
}

func (g *imppServer) KnownPresences(ctx context.Context, req *SessionRequest) (*PresenceSnapshot, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	pv, ok := sess.(protocol.PresenceView)
	if !ok {
		return nil, toStatus(fmt.Errorf("presence view: %w", protocol.ErrUnsupported))
	}
	snap, err := pv.KnownPresences(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return snapshotToWire(snap), nil
}

// ---- telephony ----

type telephonyServer struct {
	UnimplementedTelephonyServer
	impl protocol.Telephony
	s    sessions[protocol.TelephonySession]
}

func (g *telephonyServer) Info(ctx context.Context, _ *InfoRequest) (*PluginInfo, error) {
	i, err := g.impl.Info(ctx)
	return infoToWire(i), toStatus(err)
}

func (g *telephonyServer) Connect(ctx context.Context, req *ConnectRequest) (*ConnectResponse, error) {
	sess, err := g.impl.Connect(ctx, connectFromWire(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return &ConnectResponse{SessionId: g.s.add(sess)}, nil
}

func (g *telephonyServer) Register(ctx context.Context, req *RegisterRequest) (*ConnectionReport, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	r, err := sess.Register(ctx, protocol.RegisterRequest{Expires: durationNS(req.GetExpiresNs())})
	if err != nil {
		return nil, toStatus(err)
	}
	return reportToWire(r), nil
}

func (g *telephonyServer) Unregister(ctx context.Context, req *SessionRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &Empty{}, toStatus(sess.Unregister(ctx))
}

func (g *telephonyServer) Dial(req *DialRequest, out grpc.ServerStreamingServer[CallEvent]) error {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return err
	}
	st, err := sess.Dial(out.Context(), dialFromWire(req))
	return serveStream(out, st, err, callEventToWire)
}

func (g *telephonyServer) Hangup(ctx context.Context, req *CallRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &Empty{}, toStatus(sess.Hangup(ctx, req.GetCallId()))
}

func (g *telephonyServer) IncomingCalls(req *SessionRequest, out grpc.ServerStreamingServer[IncomingCall]) error {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return err
	}
	st, err := sess.IncomingCalls(out.Context())
	return serveStream(out, st, err, incomingToWire)
}

func (g *telephonyServer) Respond(ctx context.Context, req *RespondRequest) (*Empty, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	return &Empty{}, toStatus(sess.Respond(ctx, req.GetCallId(), int(req.GetStatus()), req.GetReason()))
}

// Answer serves the optional Answerer; a session that is none answers
// Unimplemented, as a plugin built before the RPC does. The backend's ctx
// is the stream's: the host cancelling it ends the call.
func (g *telephonyServer) Answer(req *AnswerRequest, out grpc.ServerStreamingServer[AnswerEvent]) error {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return err
	}
	a, ok := sess.(protocol.Answerer)
	if !ok {
		return toStatus(fmt.Errorf("answer: %w", protocol.ErrUnsupported))
	}
	st, err := a.Answer(out.Context(), answerFromWire(req))
	return serveStream(out, st, err, answerEventToWire)
}

// Options serves the optional OptionsAsker; a session that is none
// answers Unimplemented, as a plugin built before the RPC does.
func (g *telephonyServer) Options(ctx context.Context, req *OptionsRequest) (*OptionsResponse, error) {
	sess, err := g.s.get(req.GetSessionId())
	if err != nil {
		return nil, err
	}
	o, ok := sess.(protocol.OptionsAsker)
	if !ok {
		return nil, toStatus(fmt.Errorf("options: %w", protocol.ErrUnsupported))
	}
	res, err := o.Options(ctx, req.GetTarget())
	if err != nil {
		return nil, toStatus(err)
	}
	return &OptionsResponse{Status: int32(res.StatusCode), Reason: res.Reason, Media: res.Media, Allow: res.Allow}, nil
}

func (g *telephonyServer) Close(ctx context.Context, req *SessionRequest) (*Empty, error) {
	sess, ok := g.s.remove(req.GetSessionId())
	if !ok {
		return &Empty{}, nil
	}
	return &Empty{}, toStatus(sess.Close(ctx))
}

// ---- policy ----

type policyServer struct {
	UnimplementedPolicyServer
	impl protocol.Policy
}

func (g *policyServer) Info(ctx context.Context, _ *InfoRequest) (*PluginInfo, error) {
	i, err := g.impl.Info(ctx)
	return infoToWire(i), toStatus(err)
}

func (g *policyServer) ChooseAccount(ctx context.Context, req *ChooseAccountRequest) (*Decision, error) {
	d, err := g.impl.ChooseAccount(ctx, chooseFromWire(req))
	return decisionToWire(d), toStatus(err)
}

func (g *policyServer) ApproveCost(ctx context.Context, req *CostRequest) (*Decision, error) {
	d, err := g.impl.ApproveCost(ctx, costFromWire(req))
	return decisionToWire(d), toStatus(err)
}

func (g *policyServer) JudgeCallerBinding(ctx context.Context, req *BindingRequest) (*Decision, error) {
	d, err := g.impl.JudgeCallerBinding(ctx, bindingFromWire(req))
	return decisionToWire(d), toStatus(err)
}

func (g *policyServer) JudgeSecurityParity(ctx context.Context, req *ParityRequest) (*ParityDecision, error) {
	d, err := g.impl.JudgeSecurityParity(ctx, parityFromWire(req))
	return &ParityDecision{Decision: decisionToWire(d.Decision), Findings: findingsToWire(d.Findings)}, toStatus(err)
}

// JudgeAuditFindings serves the optional decision; a policy that does not
// implement protocol.AuditJudge answers Unimplemented, exactly as a plugin
// built before the RPC existed, so the host sees one behaviour for both.
func (g *policyServer) JudgeAuditFindings(ctx context.Context, req *AuditFindingsRequest) (*AuditFindingsDecision, error) {
	j, ok := g.impl.(protocol.AuditJudge)
	if !ok {
		return nil, toStatus(fmt.Errorf("judge audit findings: %w", protocol.ErrUnsupported))
	}
	d, err := j.JudgeAuditFindings(ctx, auditFindingsFromWire(req))
	if err != nil {
		return nil, toStatus(err)
	}
	return auditDecisionToWire(d), nil
}
