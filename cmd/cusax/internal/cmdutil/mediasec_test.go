package cmdutil

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// ErrMediaInsecure, however wrapped, is exit 14, also beside a TLS
// sentinel (the refusal is about the media).
func TestExitCodeMediaInsecure(t *testing.T) {
	for _, err := range []error{
		protocol.ErrMediaInsecure,
		fmt.Errorf("call sip:bob@example.com: %w", protocol.ErrMediaInsecure),
		WithHint(fmt.Errorf("x: %w", protocol.ErrMediaInsecure), "fix"),
		errors.Join(protocol.ErrInsecure, protocol.ErrMediaInsecure),
	} {
		if got := ExitCode(err); got != ExitMediaInsecure || ExitMediaInsecure != 14 {
			t.Errorf("ExitCode(%v) = %d, want 14", err, got)
		}
	}
	if !strings.Contains(ExitCodesHelp, "\n  14   call: media encryption required (media_encryption = srtp)") {
		t.Error("help exit-codes does not document 14")
	}
}

func TestMediaEncryptionPrecedence(t *testing.T) {
	a := config.Account{SIP: &config.SIPAspect{MediaEncryption: "none"}}
	if got := MediaEncryption("", a); got != "none" {
		t.Errorf("config only: %q", got)
	}
	if got := MediaEncryption("optional", a); got != "optional" {
		t.Errorf("flag over config: %q", got)
	}
	if got := MediaEncryption("", config.Account{SIP: &config.SIPAspect{}}); got != "" {
		t.Errorf("neither: %q", got)
	}
}

// The backend's names reach the terminal escaped: a hostile plugin cannot
// forge or hide the media line with control characters; without colour
// (NO_COLOR, or not a terminal) the warning has no escape sequence.
func TestReportMediaHostileNames(t *testing.T) {
	io, _, _, errOut := iostreams.Test()
	ReportMedia(io, "", "AES\x1b[2K\rnone", "sdes", "")
	ReportMedia(io, "", protocol.MediaInClear, "", "peer said \x1b]0;pwned\x07")
	got := errOut.String()
	if strings.ContainsAny(got, "\x1b\r\x07") {
		t.Errorf("control characters reached the terminal: %q", got)
	}
	if !strings.Contains(got, "cusax: media: SRTP AES\\x1b[2K\\rnone (SDES)\n") || !strings.Contains(got, "cusax: warning: media in clear (plain RTP): peer said") {
		t.Errorf("stderr %q", got)
	}
}

func TestRequireSRTP(t *testing.T) {
	with := protocol.Info{Capabilities: []protocol.Capability{protocol.CapSRTP}}
	for _, set := range []string{"", "optional", "none"} {
		if err := RequireSRTP(set, protocol.Info{}, "x", "home"); err != nil {
			t.Errorf("%q without srtp: %v", set, err)
		}
	}
	if err := RequireSRTP("srtp", with, "x", "home"); err != nil {
		t.Errorf("srtp with srtp: %v", err)
	}
	err := RequireSRTP("srtp", protocol.Info{}, "third", "home")
	if ExitCode(err) != 14 || !strings.Contains(err.Error(), `"third"`) || len(Hints(err)) != 2 {
		t.Errorf("srtp without: %v (%d, %q)", err, ExitCode(err), Hints(err))
	}
}
