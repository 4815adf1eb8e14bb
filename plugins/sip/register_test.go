package sip

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"

	"github.com/cusax/cusax/pkg/protocol"
)

const (
	chalMD5    = `Digest realm="example.test", nonce="nonce-md5", qop="auth", algorithm=MD5`
	chalSHA256 = `Digest realm="example.test", nonce="nonce-sha256", qop="auth", algorithm=SHA-256`
)

func udpServer(f *fakeRegistrar) string { return "sip:" + f.addr + ";transport=udp" }

// TestRegisterPicksStrongestChallenge: an RFC 8760 registrar lists MD5
// first; the answer must be SHA-256, in a new transaction with CSeq+1 and
// the same Call-ID and From tag.
func TestRegisterPicksStrongestChallenge(t *testing.T) {
	t.Parallel()
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		if n == 0 {
			return challengeRes(req, 401, "WWW-Authenticate", chalMD5, chalSHA256)
		}
		return ok(req, 3600)
	})
	s, rep, err := registerVia(t, udpServer(f), nil, map[string]string{OptionDisplayName: `Alice "A" Liddell`})
	if err != nil {
		t.Fatal(err)
	}
	if rep.AuthMechanism != "digest SHA-256" || !slices.Equal(rep.AuthOffered, []string{"MD5", "SHA-256"}) {
		t.Errorf("auth %q offered %q", rep.AuthMechanism, rep.AuthOffered)
	}
	if rep.Expires != time.Hour {
		t.Errorf("Expires %s", rep.Expires)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	first, second := reqs[0], reqs[1]
	cred := validAuth(t, second, "Authorization", chalSHA256, "alice", "secret")
	if !strings.EqualFold(cred.Algorithm, "SHA-256") || cred.Nonce != "nonce-sha256" {
		t.Errorf("answered %s %s", cred.Algorithm, cred.Nonce)
	}
	if first.GetHeader("Authorization") != nil {
		t.Error("the first REGISTER carried credentials")
	}
	if second.CSeq().SeqNo != first.CSeq().SeqNo+1 || second.CallID().Value() != first.CallID().Value() {
		t.Errorf("CSeq %d→%d, Call-ID %s→%s", first.CSeq().SeqNo, second.CSeq().SeqNo, first.CallID().Value(), second.CallID().Value())
	}
	fb, _ := first.Via().Params.Get("branch")
	sb, _ := second.Via().Params.Get("branch")
	if fb == sb || !strings.HasPrefix(sb, "z9hG4bK") {
		t.Errorf("branches %q %q", fb, sb)
	}
	ftag, _ := first.From().Params.Get("tag")
	stag, _ := second.From().Params.Get("tag")
	if ftag == "" || ftag != stag {
		t.Errorf("From tags %q %q", ftag, stag)
	}
	// RFC 3261 §10.2 request shape.
	if got := second.Recipient.String(); got != "sip:example.test" {
		t.Errorf("Request-URI %s", got)
	}
	if got := second.From().Value(); !strings.HasPrefix(got, `"Alice \"A\" Liddell" <sip:alice@example.test>;tag=`) {
		t.Errorf("From %s", got)
	}
	if got := second.To().Value(); got != "<sip:alice@example.test>" {
		t.Errorf("To %s", got)
	}
	if got := second.GetHeader("User-Agent"); got == nil || got.Value() != "cusax/"+Version {
		t.Errorf("User-Agent %v", got)
	}
	if got := second.GetHeader("Expires"); got == nil || got.Value() != "3600" {
		t.Errorf("Expires %v", got)
	}
	c := second.Contact()
	if c == nil || c.Address.User != "alice" || c.Address.Host != "127.0.0.1" || c.Address.UriParams.GetOr("transport", "") != "udp" {
		t.Errorf("Contact %v", c)
	}
	if rep.Address != c.Address.String() {
		t.Errorf("report address %q, contact %q", rep.Address, c.Address.String())
	}

	// A refresh keeps Call-ID and counts on.
	if _, err := s.Register(context.Background(), protocol.RegisterRequest{Expires: time.Minute}); err != nil {
		t.Fatal(err)
	}
	third := f.requests()[2]
	if third.CSeq().SeqNo != second.CSeq().SeqNo+1 || third.CallID().Value() != first.CallID().Value() {
		t.Errorf("refresh CSeq %d Call-ID %s", third.CSeq().SeqNo, third.CallID().Value())
	}
}

// TestRegisterProxyThenRegistrarChallenge: 407 then 401; the last request
// carries both answers (RFC 3261 §22.3).
func TestRegisterProxyThenRegistrarChallenge(t *testing.T) {
	t.Parallel()
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		switch n {
		case 0:
			return challengeRes(req, 407, "Proxy-Authenticate", chalSHA256)
		case 1:
			return challengeRes(req, 401, "WWW-Authenticate", chalMD5)
		}
		return ok(req, 600)
	})
	_, rep, err := registerVia(t, udpServer(f), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	validAuth(t, reqs[2], "Proxy-Authorization", chalSHA256, "alice", "secret")
	validAuth(t, reqs[2], "Authorization", chalMD5, "alice", "secret")
	if rep.AuthMechanism != "digest MD5" || !slices.Equal(rep.AuthOffered, []string{"SHA-256", "MD5"}) {
		t.Errorf("auth %q offered %q", rep.AuthMechanism, rep.AuthOffered)
	}
}

func TestRegisterStaleNonce(t *testing.T) {
	t.Parallel()
	stale := `Digest realm="example.test", nonce="fresh", stale=true, algorithm=SHA-256`
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		switch n {
		case 0:
			return challengeRes(req, 401, "WWW-Authenticate", chalSHA256)
		case 1:
			return challengeRes(req, 401, "WWW-Authenticate", stale)
		}
		return ok(req, 600)
	})
	if _, _, err := registerVia(t, udpServer(f), nil, nil); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	validAuth(t, reqs[2], "Authorization", stale, "alice", "secret")
}

func TestRegisterIntervalTooBrief(t *testing.T) {
	t.Parallel()
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		if req.GetHeader("Expires").Value() == "3600" {
			return status(req, 423, "Interval Too Brief", gosip.NewHeader("Min-Expires", "7200"))
		}
		return ok(req, 7200)
	})
	_, rep, err := registerVia(t, udpServer(f), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Expires != 2*time.Hour || rep.AuthMechanism != "" || len(rep.Notes) != 2 {
		t.Errorf("report %+v", rep)
	}
}

// TestRegisterGrantedExpiry: our Contact's expires parameter wins over
// other bindings and the Expires header (RFC 3261 §10.2.4).
func TestRegisterGrantedExpiry(t *testing.T) {
	t.Parallel()
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		other := &gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "alice", Host: "192.0.2.1", Port: 5060}, Params: gosip.NewParams()}
		other.Params.Add("expires", "50")
		res := status(req, 200, "OK", other)
		c := req.Contact().Clone()
		c.Params = gosip.NewParams()
		c.Params.Add("expires", "1800")
		res.AppendHeader(c)
		res.AppendHeader(gosip.NewHeader("Expires", "999"))
		return res
	})
	_, rep, err := registerVia(t, udpServer(f), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Expires != 30*time.Minute {
		t.Errorf("Expires %s, want 30m", rep.Expires)
	}
}

func TestRegisterFinalStatuses(t *testing.T) {
	tests := []struct {
		code   int
		reason string
		want   error
	}{
		{403, "Forbidden", protocol.ErrAuth},
		{404, "Not Found", protocol.ErrNotFound},
		{503, "Service Unavailable", protocol.ErrUnreachable},
		{408, "Request Timeout", protocol.ErrTimeout},
		{302, "Moved Temporarily", protocol.ErrProtocol},
		{500, "Server Internal Error", protocol.ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			t.Parallel()
			f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
				return status(req, tt.code, tt.reason)
			})
			_, _, err := registerVia(t, udpServer(f), nil, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			want := "sip register sip:alice@example.test: " + strconv.Itoa(tt.code) + " " + tt.reason
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

func TestRegisterNoUsableChallenge(t *testing.T) {
	t.Parallel()
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		return challengeRes(req, 401, "WWW-Authenticate", `Digest realm="r", nonce="n", algorithm=SHA-256-sess`, `Basic realm="r"`)
	})
	_, rep, err := registerVia(t, udpServer(f), nil, nil)
	if !errors.Is(err, protocol.ErrProtocol) {
		t.Fatalf("err = %v, want ErrProtocol", err)
	}
	if !slices.Equal(rep.AuthOffered, []string{"SHA-256-SESS"}) || len(f.requests()) != 1 {
		t.Errorf("offered %q after %d requests", rep.AuthOffered, len(f.requests()))
	}
}

// TestUnregister: Expires: 0 for the registered Contact, with auth; a
// registrar that keeps the binding is an error; Close does it once.
func TestUnregister(t *testing.T) {
	t.Parallel()
	var keep atomic.Bool
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		if req.GetHeader("Authorization") == nil {
			return challengeRes(req, 401, "WWW-Authenticate", chalSHA256)
		}
		if req.GetHeader("Expires").Value() == "0" && !keep.Load() {
			return ok(req, 0)
		}
		return ok(req, 600)
	})
	s, rep, err := registerVia(t, udpServer(f), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	last := reqs[len(reqs)-1]
	if last.GetHeader("Expires").Value() != "0" || last.Contact().Address.String() != rep.Address {
		t.Errorf("unregister sent Expires %s Contact %s", last.GetHeader("Expires").Value(), last.Contact().Address.String())
	}
	validAuth(t, last, "Authorization", chalSHA256, "alice", "secret")

	// A registrar that still lists the contact.
	if _, err := s.Register(context.Background(), protocol.RegisterRequest{}); err != nil {
		t.Fatal(err)
	}
	keep.Store(true)
	if err := s.Unregister(context.Background()); !errors.Is(err, protocol.ErrProtocol) {
		t.Errorf("Unregister with the binding kept: %v", err)
	}
	keep.Store(false)
	n := len(f.requests())
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("Close again: %v", err)
	}
	reqs = f.requests()[n:]
	if len(reqs) != 2 || reqs[1].GetHeader("Expires").Value() != "0" {
		t.Errorf("Close sent %d requests", len(reqs))
	}
	if err := s.Unregister(context.Background()); !errors.Is(err, protocol.ErrNotConnected) {
		t.Errorf("Unregister after Close: %v", err)
	}
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestTraceRedactsCredentials: the Trace log shows every message but
// neither the password nor the digest response.
func TestTraceRedactsCredentials(t *testing.T) {
	t.Parallel()
	f := startRegistrar(t, nil, func(n int, req *gosip.Request) *gosip.Response {
		if req.GetHeader("Authorization") == nil {
			return challengeRes(req, 401, "WWW-Authenticate", chalSHA256)
		}
		if req.GetHeader("Expires").Value() == "0" {
			return ok(req, 0)
		}
		return ok(req, 600)
	})
	var buf syncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &buf})
	const password = "pa55-w0rd-xyzzy"
	s, err := New(logger).Connect(context.Background(), protocol.ConnectRequest{
		Address: "sip:alice@example.test", Password: password, Server: udpServer(f), Timeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Register(context.Background(), protocol.RegisterRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	cred := validAuth(t, reqs[1], "Authorization", chalSHA256, "alice", password)
	out := buf.String()
	for _, secret := range []string{password, cred.Response, cred.Cnonce} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q", secret)
		}
	}
	for _, want := range []string{"REGISTER sip:example.test SIP/2.0", "Authorization: <redacted>", "SIP/2.0 200 OK", "registered", "unregistered"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}
