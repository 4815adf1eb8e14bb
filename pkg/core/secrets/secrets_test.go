package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const testPassword = "hunter2-Very-Secret"

func TestRefValidate(t *testing.T) {
	tests := []struct {
		ref Ref
		ok  bool
	}{
		{Ref{"work", "xmpp"}, true},
		{Ref{"work", "sip"}, true},
		{Ref{"w.o_r-k", "sip"}, true},
		{Ref{"work", "provisioning"}, true},
		{Ref{"", "sip"}, false},
		{Ref{"a/b", "sip"}, false},
		{Ref{"..", "sip"}, false},
		{Ref{"work", ""}, false},
		{Ref{"work", "XMPP"}, false},
		{Ref{"work", "irc"}, false},
		{Ref{"work\n", "sip"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.ref.Account+"_"+tt.ref.Aspect, func(t *testing.T) {
			err := tt.ref.Validate()
			if tt.ok != (err == nil) {
				t.Fatalf("Validate(%#v) = %v, want ok=%v", tt.ref, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidRef) {
				t.Errorf("error does not wrap ErrInvalidRef: %v", err)
			}
		})
	}
	r := Ref{"work", "xmpp"}
	if r.Key() != "cusax/work/xmpp" || r.String() != "work/xmpp" {
		t.Errorf("Key, String = %q, %q", r.Key(), r.String())
	}
}

// failStore fails the test if it is consulted.
type failStore struct{ t *testing.T }

func (s failStore) Get(context.Context, Ref) (string, error) {
	s.t.Error("store consulted although a password command is set")
	return "", errors.New("unexpected")
}
func (failStore) Set(context.Context, Ref, string) error { return nil }
func (failStore) Delete(context.Context, Ref) error      { return nil }
func (failStore) Name() string                           { return "fail" }

func TestResolve(t *testing.T) {
	ctx := context.Background()
	ref := Ref{"work", "sip"}
	mem := File(t.TempDir() + "/secrets.toml")
	if err := mem.Set(ctx, ref, "from-store"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		store   Store
		ref     Ref
		command string
		want    string
		wantErr error
	}{
		{name: "command wins", store: failStore{t}, ref: ref, command: "echo from-command", want: "from-command"},
		{name: "store", store: mem, ref: ref, want: "from-store"},
		{name: "store missing", store: mem, ref: Ref{"work", "xmpp"}, wantErr: ErrNotFound},
		{name: "command fails", store: failStore{t}, ref: ref, command: "exit 1", wantErr: ErrPasswordCommand},
		{name: "no store", ref: ref, wantErr: nil},
		{name: "bad ref", store: mem, ref: Ref{"", "sip"}, wantErr: ErrInvalidRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(ctx, tt.store, tt.ref, tt.command)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("Resolve = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Resolve = %q, want error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if tt.ref.Validate() == nil && !strings.Contains(err.Error(), tt.ref.String()) {
				t.Errorf("error %q does not name %s", err, tt.ref)
			}
		})
	}
}
