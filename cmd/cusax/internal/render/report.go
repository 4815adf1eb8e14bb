// Package render prints connection reports for people: the RFC 7590 §3.6
// human factors (encrypted?, TLS version, cipher, how the server was
// authenticated, the certificate) for each aspect, labelled as RFC 7081 §2
// suggests ("Telephony" for SIP, "Chat" for XMPP).
package render

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/protocol"
)

// Aspect prints one aspect's outcome.
func Aspect(w io.Writer, s *iostreams.IOStreams, a session.AspectResult) {
	label := fmt.Sprintf("%-10s", a.Aspect.Label())
	switch {
	case !a.Configured:
		fmt.Fprintf(w, "%s %s\n", s.Bold(label), "not configured")
		return
	case a.Skipped != "":
		fmt.Fprintf(w, "%s %s  %s\n", s.Bold(label), s.Yellow("skipped"), a.Skipped)
		return
	case a.Err != nil:
		fmt.Fprintf(w, "%s %s  %s\n", s.Bold(label), s.Red("failed"), oneLine(bare(a.Err).Error()))
		return
	}
	r := a.Report
	fmt.Fprintf(w, "%s %s  %s\n", s.Bold(label), s.Green(r.State), r.Address)
	row := func(k, v string) { fmt.Fprintf(w, "  %-12s %s\n", k, v) }
	row("server", fmt.Sprintf("%s over %s (backend %s)", r.Server, strings.ToUpper(r.Transport), r.Backend))
	if r.TLS == nil {
		row("encrypted", s.Red("no"))
	} else {
		t := r.TLS
		row("encrypted", s.Green("yes")+", "+t.Version+", "+t.CipherSuite)
		verified := s.Green("verified")
		if !t.Verified {
			verified = s.Red("NOT verified")
		}
		row("server auth", fmt.Sprintf("%s (%s)", t.ServerAuth, verified))
		leaf := t.Leaf()
		row("certificate", leaf.Subject)
		row("  issuer", leaf.Issuer)
		row("  expires", leaf.NotAfter.Format(time.RFC3339)+fmt.Sprintf(" (in %s)", until(leaf.NotAfter)))
		row("  sha256", fingerprint(leaf.SHA256))
	}
	auth := r.AuthMechanism
	if len(r.AuthOffered) > 0 {
		auth += " (offered: " + strings.Join(r.AuthOffered, ", ") + ")"
	}
	row("auth", auth)
	if r.Aspect == protocol.AspectChat && r.StartTLSAttempted && !r.StartTLSAdvertised && r.Encrypted {
		row("note", "STARTTLS was not advertised but was attempted and worked (RFC 7590 §3.1)")
	}
	for _, n := range r.Notes {
		row("note", n)
	}
	row("time", fmt.Sprintf("%d ms", r.Elapsed.Milliseconds()))
}

// bare drops the "Chat: " prefix the row label already shows.
func bare(err error) error {
	var ae *session.AspectError
	if errors.As(err, &ae) {
		return ae.Err
	}
	return err
}

func until(t time.Time) string {
	d := time.Until(t)
	if d < 0 {
		return "expired"
	}
	if d > 48*time.Hour {
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	return d.Round(time.Minute).String()
}

// fingerprint groups hex digits as AB:CD:… for reading aloud.
func fingerprint(hex string) string {
	var parts []string
	for i := 0; i+2 <= len(hex); i += 2 {
		parts = append(parts, strings.ToUpper(hex[i:i+2]))
	}
	return strings.Join(parts, ":")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// AspectJSON is the JSON form of one aspect.
type AspectJSON struct {
	Aspect     string                     `json:"aspect"`
	Label      string                     `json:"label"`
	Configured bool                       `json:"configured"`
	State      string                     `json:"state"`
	Error      string                     `json:"error,omitempty"`
	Skipped    string                     `json:"skipped,omitempty"`
	Report     *protocol.ConnectionReport `json:"report,omitempty"`
	StartedAt  *time.Time                 `json:"started_at,omitempty"`
	FinishedAt *time.Time                 `json:"finished_at,omitempty"`
}

// JSONAspect converts an aspect result for --json.
func JSONAspect(a session.AspectResult) AspectJSON {
	out := AspectJSON{Aspect: string(a.Aspect), Label: a.Aspect.Label(), Configured: a.Configured, Report: a.Report, Skipped: a.Skipped}
	if !a.Started.IsZero() {
		s, e := a.Started.UTC(), a.Finished.UTC()
		out.StartedAt, out.FinishedAt = &s, &e
	}
	switch {
	case !a.Configured:
		out.State = "not-configured"
	case a.Skipped != "":
		out.State = "skipped"
	case a.Err != nil:
		out.State, out.Error = "failed", oneLine(a.Err.Error())
	default:
		out.State = a.Report.State
	}
	return out
}
