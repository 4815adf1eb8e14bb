package cmdutil

import (
	"fmt"
	"strings"

	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// allowPlaintext is this invocation's --allow-plaintext.
func (f *Factory) allowPlaintext() bool { return f.AllowPlaintext != nil && f.AllowPlaintext() }

// applyPlaintext makes authenticating without TLS a decision of this
// invocation alone (issue 13 item 9; RFC 7590 §3.1 allows a fallback to
// plaintext only by explicit local policy): every account's
// allow_plaintext becomes --allow-plaintext, whatever the file says. A
// value stored by an older cusax is ignored, with a warning on stderr on
// every run that reads it; a later login saves the account without it.
func (f *Factory) applyPlaintext(cfg *config.Config, path string) {
	allow := f.allowPlaintext()
	var stored []string
	for i := range cfg.Accounts {
		a := &cfg.Accounts[i]
		if a.XMPP != nil {
			if a.XMPP.AllowPlaintext {
				stored = append(stored, a.Name+".xmpp")
			}
			a.XMPP.AllowPlaintext = allow
		}
		if a.SIP != nil {
			if a.SIP.AllowPlaintext {
				stored = append(stored, a.Name+".sip")
			}
			a.SIP.AllowPlaintext = allow
		}
	}
	if len(stored) == 0 || f.IO == nil {
		return
	}
	f.plaintextWarned.Do(func() {
		fmt.Fprintf(f.IO.ErrOut, "cusax: warning: allow_plaintext in %s (%s) is ignored: logging in without TLS needs --allow-plaintext on each command; 'cusax login --name NAME' saves the account without it\n",
			path, strings.Join(stored, ", "))
	})
}

// WarnPlaintext says, on stderr, that a login just went without TLS: the
// user asked for it on this invocation, and it is never silent.
func (f *Factory) WarnPlaintext(aspect string, rep protocol.ConnectionReport) {
	if rep.Encrypted || f.IO == nil {
		return
	}
	// SCRAM (RFC 5802) never sends the password, but what it sends lets an
	// eavesdropper guess it offline; PLAIN (RFC 4616) sends it as is.
	what := "SASL " + rep.AuthMechanism + " did not send the password, but an eavesdropper can try to guess it offline; everything in this session can be read and altered on the way"
	if strings.EqualFold(rep.AuthMechanism, "PLAIN") {
		what = "SASL PLAIN sent the password itself in clear; everything in this session can be read and altered on the way"
	}
	fmt.Fprintf(f.IO.ErrOut, "cusax: warning: %s: logged in to %s without TLS (--allow-plaintext): %s\n", aspect, rep.Server, what)
}

// plaintextHint explains an ErrInsecure login failure.
func (f *Factory) plaintextHint(err error) error {
	if err == nil || f.allowPlaintext() {
		return err
	}
	return WithHint(err, "the server offers no TLS: nothing secret was sent; 'cusax --allow-plaintext …' logs in without TLS for that one command (credentials and messages unprotected)")
}
