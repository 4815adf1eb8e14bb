package sipmessage

import (
	"context"
	"fmt"
	"io"
	"mime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// Bounds of the incoming side.
const (
	// queueLen is how many received MESSAGEs one stream holds for its
	// reader; a MESSAGE that finds every queue full is refused with 480.
	queueLen = 64
	// maxBody is the largest body accepted (413 above it).
	maxBody = 64 << 10
)

// inbox hands incoming MESSAGEs to the open streams. The policy (docs/
// sipmessage-backend.md): a MESSAGE is answered 200 once it is queued for
// at least one open stream (each holds at most queueLen); with no stream
// open, or every queue full (a reader that stopped reading), it is
// answered 480 Temporarily Unavailable, so the sender learns it was not
// delivered. Nothing is dropped silently. The 200 cannot wait for the
// reader: a sender's MESSAGE transaction would then hang on the
// receiver's reading (and time out at the proxy after 30 s); so there is
// no AckedMessages either, and a consumer killed between the 200 and
// showing a message loses it (chat --listen warns about that).
type inbox struct {
	mu      sync.Mutex
	streams map[*msgStream]struct{}
	ended   bool
	endErr  error
}

func (in *inbox) init() {
	in.streams = map[*msgStream]struct{}{}
}

// open adds a stream that ends with ctx.
func (in *inbox) open(ctx context.Context) (*msgStream, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.ended {
		if in.endErr != nil {
			return nil, in.endErr
		}
		return nil, fmt.Errorf("session closed: %w", protocol.ErrNotConnected)
	}
	st := &msgStream{in: in, ch: make(chan protocol.Message, queueLen), done: make(chan struct{})}
	in.streams[st] = struct{}{}
	go func() {
		select {
		case <-ctx.Done():
			st.finish(ctx.Err())
		case <-st.done:
		}
	}()
	return st, nil
}

// end ends every stream with err (nil: io.EOF) and refuses new ones.
func (in *inbox) end(err error) {
	in.mu.Lock()
	if in.ended {
		in.mu.Unlock()
		return
	}
	in.ended, in.endErr = true, err
	streams := make([]*msgStream, 0, len(in.streams))
	for st := range in.streams {
		streams = append(streams, st)
	}
	in.mu.Unlock()
	if err == nil {
		err = io.EOF
	}
	for _, st := range streams {
		st.finish(err)
	}
}

// deliver queues m on every open stream with room and reports whether at
// least one took it.
func (in *inbox) deliver(m protocol.Message) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	took := false
	for st := range in.streams {
		select {
		case st.ch <- m:
			took = true
		default: // this reader is behind; another may have room
		}
	}
	return took
}

// msgStream is one Messages stream.
type msgStream struct {
	in   *inbox
	ch   chan protocol.Message // the queue
	done chan struct{}
	once sync.Once
	err  error // why it ended; read after done is closed
}

// Recv returns the next MESSAGE, those queued first; then io.EOF after
// Close, ErrNotConnected (wrapped) when the flow to the proxy was lost.
func (st *msgStream) Recv() (protocol.Message, error) {
	select {
	case m := <-st.ch:
		return m, nil
	default:
	}
	select {
	case m := <-st.ch:
		return m, nil
	case <-st.done:
		select {
		case m := <-st.ch:
			return m, nil // answered 200: hand it out before the end
		default:
		}
		return protocol.Message{}, st.err
	}
}

// Close ends the stream.
func (st *msgStream) Close() error {
	st.finish(io.EOF)
	return nil
}

func (st *msgStream) finish(err error) {
	st.once.Do(func() {
		st.err = err
		st.in.mu.Lock()
		delete(st.in.streams, st)
		st.in.mu.Unlock()
		close(st.done)
	})
}

// Messages streams the MESSAGEs received from now on.
func (s *session) Messages(ctx context.Context) (protocol.Stream[protocol.Message], error) {
	return s.in.open(ctx)
}

// handleMessage answers one incoming MESSAGE (RFC 3428 §7): only from the
// proxy we registered with, only text/plain, 200 only once delivered.
func (s *session) handleMessage(req *gosip.Request, tx gosip.ServerTransaction) {
	respond := func(code int, reason string, hdrs ...gosip.Header) {
		res := gosip.NewResponseFromRequest(req, code, reason, nil)
		for _, h := range hdrs {
			res.AppendHeader(h)
		}
		_ = tx.Respond(res)
	}
	// Requests reach us only over the flow we dialled to the proxy (we
	// listen on no port); check anyway, so that nothing but the
	// registrar's relay can inject messages.
	remote := s.remoteAddr()
	if !strings.EqualFold(req.Transport(), s.flow.transport) || !sameHostPort(req.Source(), remote) {
		respond(403, "Not From My Proxy")
		return
	}
	m, code, reason := parseIncoming(req, time.Now())
	if code != 0 {
		var hdrs []gosip.Header
		if code == 415 {
			hdrs = append(hdrs, gosip.NewHeader("Accept", "text/plain")) // RFC 3261 §21.4.13
		}
		respond(code, reason, hdrs...)
		return
	}
	if !s.in.deliver(m) {
		// RFC 3428 §7: a UAS that cannot take the message now says so.
		respond(480, "Not Listening", gosip.NewHeader("Retry-After", "60"))
		s.log.Warn("MESSAGE refused with 480: no message stream open or every queue full", "from", m.From)
		return
	}
	respond(200, "OK")
}

// parseIncoming turns a MESSAGE into a protocol.Message, or returns the
// status to refuse it with. It checks what sipgo does not: the body's
// media type and charset (RFC 3428 §9: text/plain must be understood;
// others get 415) and that the text is UTF-8.
func parseIncoming(req *gosip.Request, now time.Time) (protocol.Message, int, string) {
	from := req.From()
	if from == nil || from.Address.Host == "" {
		return protocol.Message{}, 400, "Missing From"
	}
	body := req.Body()
	if len(body) == 0 {
		return protocol.Message{}, 400, "Empty MESSAGE"
	}
	if len(body) > maxBody {
		return protocol.Message{}, 413, "Message Too Large"
	}
	ct := req.ContentType()
	if ct == nil {
		// RFC 3261 §20.15: a body needs a Content-Type.
		return protocol.Message{}, 400, "Missing Content-Type"
	}
	mt, params, err := mime.ParseMediaType(ct.Value())
	if err != nil || mt != "text/plain" {
		return protocol.Message{}, 415, "Unsupported Media Type"
	}
	switch strings.ToLower(params["charset"]) {
	case "", "utf-8", "us-ascii":
	default:
		return protocol.Message{}, 415, "Unsupported Charset"
	}
	if !utf8.Valid(body) {
		return protocol.Message{}, 400, "Body Not UTF-8"
	}
	scheme := strings.ToLower(from.Address.Scheme)
	if scheme != "sips" {
		scheme = "sip"
	}
	addr := scheme + ":" + strings.ToLower(from.Address.Host)
	if from.Address.User != "" {
		addr = scheme + ":" + from.Address.User + "@" + strings.ToLower(from.Address.Host)
	}
	m := protocol.Message{From: addr, Type: "chat", Body: string(body), Time: now}
	if to := req.To(); to != nil {
		m.To = to.Address.Addr()
	}
	if cid := req.CallID(); cid != nil {
		m.ID = cid.Value()
	}
	return m, 0, ""
}

// sameHostPort compares host:port strings, IPv6 brackets and case aside.
func sameHostPort(a, b string) bool {
	return strings.EqualFold(strings.NewReplacer("[", "", "]", "").Replace(a), strings.NewReplacer("[", "", "]", "").Replace(b))
}
