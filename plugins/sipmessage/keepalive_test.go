package sipmessage

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/cusax/cusax/pkg/protocol"
)

// An idle registered flow gets RFC 5626 §4.4.1 double-CRLF pings, so a
// proxy that closes idle connections does not cut it. A registrar of a
// few lines here (it must see the raw bytes): it answers the REGISTER and
// then waits for CRLFCRLF.
func TestIdleFlowIsKeptAlive(t *testing.T) {
	defer func(d time.Duration) { keepaliveEvery = d }(keepaliveEvery)
	keepaliveEvery = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pinged := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			pinged <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		var head bytes.Buffer
		for !strings.HasSuffix(head.String(), "\r\n\r\n") {
			b, err := r.ReadByte()
			if err != nil {
				pinged <- err
				return
			}
			head.WriteByte(b)
		}
		msg, err := gosip.ParseMessage(head.Bytes())
		if err != nil {
			pinged <- err
			return
		}
		res := gosip.NewResponseFromRequest(msg.(*gosip.Request), 200, "OK", nil)
		if _, err := c.Write([]byte(res.String())); err != nil {
			pinged <- err
			return
		}
		buf := make([]byte, 4)
		_, err = r.Read(buf[:])
		if err == nil && string(buf) != "\r\n\r\n" {
			err = &net.AddrError{Err: "not a CRLF ping: " + strings.ReplaceAll(string(buf), "\r", `\r`)}
		}
		pinged <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := New(nil).Connect(ctx, protocol.ConnectRequest{Address: "sip:a@example.test", Password: "p",
		Server: "sip:" + ln.Addr().String() + ";transport=tcp", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	defer s.Close(ctx)
	select {
	case err := <-pinged:
		if err != nil {
			t.Fatalf("registrar: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("no keep-alive within 10 s")
	}
}
