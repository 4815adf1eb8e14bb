package sip

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// tlsUAS is an in-test SIP callee over TLS on loopback with one RTP
// socket: the peer of the hostile media tests (srtp_peer_test.go,
// dtls_peer_test.go), which decide only what its SDP answer says and what
// it does with the media.
type tlsUAS struct {
	addr  string
	rtp   *net.UDPConn
	acked chan struct{} // our ACK arrived
	bye   chan struct{} // our BYE arrived
}

// startTLSUAS answers each INVITE with answer's result: a 200 with the
// SDP body, or status (≥ 300) without one. rtpPort is its RTP socket's.
func startTLSUAS(t *testing.T, cert *tls.Certificate, answer func(req *gosip.Request, rtpPort int) (body []byte, status int)) *tlsUAS {
	t.Helper()
	u := &tlsUAS{acked: make(chan struct{}, 1), bye: make(chan struct{}, 1)}
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	if u.rtp, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.rtp.Close() })
	port := u.rtp.LocalAddr().(*net.UDPAddr).Port
	srv.OnInvite(func(req *gosip.Request, tx gosip.ServerTransaction) {
		body, status := answer(req, port)
		if status >= 300 {
			_ = tx.Respond(gosip.NewResponseFromRequest(req, status, reasonFor(status), nil))
			return
		}
		res := gosip.NewResponseFromRequest(req, 200, "OK", body)
		if !res.To().Params.Has("tag") {
			res.To().Params.Add("tag", randomToken(8))
		}
		res.AppendHeader(&gosip.ContactHeader{Address: gosip.Uri{Scheme: "sip", User: "peer", Host: "127.0.0.1"}})
		res.AppendHeader(gosip.NewHeader("Content-Type", "application/sdp"))
		_ = tx.Respond(res)
	})
	srv.OnAck(func(req *gosip.Request, tx gosip.ServerTransaction) {
		select {
		case u.acked <- struct{}{}:
		default:
		}
	})
	srv.OnBye(func(req *gosip.Request, tx gosip.ServerTransaction) {
		_ = tx.Respond(gosip.NewResponseFromRequest(req, 200, "OK", nil))
		select {
		case u.bye <- struct{}{}:
		default:
		}
	})
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	u.addr = l.Addr().String()
	go func() { _ = srv.ServeTLS(l) }()
	return u
}

func reasonFor(status int) string {
	switch status {
	case 488:
		return "Not Acceptable Here"
	case 500:
		return "Server Error"
	}
	return "Refused"
}
