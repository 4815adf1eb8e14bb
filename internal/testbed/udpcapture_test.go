package testbed

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math"
	"net"
	"testing"
	"time"
)

// pcmuTone returns n 20 ms PCMU frames (160 bytes) of a 440 Hz tone.
func pcmuTone(n int) [][]byte {
	frames := make([][]byte, n)
	for f := range frames {
		frames[f] = make([]byte, 160)
		for i := range frames[f] {
			s := 0.5 * math.Sin(2*math.Pi*440*float64(f*160+i)/8000)
			frames[f][i] = linearToULaw(int16(s * math.MaxInt16))
		}
	}
	return frames
}

// linearToULaw is G.711 µ-law encoding (ITU-T G.711 Table 2a).
func linearToULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	sign := byte(0)
	v := int(s)
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := byte(v>>(exp+3)) & 0x0f
	return ^(sign | byte(exp)<<4 | mant)
}

// TestUDPCaptureSynthetic sends the same PCMU frames over loopback twice, once as plain RTP
// and once with the payload AES-CTR encrypted as SRTP's AES_CM does (RFC 3711 §4.1.1; the
// header stays in clear), and checks that the capture finds the frames in the plain stream
// only.
func TestUDPCaptureSynthetic(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a packet socket (root)")
	}
	recv, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	plainSrc, err := net.DialUDP("udp4", nil, recv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer plainSrc.Close()
	srtpSrc, err := net.DialUDP("udp4", nil, recv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer srtpSrc.Close()
	dst := recv.LocalAddr().(*net.UDPAddr).Port
	capt := StartUDPCapture(t, func(src, d int) bool { return d == dst })
	frames := pcmuTone(20)
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		hdr := make([]byte, 12)
		hdr[0] = 0x80
		binary.BigEndian.PutUint16(hdr[2:], uint16(i))
		binary.BigEndian.PutUint32(hdr[4:], uint32(i*160))
		if _, err := plainSrc.Write(append(hdr, f...)); err != nil {
			t.Fatal(err)
		}
		iv := make([]byte, 16)
		binary.BigEndian.PutUint32(iv[4:], 0x1234) // SSRC, index: enough to differ per packet
		binary.BigEndian.PutUint16(iv[12:], uint16(i))
		enc := make([]byte, len(f))
		cipher.NewCTR(block, iv).XORKeyStream(enc, f)
		if _, err := srtpSrc.Write(append(hdr, enc...)); err != nil {
			t.Fatal(err)
		}
	}
	plainPort := plainSrc.LocalAddr().(*net.UDPAddr).Port
	var grams []Datagram
	if err := waitFor(5*time.Second, func() bool { grams, _ = capt.Datagrams(); return len(grams) >= 2*len(frames) }); err != nil {
		t.Fatalf("captured %d datagrams, want %d: %v", len(grams), 2*len(frames), err)
	}
	capt.Stop()
	var plain, srtp []Datagram
	for _, d := range grams {
		if int(d.Src.Port()) == plainPort {
			plain = append(plain, d)
		} else {
			srtp = append(srtp, d)
		}
	}
	if got := PlainAudio(plain, frames); got != len(frames) {
		t.Errorf("PlainAudio(plain RTP) = %d, want %d", got, len(frames))
	}
	if got := PlainAudio(srtp, frames); got != 0 {
		t.Errorf("PlainAudio(encrypted) = %d, want 0", got)
	}
	if pt, p, ok := RTPPayload(plain[0].Payload); !ok || pt != 0 || len(p) != 160 {
		t.Errorf("RTPPayload = %d, %d bytes, %v; want PT 0, 160 bytes", pt, len(p), ok)
	}
}
