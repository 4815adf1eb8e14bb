package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

func TestKeyringStore(t *testing.T) {
	keyring.MockInit()
	ctx := context.Background()
	s := Keyring()
	ref := Ref{"work", "xmpp"}
	if s.Name() != "keyring" {
		t.Errorf("Name = %q", s.Name())
	}
	steps := []struct {
		name    string
		op      func() (string, error)
		want    string
		wantErr error
	}{
		{name: "get missing", op: func() (string, error) { return s.Get(ctx, ref) }, wantErr: ErrNotFound},
		{name: "delete missing", op: func() (string, error) { return "", s.Delete(ctx, ref) }, wantErr: ErrNotFound},
		{name: "set", op: func() (string, error) { return "", s.Set(ctx, ref, testPassword) }},
		{name: "get", op: func() (string, error) { return s.Get(ctx, ref) }, want: testPassword},
		{name: "other aspect separate", op: func() (string, error) { return s.Get(ctx, Ref{"work", "sip"}) }, wantErr: ErrNotFound},
		{name: "set empty", op: func() (string, error) { return "", s.Set(ctx, ref, "") }, wantErr: ErrEmptyPassword},
		{name: "set bad ref", op: func() (string, error) { return "", s.Set(ctx, Ref{"a/b", "sip"}, "x") }, wantErr: ErrInvalidRef},
		{name: "delete", op: func() (string, error) { return "", s.Delete(ctx, ref) }},
		{name: "get deleted", op: func() (string, error) { return s.Get(ctx, ref) }, wantErr: ErrNotFound},
	}
	for _, st := range steps {
		got, err := st.op()
		if st.wantErr != nil {
			if !errors.Is(err, st.wantErr) {
				t.Errorf("%s: error %v, want %v", st.name, err, st.wantErr)
			}
			continue
		}
		if err != nil || got != st.want {
			t.Errorf("%s: got %q, %v; want %q", st.name, got, err, st.want)
		}
	}
	// The keyring entry uses service "cusax" and user "<account>/<aspect>".
	if err := s.Set(ctx, ref, testPassword); err != nil {
		t.Fatal(err)
	}
	if v, err := keyring.Get("cusax", "work/xmpp"); err != nil || v != testPassword {
		t.Errorf("keyring.Get(cusax, work/xmpp) = %q, %v", v, err)
	}
}

func TestKeyringErrors(t *testing.T) {
	keyring.MockInitWithError(errors.New("dbus: connection refused"))
	t.Cleanup(keyring.MockInit)
	ctx := context.Background()
	s := Keyring()
	ref := Ref{"work", "sip"}
	for name, err := range map[string]error{
		"get":    func() error { _, err := s.Get(ctx, ref); return err }(),
		"set":    s.Set(ctx, ref, testPassword),
		"delete": s.Delete(ctx, ref),
	} {
		if err == nil {
			t.Errorf("%s: nil error", name)
			continue
		}
		if errors.Is(err, ErrNotFound) {
			t.Errorf("%s: a keyring failure reported as not found: %v", name, err)
		}
		if strings.Contains(err.Error(), testPassword) {
			t.Errorf("%s: error contains the password: %v", name, err)
		}
		if !strings.Contains(err.Error(), "work/sip") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%s: error lacks context: %v", name, err)
		}
	}
}

func TestKeyringHonoursContext(t *testing.T) {
	keyring.MockInit()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Keyring().Get(ctx, Ref{"work", "sip"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with cancelled ctx = %v", err)
	}
	// A call that never returns is abandoned at the deadline.
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	block := make(chan struct{})
	defer close(block)
	_, err := withContext(ctx, func() (string, error) { <-block; return "", nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("withContext = %v, want deadline exceeded", err)
	}
}
