package callmedia

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cusax/cusax/pkg/media"
)

// PayloadTypeTelephoneEvent is the dynamic payload type cusax offers for
// RFC 4733 telephone-event/8000. 101 is the de-facto convention; the
// answer's value is what must be used when sending (ParseAnswer).
const PayloadTypeTelephoneEvent uint8 = 101

// dtmfEndRepeats is how often the final (E bit) packet is sent. RFC 4733
// §2.5.1.4: the end packet SHOULD be retransmitted, three times in total
// is the recommended practice, so one lost packet does not leave the
// receiver waiting for the tone to end.
const dtmfEndRepeats = 3

// maxDTMFVolume is the largest volume value: RFC 4733 §2.3.4, 6 bits of
// -dBm0, 0 (loudest) to 63.
const maxDTMFVolume = 63

// RFC 4733 §3.2, table 3: DTMF event codes.
var dtmfCodes = map[rune]uint8{
	'0': 0, '1': 1, '2': 2, '3': 3, '4': 4, '5': 5, '6': 6, '7': 7, '8': 8, '9': 9,
	'*': 10, '#': 11, 'A': 12, 'B': 13, 'C': 14, 'D': 15,
}

const dtmfDigits = "0123456789*#ABCD"

// DTMFEvents returns the RFC 4733 telephone-event payloads (4 bytes each,
// §2.3) for one key press of the given duration, one per ptime:
// in-progress updates whose duration field grows by ptime, then the end
// packet (E bit, final duration) three times. All of them belong to the
// same event, so the caller must send them with one RTP timestamp, the
// event start (§2.5.1.2); see Packetizer.DTMF.
//
// digit is one of 0-9 * # A-D (lower-case a-d accepted). volume is the
// power level in -dBm0, 0..63 (10 is typical). Durations are converted to
// 8 kHz timestamp units; events longer than 65535 units (≈8.2 s) would
// need §2.5.1.3 segmentation and are refused, as are non-positive
// durations or ptime.
func DTMFEvents(digit rune, volume int, duration, ptime time.Duration) ([][]byte, error) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	code, ok := dtmfCodes[digit]
	if !ok {
		return nil, fmt.Errorf("dtmf: %q is not a DTMF digit (want one of %s)", digit, dtmfDigits)
	}
	if volume < 0 || volume > maxDTMFVolume {
		return nil, fmt.Errorf("dtmf: volume %d out of range 0..%d", volume, maxDTMFVolume)
	}
	if duration <= 0 || ptime <= 0 {
		return nil, fmt.Errorf("dtmf: duration %v and ptime %v must be positive", duration, ptime)
	}
	total := durationUnits(duration)
	step := durationUnits(ptime)
	if total > 0xFFFF {
		return nil, fmt.Errorf("dtmf: duration %v exceeds the 16-bit duration field (%v max)", duration, time.Duration(0xFFFF)*time.Second/media.TelephonyRate)
	}
	if step == 0 {
		return nil, fmt.Errorf("dtmf: ptime %v is shorter than one 8 kHz sample", ptime)
	}
	var out [][]byte
	for d := step; d < total; d += step {
		out = append(out, dtmfPayload(code, false, volume, uint16(d)))
	}
	for range dtmfEndRepeats {
		out = append(out, dtmfPayload(code, true, volume, uint16(total)))
	}
	return out, nil
}

func durationUnits(d time.Duration) int64 {
	return int64(d) * media.TelephonyRate / int64(time.Second)
}

// dtmfPayload lays out RFC 4733 §2.3:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	|     event     |E|R| volume    |          duration             |
func dtmfPayload(code uint8, end bool, volume int, duration uint16) []byte {
	b := make([]byte, 4)
	b[0] = code
	b[1] = uint8(volume) & 0x3F // R bit stays 0 (§2.3.3)
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], duration)
	return b
}

// ParseDTMF decodes a received telephone-event payload (RFC 4733 §2.3):
// the digit, whether this is an end packet, and the duration so far in
// 8 kHz timestamp units. It fails for payloads shorter than 4 bytes and
// for event codes that are not DTMF (e.g. 16, flash, which cusax offers
// but does not surface as a digit).
func ParseDTMF(payload []byte) (digit rune, end bool, duration uint16, err error) {
	if len(payload) < 4 {
		return 0, false, 0, fmt.Errorf("dtmf: payload of %d bytes, want 4", len(payload))
	}
	if int(payload[0]) >= len(dtmfDigits) {
		return 0, false, 0, fmt.Errorf("dtmf: event code %d is not a DTMF digit", payload[0])
	}
	return rune(dtmfDigits[payload[0]]), payload[1]&0x80 != 0, binary.BigEndian.Uint16(payload[2:4]), nil
}

// ParseDTMFRelay reads the body of a SIP INFO with Content-Type
// application/dtmf-relay (the de-facto format of Cisco and most PBXes,
// no RFC): "Signal=5\r\nDuration=160\r\n". It returns the digit (0-9 * #
// A-D, upper case); a body without a valid Signal line is an error.
// Lines are bounded so a hostile body costs nothing.
func ParseDTMFRelay(body []byte) (rune, error) {
	if len(body) > 1024 {
		return 0, fmt.Errorf("dtmf-relay: body of %d bytes is too long", len(body))
	}
	for _, line := range strings.FieldsFunc(string(body), func(r rune) bool { return r == '\r' || r == '\n' }) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "signal") {
			continue
		}
		v = strings.ToUpper(strings.TrimSpace(v))
		if len(v) == 1 && strings.Contains(dtmfDigits, v) {
			return rune(v[0]), nil
		}
		// Some senders use the event code (RFC 4733 §3.2) instead.
		if n, err := strconv.Atoi(v); err == nil && n >= 10 && n < len(dtmfDigits) {
			return rune(dtmfDigits[n]), nil
		}
		return 0, fmt.Errorf("dtmf-relay: signal %q is not a DTMF digit", v)
	}
	return 0, errors.New("dtmf-relay: no Signal line")
}
