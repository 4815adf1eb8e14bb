package sipmessage

import (
	"context"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/hashicorp/go-hclog"
)

// recTx records the response handleMessage gives.
type recTx struct {
	gosip.ServerTransaction
	res *gosip.Response
}

func (r *recTx) Respond(res *gosip.Response) error { r.res = res; return nil }

// handleMessage answers by who sent it and whether anyone reads: a request
// that did not come over the flow to our proxy is refused (403) even when
// a stream is open; a non-text body gets 415 with Accept; with no stream
// 480; with one, 200 and the message on the stream.
func TestHandleMessage(t *testing.T) {
	s := &session{log: hclog.NewNullLogger(), flow: flow{transport: "tls", addr: "proxy.example.test:5061"}}
	remote := "127.0.0.1:5061"
	s.remote.Store(&remote)
	s.in.init()
	answer := func(source, ct, body string) *gosip.Response {
		req := parseRaw(t, rawMessage(ct, body))
		req.SetSource(source)
		tx := &recTx{}
		s.handleMessage(req, tx)
		if tx.res == nil {
			t.Fatal("no response")
		}
		return tx.res
	}
	if res := answer("127.0.0.1:5061", "text/plain", "nobody reads"); res.StatusCode != 480 || res.GetHeader("Retry-After") == nil {
		t.Errorf("no stream: %d, want 480 with Retry-After", res.StatusCode)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := s.Messages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res := answer("127.0.0.1:40404", "text/plain", "injected"); res.StatusCode != 403 {
		t.Errorf("from elsewhere: %d, want 403", res.StatusCode)
	}
	if res := answer("127.0.0.1:5061", "text/html", "<b>x</b>"); res.StatusCode != 415 || res.GetHeader("Accept") == nil {
		t.Errorf("html: %d, want 415 with Accept", res.StatusCode)
	}
	if res := answer("127.0.0.1:5061", "text/plain", "welcome"); res.StatusCode != 200 {
		t.Fatalf("from the proxy: %d, want 200", res.StatusCode)
	}
	done := make(chan string, 1)
	go func() { m, _ := st.Recv(); done <- m.Body }()
	select {
	case b := <-done:
		if b != "welcome" {
			t.Errorf("stream got %q; the injected or refused ones must not arrive", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing on the stream")
	}
}
