package baresip

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// ctrl is our end of baresip's ctrl_tcp socket: JSON objects framed as
// netstrings ("LEN:JSON,"), commands and their responses (matched by
// token) one way, events the other (baresip 1.0 modules/ctrl_tcp).
type ctrl struct {
	conn    net.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	pending map[string]chan response
	seq     uint64
	events  func(event)
	done    chan struct{}
	err     error // why the connection ended, set before done closes
}

// response answers a command: ok says whether it ran, data is what the
// command printed (it may echo secrets, e.g. uanew: never logged).
type response struct {
	Response bool   `json:"response"`
	OK       bool   `json:"ok"`
	Data     string `json:"data"`
	Token    string `json:"token"`
}

// event is a UA event (baresip 1.0 src/event.c event_encode_dict).
type event struct {
	Event      bool   `json:"event"`
	Type       string `json:"type"`
	Class      string `json:"class"`
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"`
	PeerURI    string `json:"peeruri"`
	ID         string `json:"id"` // the SIP Call-ID
	Param      string `json:"param"`
}

// maxNetstring bounds one message: a hostile or broken peer cannot make us
// allocate without limit.
const maxNetstring = 1 << 20

func newCtrl(conn net.Conn, events func(event)) *ctrl {
	c := &ctrl{conn: conn, pending: map[string]chan response{}, events: events, done: make(chan struct{})}
	go c.read()
	return c
}

func (c *ctrl) read() {
	r := bufio.NewReader(c.conn)
	err := func() error {
		for {
			msg, err := readNetstring(r)
			if err != nil {
				return err
			}
			var probe struct {
				Response bool `json:"response"`
				Event    bool `json:"event"`
			}
			if json.Unmarshal(msg, &probe) != nil {
				return fmt.Errorf("baresip ctrl_tcp: not JSON: %.60q", msg)
			}
			switch {
			case probe.Response:
				var res response
				_ = json.Unmarshal(msg, &res)
				c.mu.Lock()
				ch := c.pending[res.Token]
				delete(c.pending, res.Token)
				c.mu.Unlock()
				if ch != nil {
					ch <- res
				}
			case probe.Event:
				var ev event
				_ = json.Unmarshal(msg, &ev)
				c.events(ev)
			}
		}
	}()
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(head[:len(head)-1])
	if err != nil || n < 0 || n > maxNetstring {
		return nil, fmt.Errorf("baresip ctrl_tcp: bad netstring length %.20q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("baresip ctrl_tcp: netstring without its comma")
	}
	return buf[:n], nil
}

// errCtrlClosed: the connection to baresip ended.
var errCtrlClosed = errors.New("baresip control connection closed")

// command runs one command and waits (at most d) for its response.
func (c *ctrl) command(cmd, params string, d time.Duration) (response, error) {
	c.mu.Lock()
	c.seq++
	tok := "t" + strconv.FormatUint(c.seq, 10)
	ch := make(chan response, 1)
	c.pending[tok] = ch
	c.mu.Unlock()
	m := map[string]string{"command": cmd, "token": tok}
	if params != "" {
		m["params"] = params
	}
	body, _ := json.Marshal(m)
	c.wmu.Lock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(d))
	_, err := fmt.Fprintf(c.conn, "%d:%s,", len(body), body)
	c.wmu.Unlock()
	if err != nil {
		c.forget(tok)
		return response{}, fmt.Errorf("baresip %s: %w", cmd, errCtrlClosed)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case res := <-ch:
		return res, nil
	case <-c.done:
		return response{}, fmt.Errorf("baresip %s: %w", cmd, errCtrlClosed)
	case <-t.C:
		c.forget(tok)
		return response{}, fmt.Errorf("baresip %s: no response within %s", cmd, d)
	}
}

func (c *ctrl) forget(tok string) {
	c.mu.Lock()
	delete(c.pending, tok)
	c.mu.Unlock()
}

func (c *ctrl) close() { _ = c.conn.Close() }
