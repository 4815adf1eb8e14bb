package fake_test

import (
	"errors"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/cusax/cusax/pkg/protocol/fake"
)

// The fake keeps the media-encryption contract (protocol.MediaEncryption*)
// for calls placed, so that command tests of `cusax call` learn what a
// real backend with CapSRTP would report.
func TestDialMediaEncryption(t *testing.T) {
	const (
		srtp, optional, none = protocol.MediaEncryptionSRTP, protocol.MediaEncryptionOptional, protocol.MediaEncryptionNone
		suite, clear         = fake.SRTPSuite, protocol.MediaInClear
	)
	for _, tc := range []struct {
		name    string
		setting string
		plain   bool // the caller's SIP flow is not TLS
		callee  fake.MediaMode
		dialErr bool   // Dial refuses, nothing is dialled
		refused bool   // the stream ends with ErrMediaInsecure
		status  int    // the final status otherwise
		prot    string // its MediaProtection
		note    bool   // a Note says why media is in clear
	}{
		{name: "default over TLS protects", callee: fake.MediaSRTPOrPlain, status: 200, prot: suite},
		{name: "default over TLS to a plain callee is refused", callee: fake.MediaPlain, refused: true},
		{name: "default off TLS is plain", plain: true, status: 200, prot: clear, note: true},
		{name: "default off TLS to an SRTP-only callee: 488", plain: true, callee: fake.MediaSRTPOnly, status: 488, note: true},
		{name: "srtp to SRTP-only", setting: srtp, callee: fake.MediaSRTPOnly, status: 200, prot: suite},
		{name: "srtp to plain", setting: srtp, callee: fake.MediaPlain, refused: true},
		{name: "srtp off TLS", setting: srtp, plain: true, dialErr: true},
		{name: "optional to plain", setting: optional, callee: fake.MediaPlain, status: 200, prot: clear, note: true},
		{name: "optional off TLS", setting: optional, plain: true, status: 200, prot: clear, note: true},
		{name: "none", setting: none, status: 200, prot: clear},
		{name: "none to SRTP-only: 488", setting: none, callee: fake.MediaSRTPOnly, status: 488, note: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fake.NewService(fake.Account{Address: alice, Password: "sa", PlainSignalling: tc.plain})
			const bob = "sip:bob@example.com"
			s.Answer(bob)
			s.CalleeMedia(bob, tc.callee)
			sess, err := s.Telephony().Connect(ctx(t), protocol.ConnectRequest{Address: alice, Password: "sa"})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close(ctx(t))
			st, err := sess.Dial(ctx(t), protocol.DialRequest{Target: bob, Media: protocol.MediaOptions{Encryption: tc.setting, Duration: 1}})
			if tc.dialErr {
				if !errors.Is(err, protocol.ErrMediaInsecure) || len(s.Dialled()) != 0 {
					t.Fatalf("Dial: %v, dialled %d; want ErrMediaInsecure and nothing dialled", err, len(s.Dialled()))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var last protocol.CallEvent
			for {
				ev, err := st.Recv()
				if tc.refused {
					if ev.Answered {
						t.Fatalf("an answered event %+v reached the host of a refused call", ev)
					}
					if err != nil {
						if !errors.Is(err, protocol.ErrMediaInsecure) {
							t.Fatalf("stream ended with %v, want ErrMediaInsecure", err)
						}
						return
					}
					continue
				}
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				if ev.Final {
					last = ev
					break
				}
			}
			if last.StatusCode != tc.status || last.MediaProtection != tc.prot || (last.Note != "") != tc.note {
				t.Errorf("final %+v: want status %d, protection %q, note %v", last, tc.status, tc.prot, tc.note)
			}
			if tc.prot == suite && last.MediaKeying != protocol.KeyingSDES {
				t.Errorf("keying %q, want sdes", last.MediaKeying)
			}
		})
	}
	t.Run("unknown setting", func(t *testing.T) {
		s := service()
		sess, _ := s.Telephony().Connect(ctx(t), protocol.ConnectRequest{Address: alice, Password: "sa"})
		defer sess.Close(ctx(t))
		if _, err := sess.Dial(ctx(t), protocol.DialRequest{Target: "sip:bob@example.com", Media: protocol.MediaOptions{Encryption: "zrtp"}}); !errors.Is(err, protocol.ErrInvalid) {
			t.Errorf("Dial with zrtp: %v, want ErrInvalid", err)
		}
	})
}

// The same for calls answered: an offer the setting refuses gets 488 and a
// final event saying why; a taken call reports its protection.
func TestAnswerMediaEncryption(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setting string
		plain   bool
		caller  fake.MediaMode
		status  int
		prot    string
	}{
		{name: "default over TLS", status: 200, prot: fake.SRTPSuite},
		{name: "default over TLS, plain caller: 488", caller: fake.MediaPlain, status: 488},
		{name: "optional, plain caller", setting: protocol.MediaEncryptionOptional, caller: fake.MediaPlain, status: 200, prot: protocol.MediaInClear},
		{name: "SRTP-only caller off TLS: 488", plain: true, caller: fake.MediaSRTPOnly, status: 488},
		{name: "SRTP-only caller, none: 488", setting: protocol.MediaEncryptionNone, caller: fake.MediaSRTPOnly, status: 488},
		{name: "SRTP-only caller, srtp", setting: protocol.MediaEncryptionSRTP, caller: fake.MediaSRTPOnly, status: 200, prot: fake.SRTPSuite},
		{name: "default off TLS", plain: true, status: 200, prot: protocol.MediaInClear},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fake.NewService(fake.Account{Address: alice, Password: "sa", PlainSignalling: tc.plain})
			a := answering(t, s)
			id, _ := s.Ring(alice, protocol.IncomingCall{})
			s.CallerMedia(id, tc.caller)
			st, err := a.Answer(ctx(t), protocol.AnswerRequest{CallID: id, Duration: 1, Encryption: tc.setting})
			if err != nil {
				t.Fatal(err)
			}
			evs := events(t, st)
			last := evs[len(evs)-1]
			if last.StatusCode != tc.status || last.MediaProtection != tc.prot {
				t.Errorf("final %+v: want %d, protection %q", last, tc.status, tc.prot)
			}
			if tc.status == 488 {
				if last.HungUpBy != protocol.HungUpByError || last.Note == "" || len(evs) != 1 {
					t.Errorf("a refused offer: events %+v, want only a final one by error with a note", evs)
				}
				end, err := s.CallerEnd(ctx(t), id)
				if err != nil || end.Status != 488 {
					t.Errorf("the caller saw %+v, %v; want 488", end, err)
				}
			}
		})
	}
}

// Register reports the account's transport: UDP for PlainSignalling.
func TestPlainSignallingReport(t *testing.T) {
	s := fake.NewService(fake.Account{Address: alice, Password: "sa", PlainSignalling: true})
	sess, err := s.Telephony().Connect(ctx(t), protocol.ConnectRequest{Address: alice, Password: "sa"})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx(t))
	rep, err := sess.Register(ctx(t), protocol.RegisterRequest{})
	if err != nil || rep.Transport != "udp" || rep.Encrypted || rep.TLS != nil {
		t.Errorf("report %+v, %v: want udp, not encrypted", rep, err)
	}
}

// A fake told not to declare CapSRTP behaves as a backend without it: it
// does not read Encryption (not even "srtp") and reports no protection.
func TestDialWithoutSRTPCapability(t *testing.T) {
	s := service()
	s.Answer("sip:bob@example.com")
	s.CalleeMedia("sip:bob@example.com", fake.MediaPlain)
	sess, err := s.Telephony(protocol.CapDial).Connect(ctx(t), protocol.ConnectRequest{Address: alice, Password: "sa"})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(ctx(t))
	st, err := sess.Dial(ctx(t), protocol.DialRequest{Target: "sip:bob@example.com", Media: protocol.MediaOptions{Encryption: protocol.MediaEncryptionSRTP, Duration: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		ev, err := st.Recv()
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if ev.MediaProtection != "" {
			t.Errorf("event %+v: a backend without srtp reports no protection", ev)
		}
		if ev.Final {
			if !ev.Answered {
				t.Errorf("final %+v: want answered", ev)
			}
			return
		}
	}
}
