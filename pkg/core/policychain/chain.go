package policychain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
	cusaxv1 "github.com/cusax/cusax/pkg/protocol/proto/cusax/v1"
)

// DefaultTimeout bounds one policy's answer when the config does not
// ([plugins] decision_timeout). A policy does no network IO in the common
// case; five seconds is generous for a slow disk or a cold start.
const DefaultTimeout = 5 * time.Second

// deadlineSlack: an error this close to the deadline is the deadline's.
const deadlineSlack = 10 * time.Millisecond

// exitGrace is how long a failed call waits for go-plugin to notice that
// the plugin process exited, to tell a crash from a returned error.
const exitGrace = 2 * time.Second

// Member is one policy in a chain.
type Member struct {
	// Name is the plugin name as configured ("default", "tollguard"); it
	// is what decisions record, whatever the plugin calls itself.
	Name   string
	Policy protocol.Policy
	// Exited says why the plugin process is gone, or "" while it runs
	// (pluginhost.Instance.Exited); nil for an in-process policy.
	Exited func() string
}

// Chain is the ordered policies of one account.
type Chain struct {
	Members []Member
	// Timeout bounds each policy's answer; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Names lists the members' names in order.
func (c Chain) Names() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Name
	}
	return out
}

func (c Chain) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Order is the documented chain order for an account's `policy = [...]`
// list: "default" first unless the list names it (then it sits where
// named), then the list in order; duplicates count once.
func Order(configured []string) []string {
	names := configured
	if !slices.Contains(configured, "default") {
		names = append([]string{"default"}, configured...)
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Op is one kind of decision, with answers of type D (protocol.Decision,
// ParityDecision, AuditFindingsDecision).
type Op[D any] struct {
	// Name is the RPC, for errors and --debug ("ApproveCost").
	Name string
	// Ask calls the policy with the decision so far.
	Ask func(ctx context.Context, p protocol.Policy, prior protocol.Prior) (D, error)
	// Decision points into an answer at its verdict, choice and reason.
	Decision func(*D) *protocol.Decision
	// Verdicts are the verdicts besides abstain a policy may answer; nil
	// means allow, deny and ask.
	Verdicts []protocol.Verdict
	// Check, if set, vets an answer that did not abstain (a ChooseAccount
	// allow must name a candidate); its error names no policy, Run does.
	Check func(D) error
}

// Result is a decision with its trail.
type Result[D any] struct {
	// Final is the last answer that did not abstain, with Policy and
	// Chain filled in; when every policy abstained, it is the zero D with
	// verdict abstain, Policy "none" and the Chain.
	Final D
	// Decided lists every answer that did not abstain, in chain order,
	// each with its Policy (the audit applies all of them, in order).
	Decided []D
	// Chain is the trail: every policy consulted, in order.
	Chain []protocol.DecisionStep
}

// Run consults every member of c in order, each bounded by c's timeout.
//
// Error contract: a policy that does not answer within the timeout, whose
// process exits mid-decision, or that answers an unknown verdict or an
// answer Check refuses, is an error naming the policy and wrapping
// pluginhost.ErrFailed; any other error a policy returns is wrapped with
// its name (sentinels kept). ErrUnsupported counts as abstaining (a plugin
// built before the decision existed). ctx's own cancellation is returned
// as is.
func Run[D any](ctx context.Context, c Chain, op Op[D]) (Result[D], error) {
	var res Result[D]
	var prior protocol.Prior
	decided := false
	verdicts := op.Verdicts
	if verdicts == nil {
		verdicts = []protocol.Verdict{protocol.Allow, protocol.Deny, protocol.Ask}
	}
	for _, m := range c.Members {
		start := time.Now()
		d, err := ask(ctx, c.timeout(), m, op, prior)
		elapsed := time.Since(start)
		if errors.Is(err, protocol.ErrUnsupported) {
			var zero D
			d, err = zero, nil
			op.Decision(&d).Verdict = protocol.Abstain
		}
		if err != nil {
			return res, err
		}
		dec := op.Decision(&d)
		res.Chain = append(res.Chain, protocol.DecisionStep{Policy: m.Name, Verdict: dec.Verdict, Choice: dec.Choice,
			Reason: dec.Reason, ElapsedMS: math.Round(float64(elapsed.Microseconds())/100) / 10})
		if dec.Verdict == protocol.Abstain {
			continue
		}
		if !slices.Contains(verdicts, dec.Verdict) {
			return res, failf(protocol.ErrProtocol, "policy %q answered %s with verdict %q (want abstain or %s)",
				m.Name, op.Name, dec.Verdict, joinVerdicts(verdicts))
		}
		if op.Check != nil {
			if err := op.Check(d); err != nil {
				return res, failf(err, "policy %q answered %s: %v", m.Name, op.Name, err)
			}
		}
		dec.Policy = m.Name
		dec.Chain = nil
		res.Decided = append(res.Decided, d)
		res.Final, decided = d, true
		prior = protocol.Prior{Verdict: dec.Verdict, Choice: dec.Choice, Reason: dec.Reason, Policy: m.Name}
	}
	if !decided {
		var zero D
		res.Final = zero
		dec := op.Decision(&res.Final)
		dec.Verdict, dec.Policy = protocol.Abstain, "none"
	}
	op.Decision(&res.Final).Chain = res.Chain
	return res, nil
}

// ask is one bounded call. The answer is awaited in a select, not only
// through ctx, so that even an in-process policy that ignores its context
// cannot hold the command.
func ask[D any](ctx context.Context, timeout time.Duration, m Member, op Op[D], prior protocol.Prior) (D, error) {
	type answer struct {
		d   D
		err error
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan answer, 1)
	go func() {
		d, err := op.Ask(cctx, m.Policy, prior)
		ch <- answer{d, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-cctx.Done():
		a.err = cctx.Err()
	}
	if a.err == nil {
		return a.d, nil
	}
	if ctx.Err() != nil {
		return a.d, ctx.Err() // interrupted: not the policy's fault
	}
	gone := errors.Is(a.err, cusaxv1.ErrPluginGone)
	if why := exited(m, gone); why != "" || gone {
		if why == "" {
			why = a.err.Error()
		}
		return a.d, failf(nil, "policy %q stopped mid-decision (%s)", m.Name, why)
	}
	// The plugin's side of gRPC may cancel the call at the deadline a
	// moment before cctx's own timer has marked it done: the clock decides.
	if deadline, _ := cctx.Deadline(); cctx.Err() != nil || !time.Now().Before(deadline.Add(-deadlineSlack)) {
		return a.d, failf(nil, "policy %q did not decide within %s (%s)", m.Name, timeout, op.Name)
	}
	return a.d, fmt.Errorf("policy %q: %s: %w", m.Name, op.Name, a.err)
}

// exited says why m's process is gone. When the connection was lost it
// waits briefly for the exit to be noticed: a crash ends the RPC a moment
// before go-plugin has reaped the process.
func exited(m Member, wait bool) string {
	if m.Exited == nil {
		return ""
	}
	if !wait {
		return m.Exited()
	}
	deadline := time.Now().Add(exitGrace)
	for {
		if why := m.Exited(); why != "" || time.Now().After(deadline) {
			return why
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func joinVerdicts(vs []protocol.Verdict) string {
	s := ""
	for i, v := range vs {
		if i > 0 {
			s += ", "
		}
		s += string(v)
	}
	return s
}

// failure is a broken policy: it wraps pluginhost.ErrFailed (exit code 6)
// and cause without adding their text, so the message stays one plain
// line ("policy "x" did not decide within 5s (ApproveCost)").
type failure struct {
	msg   string
	cause error
}

func (e *failure) Error() string   { return e.msg }
func (e *failure) Unwrap() []error { return []error{pluginhost.ErrFailed, e.cause} }

func failf(cause error, format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...), cause: cause}
}
