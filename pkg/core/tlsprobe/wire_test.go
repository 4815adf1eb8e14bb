package tlsprobe

import (
	"slices"
	"testing"
)

// serverHelloRecord builds a TLS 1.2 ServerHello record with the given
// extensions (type, data) and, if hint >= 0, a NewSessionTicket record.
func serverFlight(suite uint16, exts [][2][]byte, hint int) []byte {
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)
	body = append(body, 0, byte(suite>>8), byte(suite), 0)
	var e []byte
	for _, x := range exts {
		e = append(e, x[0]...)
		e = append(e, byte(len(x[1])>>8), byte(len(x[1])))
		e = append(e, x[1]...)
	}
	body = append(body, byte(len(e)>>8), byte(len(e)))
	body = append(body, e...)
	rec := func(typ byte, b []byte) []byte {
		hs := append([]byte{typ, 0, byte(len(b) >> 8), byte(len(b))}, b...)
		return append([]byte{22, 3, 3, byte(len(hs) >> 8), byte(len(hs))}, hs...)
	}
	out := rec(typeServerHello, body)
	if hint >= 0 {
		out = append(out, rec(typeNewSessionTicket, []byte{0, 0, byte(hint >> 8), byte(hint), 0, 0})...)
	}
	return append(out, 20, 3, 3, 0, 1, 1) // ChangeCipherSpec ends the plaintext
}

func TestParseServerFlight(t *testing.T) {
	// Only renegotiation_info: no EMS, no ticket (a server crypto/tls
	// cannot imitate).
	sh := parseServerFlight(serverFlight(0xc02f, [][2][]byte{{{0xff, 0x01}, {0}}}, -1))
	if sh == nil || sh.CipherSuite != "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" || sh.Version != "TLS 1.2" ||
		!sh.SecureRenegotiation || sh.ExtendedMasterSecret || sh.SessionTicket || sh.TicketIssued {
		t.Errorf("got %+v", sh)
	}
	sh = parseServerFlight(serverFlight(0x0005, [][2][]byte{{{0x00, 0x17}, nil}, {{0x00, 0x23}, nil}}, 7200))
	if sh == nil || !sh.ExtendedMasterSecret || sh.SecureRenegotiation || !sh.TicketIssued || sh.TicketLifetimeHint != 7200 ||
		!slices.Equal(sh.Extensions, []uint16{0x17, 0x23}) {
		t.Errorf("got %+v", sh)
	}
	if parseServerFlight([]byte{21, 3, 3, 0, 2, 2, 40}) != nil {
		t.Error("alert parsed as a ServerHello")
	}
}

func TestReverseHelloSuites(t *testing.T) {
	rec := []byte{22, 3, 1, 0, 0, typeClientHello, 0, 0, 0, 3, 3}
	rec = append(rec, make([]byte, 32)...)
	rec = append(rec, 0, 0, 6, 0xc0, 0x2f, 0xc0, 0x13, 0x00, 0x05, 1, 0)
	if got := clientHelloSuites(rec); !slices.Equal(got, []uint16{0xc02f, 0xc013, 0x0005}) {
		t.Fatalf("suites %x", got)
	}
	reverseHelloSuites(rec)
	if got := clientHelloSuites(rec); !slices.Equal(got, []uint16{0x0005, 0xc013, 0xc02f}) {
		t.Fatalf("reversed %x", got)
	}
}

func FuzzParseServerFlight(f *testing.F) {
	f.Add(serverFlight(0xc02f, [][2][]byte{{{0xff, 0x01}, {0}}, {{0x00, 0x2b}, {3, 4}}}, 60))
	f.Add([]byte{22, 3, 3, 0, 4, 2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = parseServerFlight(b)
		c := slices.Clone(b)
		reverseHelloSuites(c)
		_ = clientHelloSuites(c)
	})
}
