package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// MaxWAVData bounds the data chunk ReadWAV accepts. 64 MiB is about six
// minutes of 44.1 kHz stereo, far more than any call prompt; the bound
// keeps a hostile or corrupt size field from turning into a huge
// allocation.
const MaxWAVData = 64 << 20

// maxFmtChunk bounds the fmt chunk: the largest real one
// (WAVE_FORMAT_EXTENSIBLE) is 40 bytes.
const maxFmtChunk = 1024

// maxWAVRate is a sanity bound on the declared sample rate.
const maxWAVRate = 768000

// ErrUnsupportedWAV is wrapped by ReadWAV errors for well-formed files in
// an encoding this package does not read (so callers can hint "convert to
// 16-bit PCM").
var ErrUnsupportedWAV = errors.New("unsupported wav encoding")

// ErrMalformedWAV is wrapped by ReadWAV errors for files that are not
// valid RIFF/WAVE (truncated, inconsistent sizes, missing chunks).
var ErrMalformedWAV = errors.New("malformed wav")

// WAVE format codes (RFC 2361 appendix A / mmreg.h).
const (
	wavFormatPCM        = 0x0001
	wavFormatIEEEFloat  = 0x0003
	wavFormatALaw       = 0x0006
	wavFormatMuLaw      = 0x0007
	wavFormatExtensible = 0xFFFE
)

// PCM is decoded 16-bit linear audio.
type PCM struct {
	// Rate is the sample rate in Hz.
	Rate int
	// Channels is 1 or 2.
	Channels int
	// Samples holds the frames interleaved (L R L R … for stereo).
	Samples []int16
}

// ReadWAV decodes a RIFF/WAVE file holding 16-bit linear PCM (format 1, or
// WAVE_FORMAT_EXTENSIBLE with the PCM sub-format), one or two channels,
// any sample rate. Unknown chunks (LIST, fact, cue, …) are skipped.
//
// It reads r only up to the end of the data chunk. Errors wrap
// ErrUnsupportedWAV (other encodings, with a hint how to convert) or
// ErrMalformedWAV (truncated or inconsistent input); size fields are never
// trusted beyond MaxWAVData.
func ReadWAV(r io.Reader) (*PCM, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("read riff header: %w: %w", ErrMalformedWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("not a riff/wave file: %w", ErrMalformedWAV)
	}
	var pcm *PCM
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if pcm == nil {
				return nil, fmt.Errorf("no fmt chunk: %w: %w", ErrMalformedWAV, err)
			}
			return nil, fmt.Errorf("no data chunk: %w: %w", ErrMalformedWAV, err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > maxFmtChunk {
				return nil, fmt.Errorf("fmt chunk size %d: %w", size, ErrMalformedWAV)
			}
			buf := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, fmt.Errorf("read fmt chunk: %w: %w", ErrMalformedWAV, err)
			}
			p, err := parseFmt(buf[:size])
			if err != nil {
				return nil, err
			}
			pcm = p
		case "data":
			if pcm == nil {
				return nil, fmt.Errorf("data chunk before fmt chunk: %w", ErrMalformedWAV)
			}
			if size > MaxWAVData {
				return nil, fmt.Errorf("data chunk of %d bytes exceeds the %d byte limit: %w", size, MaxWAVData, ErrMalformedWAV)
			}
			// io.ReadAll grows with what actually arrives, so a lying size
			// on a short file costs no more memory than the file itself.
			data, err := io.ReadAll(io.LimitReader(r, size))
			if err != nil {
				return nil, fmt.Errorf("read data chunk: %w", err)
			}
			if int64(len(data)) != size {
				return nil, fmt.Errorf("data chunk truncated: %d of %d bytes: %w", len(data), size, ErrMalformedWAV)
			}
			frame := 2 * pcm.Channels
			n := len(data) / frame * frame // drop a trailing partial frame
			pcm.Samples = make([]int16, n/2)
			for i := range pcm.Samples {
				pcm.Samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			}
			return pcm, nil
		default:
			// RIFF chunks are word aligned: odd sizes carry a pad byte.
			skip := size + size%2
			if n, err := io.CopyN(io.Discard, r, skip); err != nil {
				return nil, fmt.Errorf("skip %q chunk: %d of %d bytes: %w: %w", id, n, skip, ErrMalformedWAV, err)
			}
		}
	}
}

// parseFmt validates a fmt chunk body (WAVEFORMATEX, optionally
// WAVEFORMATEXTENSIBLE).
func parseFmt(b []byte) (*PCM, error) {
	format := binary.LittleEndian.Uint16(b[0:2])
	channels := int(binary.LittleEndian.Uint16(b[2:4]))
	rate := int64(binary.LittleEndian.Uint32(b[4:8]))
	blockAlign := int(binary.LittleEndian.Uint16(b[12:14]))
	bits := int(binary.LittleEndian.Uint16(b[14:16]))
	if format == wavFormatExtensible {
		// WAVEFORMATEXTENSIBLE: cbSize(2) validBits(2) channelMask(4)
		// then the sub-format GUID whose first two bytes are the
		// classic format code.
		if len(b) < 40 {
			return nil, fmt.Errorf("extensible fmt chunk of %d bytes: %w", len(b), ErrMalformedWAV)
		}
		format = binary.LittleEndian.Uint16(b[24:26])
	}
	switch format {
	case wavFormatPCM:
	case wavFormatIEEEFloat:
		return nil, fmt.Errorf("IEEE float WAV is not supported: convert to 16-bit PCM: %w", ErrUnsupportedWAV)
	case wavFormatMuLaw:
		return nil, fmt.Errorf("μ-law WAV is not supported: convert to 16-bit PCM: %w", ErrUnsupportedWAV)
	case wavFormatALaw:
		return nil, fmt.Errorf("A-law WAV is not supported: convert to 16-bit PCM: %w", ErrUnsupportedWAV)
	default:
		return nil, fmt.Errorf("WAV format 0x%04x is not supported: convert to 16-bit PCM: %w", format, ErrUnsupportedWAV)
	}
	if bits != 16 {
		return nil, fmt.Errorf("%d-bit PCM is not supported: convert to 16-bit: %w", bits, ErrUnsupportedWAV)
	}
	if channels < 1 || channels > 2 {
		return nil, fmt.Errorf("%d channels are not supported: convert to mono or stereo: %w", channels, ErrUnsupportedWAV)
	}
	if rate < 1 || rate > maxWAVRate {
		return nil, fmt.Errorf("sample rate %d Hz: %w", rate, ErrMalformedWAV)
	}
	if blockAlign != 2*channels {
		return nil, fmt.Errorf("block align %d for %d channels of 16-bit: %w", blockAlign, channels, ErrMalformedWAV)
	}
	return &PCM{Rate: int(rate), Channels: channels}, nil
}

// WriteWAV writes mono 16-bit PCM at rate Hz as a canonical 44-byte-header
// RIFF/WAVE file (used by --record). It fails only on invalid arguments or
// on a write error from w.
func WriteWAV(w io.Writer, rate int, samples []int16) error {
	if rate < 1 || rate > maxWAVRate {
		return fmt.Errorf("write wav: invalid sample rate %d", rate)
	}
	dataLen := int64(len(samples)) * 2
	if dataLen > math.MaxUint32-36 {
		return fmt.Errorf("write wav: %d samples do not fit in a riff file", len(samples))
	}
	buf := make([]byte, 44+dataLen)
	copy(buf[0:], "RIFF")
	binary.LittleEndian.PutUint32(buf[4:], uint32(36+dataLen))
	copy(buf[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(buf[16:], 16)
	binary.LittleEndian.PutUint16(buf[20:], wavFormatPCM)
	binary.LittleEndian.PutUint16(buf[22:], 1)              // channels
	binary.LittleEndian.PutUint32(buf[24:], uint32(rate))   // sample rate
	binary.LittleEndian.PutUint32(buf[28:], uint32(rate)*2) // byte rate
	binary.LittleEndian.PutUint16(buf[32:], 2)              // block align
	binary.LittleEndian.PutUint16(buf[34:], 16)             // bits per sample
	copy(buf[36:], "data")
	binary.LittleEndian.PutUint32(buf[40:], uint32(dataLen))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(buf[44+2*i:], uint16(s))
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}
