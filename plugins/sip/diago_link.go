package sip

// Evaluation only (docs/diago-evaluation.md): links github.com/emiago/diago
// into the backend the way an answering backend built on it would, so that
// start-up time and binary size can be measured. Nothing here runs unless
// the closure stored by newSession is called, and nothing calls it.

import (
	"context"
	"os"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
)

// diagoOnUA builds diago on the session's own UA and server: diago
// installs its INVITE/ACK/BYE/INFO/OPTIONS handlers on srv.
func diagoOnUA(ua *sipgo.UserAgent, srv *sipgo.Server, srtp bool) *diago.Diago {
	t := diago.Transport{Transport: "udp", BindHost: "127.0.0.1"}
	if srtp {
		t.MediaSRTP = 1 // SDES (RFC 4568)
	}
	return diago.NewDiago(ua,
		diago.WithServer(srv),
		diago.WithTransport(t),
		diago.WithMediaConfig(diago.MediaConfig{
			Codecs:       []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000},
			SecureRTPAlg: media.SRTPProfileAes128CmHmacSha1_80,
		}))
}

// diagoAnswer is what Answer would do with diago: ring, answer, play,
// record both directions, read DTMF, hang up.
func diagoAnswer(ctx context.Context, d *diago.DialogServerSession, play string, rec *os.File) (string, error) {
	if err := d.Ringing(); err != nil {
		return "", err
	}
	m, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		return "", err
	}
	r, err := m.AudioStereoRecordingCreate(rec)
	if err != nil {
		return "", err
	}
	defer r.Close()
	pb, err := m.PlaybackCreate()
	if err != nil {
		return "", err
	}
	if _, err := pb.PlayFile(play); err != nil {
		return "", err
	}
	dr, err := m.AudioReaderDTMF()
	if err != nil {
		return "", err
	}
	var digits []rune
	_ = dr.Listen(func(r rune) error { digits = append(digits, r); return nil }, time.Second)
	return string(digits), d.Hangup(ctx)
}
