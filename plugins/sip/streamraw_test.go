package sip

import (
	"strings"
	"testing"
)

// TestFramer: the TCP/TLS framer cuts the stream into messages whatever the reads look like
// (RFC 3261 §18.3), skips keep-alives (RFC 5626 §3.5.1) and gives up on a stream it cannot
// frame rather than guess.
func TestFramer(t *testing.T) {
	inv := "INVITE sip:a@b SIP/2.0\r\nCall-ID: 1\r\nContent-Length:   4\r\n\r\nv=0\n"
	opt := "OPTIONS sip:a@b SIP/2.0\r\nl: 0\r\n\r\n"
	for _, c := range []struct {
		name   string
		reads  []string
		want   []string
		isSkip bool
	}{
		{"one read", []string{inv}, []string{inv}, false},
		{"byte by byte", strings.Split(inv, ""), []string{inv}, false},
		{"two in one read, keep-alive between", []string{inv + "\r\n\r\n" + opt}, []string{inv, opt}, false},
		{"split in the body", []string{inv[:len(inv)-2], inv[len(inv)-2:] + opt[:5], opt[5:]}, []string{inv, opt}, false},
		{"no Content-Length", []string{"INVITE sip:a@b SIP/2.0\r\nCall-ID: 1\r\n\r\n", inv}, nil, true},
		{"absurd Content-Length", []string{"INVITE sip:a@b SIP/2.0\r\nContent-Length: 99999999\r\n\r\n"}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f framer
			var got []string
			for _, r := range c.reads {
				for _, m := range f.feed([]byte(r)) {
					got = append(got, string(m))
				}
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") || f.skip != c.isSkip {
				t.Errorf("messages %q (skip %v), want %q (skip %v)", got, f.skip, c.want, c.isSkip)
			}
		})
	}
}

// FuzzFramer: any bytes, in any two reads: no panic, and the messages never add up to more
// than was fed.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("INVITE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nab\r\nBYE x SIP/2.0\r\nl:0\r\n\r\n"), 7)
	f.Add([]byte("\r\n\r\nX\r\n\r\n"), 1)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		if cut < 0 || cut > len(data) {
			cut = len(data) / 2
		}
		var fr framer
		total := 0
		for _, part := range [][]byte{data[:cut], data[cut:]} {
			for _, m := range fr.feed(part) {
				total += len(m)
			}
		}
		if total > len(data) {
			t.Fatalf("framed %d bytes out of %d", total, len(data))
		}
	})
}
