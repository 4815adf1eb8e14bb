package policychain

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/pluginhost"
	"github.com/cusax/cusax/pkg/protocol"
)

// fake answers ApproveCost with a fixed decision, records the prior it
// saw, or blocks until its context ends.
type fake struct {
	protocol.AbstainingPolicy
	d     protocol.Decision
	err   error
	block bool
	saw   *protocol.Prior
}

func (f fake) ApproveCost(ctx context.Context, req protocol.CostRequest) (protocol.Decision, error) {
	if f.saw != nil {
		*f.saw = req.Prior
	}
	if f.block {
		select {} // ignores ctx on purpose: Run must not wait for it
	}
	return f.d, f.err
}

func (fake) Info(context.Context) (protocol.Info, error) { return protocol.Info{}, nil }

// cancelAtDeadline answers an error of its own once the deadline has
// passed, as gRPC's RST_STREAM CANCEL does.
type cancelAtDeadline struct{ fake }

func (cancelAtDeadline) ApproveCost(ctx context.Context, _ protocol.CostRequest) (protocol.Decision, error) {
	d, _ := ctx.Deadline()
	time.Sleep(time.Until(d))
	return protocol.Decision{}, errors.New("stream terminated by RST_STREAM with error code: CANCEL")
}

var cost = Op[protocol.Decision]{
	Name: "ApproveCost",
	Ask: func(ctx context.Context, p protocol.Policy, prior protocol.Prior) (protocol.Decision, error) {
		return p.ApproveCost(ctx, protocol.CostRequest{Prior: prior})
	},
	Decision: func(d *protocol.Decision) *protocol.Decision { return d },
}

func chain(ps ...any) Chain {
	var c Chain
	for i := 0; i < len(ps); i += 2 {
		c.Members = append(c.Members, Member{Name: ps[i].(string), Policy: ps[i+1].(protocol.Policy)})
	}
	return c
}

func TestOrder(t *testing.T) {
	tests := []struct {
		name       string
		configured []string
		want       []string
	}{
		{"none", nil, []string{"default"}},
		{"after the default", []string{"tollguard"}, []string{"default", "tollguard"}},
		{"two in order", []string{"tollguard", "example"}, []string{"default", "tollguard", "example"}},
		{"default where named", []string{"strict", "default", "tollguard"}, []string{"strict", "default", "tollguard"}},
		{"duplicates once", []string{"tollguard", "tollguard"}, []string{"default", "tollguard"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Order(tt.configured); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Order(%q) = %q, want %q", tt.configured, got, tt.want)
			}
		})
	}
}

// The last policy that does not abstain decides; each sees the decision
// so far; the trail lists every policy consulted.
func TestRunLastDecides(t *testing.T) {
	var sawGuard, sawLast protocol.Prior
	c := chain(
		"default", fake{d: protocol.Decision{Verdict: protocol.Allow, Reason: "confirmed with --yes", Policy: "liar"}},
		"tollguard", fake{d: protocol.Decision{Verdict: protocol.Deny, Reason: "premium-rate"}, saw: &sawGuard},
		"quiet", fake{d: protocol.Decision{Verdict: protocol.Abstain}, saw: &sawLast},
	)
	res, err := Run(context.Background(), c, cost)
	if err != nil {
		t.Fatal(err)
	}
	if res.Final.Verdict != protocol.Deny || res.Final.Policy != "tollguard" || res.Final.Reason != "premium-rate" {
		t.Errorf("final %+v, want tollguard's deny", res.Final)
	}
	if want := (protocol.Prior{Verdict: protocol.Allow, Reason: "confirmed with --yes", Policy: "default"}); sawGuard != want {
		t.Errorf("tollguard saw prior %+v, want %+v (the chain's name, not the plugin's claim)", sawGuard, want)
	}
	if sawLast.Policy != "tollguard" || sawLast.Verdict != protocol.Deny {
		t.Errorf("last saw prior %+v", sawLast)
	}
	var trail []string
	for _, s := range res.Final.Chain {
		trail = append(trail, s.Policy+":"+string(s.Verdict))
	}
	if got := strings.Join(trail, " "); got != "default:allow tollguard:deny quiet:abstain" {
		t.Errorf("trail %s", got)
	}
	if len(res.Decided) != 2 {
		t.Errorf("decided %d answers, want 2", len(res.Decided))
	}
}

func TestRunAllAbstain(t *testing.T) {
	res, err := Run(context.Background(), chain("a", fake{d: protocol.Decision{Verdict: protocol.Abstain}}, "b", fake{err: protocol.ErrUnsupported}), cost)
	if err != nil {
		t.Fatal(err)
	}
	if res.Final.Verdict != protocol.Abstain || res.Final.Policy != "none" || len(res.Final.Chain) != 2 {
		t.Errorf("final %+v", res.Final)
	}
}

func TestRunErrors(t *testing.T) {
	checked := cost
	checked.Check = func(d protocol.Decision) error {
		if d.Choice == "" {
			return errors.New("allow without a choice")
		}
		return nil
	}
	tests := []struct {
		name   string
		c      Chain
		op     Op[protocol.Decision]
		want   string
		broken bool
		is     error
	}{
		{"unknown verdict", chain("default", fake{d: protocol.Decision{Verdict: "maybe"}}), cost,
			`policy "default" answered ApproveCost with verdict "maybe" (want abstain or allow, deny, ask)`, true, protocol.ErrProtocol},
		{"refused by Check", chain("picky", fake{d: protocol.Decision{Verdict: protocol.Allow}}), checked,
			`policy "picky" answered ApproveCost: allow without a choice`, true, nil},
		{"plugin error keeps its sentinel", chain("strict", fake{err: protocol.ErrInvalid}), cost,
			`policy "strict": ApproveCost: invalid request`, false, protocol.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.c, tt.op)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("got %v, want %s", err, tt.want)
			}
			if errors.Is(err, pluginhost.ErrFailed) != tt.broken {
				t.Errorf("ErrFailed = %v, want %v", !tt.broken, tt.broken)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v does not wrap %v", err, tt.is)
			}
		})
	}
}

// A policy that never answers is cut off at the timeout, even one that
// ignores its context; a process that is gone is named as such.
func TestRunBounded(t *testing.T) {
	c := chain("default", fake{d: protocol.Decision{Verdict: protocol.Allow}}, "stuck", fake{block: true})
	c.Timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := Run(context.Background(), c, cost)
	if err == nil || err.Error() != `policy "stuck" did not decide within 50ms (ApproveCost)` || !errors.Is(err, pluginhost.ErrFailed) {
		t.Fatalf("got %v", err)
	}
	t.Logf("returned after %s", time.Since(start))
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s: Run must not wait for a hung policy", time.Since(start))
	}

	// The plugin's gRPC side cancels at the deadline, a moment before the
	// host's context says so: still a timeout, not the plugin's error.
	for i := 0; i < 20; i++ {
		late := chain("default", cancelAtDeadline{})
		late.Timeout = 20 * time.Millisecond
		if _, err := Run(context.Background(), late, cost); err == nil || !strings.Contains(err.Error(), "did not decide within 20ms") {
			t.Fatalf("cancelled at the deadline: %v", err)
		}
	}

	c.Members[1].Exited = func() string { return "plugin process exited: exit status 2" }
	_, err = Run(context.Background(), c, cost)
	if err == nil || !strings.HasPrefix(err.Error(), `policy "stuck" stopped mid-decision (plugin process exited: exit status 2)`) {
		t.Fatalf("got %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, c, cost); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted: got %v", err)
	}
}
