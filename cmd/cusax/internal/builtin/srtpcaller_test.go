package builtin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/cusax/cusax/internal/testbed"
	"github.com/cusax/cusax/pkg/protocol/protocoltest"
	"github.com/cusax/cusax/plugins/sip/callmedia"
)

// sippSRTPCall is the suite's SRTP-only caller (Env.CallGoodWithSRTP):
// sipp signals through Kamailio with an RTP/SAVP offer carrying one
// AES_CM_128_HMAC_SHA1_80 a=crypto line (RFC 4568) that points at a local
// socket, and this function plays the caller's media there: once Good's
// first packet shows where to send, a 440 Hz PCMU tone as SRTP under the
// offered key, 20 ms apart, while it counts the RTP packets Good sends.
// sipp hangs up after call.HangUpAfter or waits for Good's BYE.
func sippSRTPCall(ctx context.Context, bed *testbed.Bed, from, to string, call protocoltest.MediaCall) (protocoltest.MediaCallResult, error) {
	res := protocoltest.MediaCallResult{RTPReceived: -1}
	if call.DTMF != "" || call.WantStatus != 0 {
		return res, errors.New("the SRTP caller sends no DTMF and expects an answer")
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return res, err
	}
	defer conn.Close()
	key, err := callmedia.NewCrypto(1, callmedia.SuiteAESCM128SHA1_80)
	if err != nil {
		return res, err
	}
	sdp := fmt.Sprintf("v=0\r\no=srtpcaller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/SAVP 0\r\na=crypto:%s\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		conn.LocalAddr().(*net.UDPAddr).Port, key.Attribute())
	opts := testbed.SippCallOptions{From: from, To: to, CallID: call.CallID, SDP: sdp}
	if call.HangUpAfter > 0 {
		opts.Hold = call.HangUpAfter
		res.SentBye = true
	} else {
		opts.AwaitBye = true
		res.GotBye = true
	}
	var received atomic.Int64
	mediaDone := make(chan error, 1)
	go func() { mediaDone <- srtpCallerMedia(conn, key, &received) }()
	_, err = bed.SippCall(ctx, opts)
	_ = conn.SetReadDeadline(time.Now()) // ends the media
	merr := <-mediaDone
	if err != nil {
		return protocoltest.MediaCallResult{RTPReceived: -1}, err
	}
	if merr != nil {
		return res, merr
	}
	res.Status, res.RTPReceived = 200, received.Load()
	return res, nil
}

// srtpCallerMedia waits (30 s at most) for Good's first packet, then sends
// SRTP every 20 ms to where it came from and counts what arrives, until a
// read fails (the deadline sippSRTPCall sets when sipp is done).
func srtpCallerMedia(conn *net.UDPConn, key callmedia.Crypto, received *atomic.Int64) error {
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 2048)
	n, peer, err := conn.ReadFromUDP(buf)
	if err != nil {
		return nil // no answer, or a refusal: sipp says what happened
	}
	if _, _, ok := testbed.RTPPayload(buf[:n]); ok {
		received.Add(1)
	}
	enc, err := srtp.CreateContext(key.Key[:16], key.Key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		return err
	}
	tone := make([]int16, 160)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	payload, err := callmedia.Encode(callmedia.PayloadTypePCMU, tone)
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for {
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if _, _, ok := testbed.RTPPayload(buf[:n]); ok {
				received.Add(1)
			}
		}
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(160 * i), SSRC: 0xca11e2}, Payload: payload}).Marshal()
		if err != nil {
			return err
		}
		out, err := enc.EncryptRTP(nil, raw, nil)
		if err != nil {
			return err
		}
		_, _ = conn.WriteToUDP(out, peer)
	}
}
