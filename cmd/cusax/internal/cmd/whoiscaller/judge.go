package whoiscaller

import (
	"fmt"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/callerjudge"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
)

// newJudge is the shared judge (pkg/core/callerjudge) for the account:
// the same code and verdicts as `cusax answer`.
func newJudge(o *Options, acct config.Account, region string) *callerjudge.Judge {
	jid := ""
	if acct.XMPP != nil {
		jid = acct.XMPP.JID
	}
	return callerjudge.New(callerjudge.Options{
		Account: acct.Name, JID: jid, Region: region, TTL: o.TTL, Refresh: o.Refresh, Warn: o.F.IO.ErrOut,
		Chat: func() (*session.ChatSession, error) {
			if acct.XMPP == nil {
				return nil, cmdutil.Usagef("account %s has no XMPP roster to judge callers against", acct.Name)
			}
			return o.F.OpenChat(acct, o.Timeout)
		},
	})
}

// output is one judged call as printed.
type output struct {
	callerid.Result
	CallID   string `json:"call_id,omitempty"`
	Remote   string `json:"remote,omitempty"`
	Answered string `json:"answered_with,omitempty"`
	Chatted  bool   `json:"chatted,omitempty"`
	// NumbersUnresolved: national numbers were compared as written, so
	// an "unknown" may be a contact whose number is written nationally.
	NumbersUnresolved bool  `json:"numbers_unresolved,omitempty"`
	ElapsedMS         int64 `json:"elapsed_ms"`
}

func printResult(o *Options, out output) error {
	io := o.F.IO
	if out.Verdict == "mismatch" {
		// Loudly, and on stderr even with --json: a possible spoof.
		fmt.Fprintf(io.ErrOut, "cusax: warning: the caller claims to be %s, but that contact's vCard does not list %s: possible spoof (RFC 6993 §4)\n", out.Hint, out.Caller)
	}
	if o.JSON && o.Listen {
		return cmdutil.WriteJSONLine(io.Out, cmdutil.Schema("whois-caller"), out)
	}
	if o.JSON {
		return cmdutil.WriteJSON(io.Out, cmdutil.Schema("whois-caller"), out)
	}
	v := string(out.Verdict)
	switch v {
	case "verified", "verified-by-scan":
		v = io.Green(v)
	case "mismatch":
		v = io.Red(v)
	default:
		v = io.Yellow(v)
	}
	who := out.Caller
	if out.JID != "" {
		who = fmt.Sprintf("%s <%s> (caller %s)", out.Name, out.JID, out.Caller)
	}
	fmt.Fprintf(io.Out, "%s\t%s\n", v, who)
	if out.Hint != "" {
		fmt.Fprintf(io.Out, "hint\t%s\n", out.Hint)
	}
	if out.MatchedTel != "" {
		fmt.Fprintf(io.Out, "matched\t%s (%s)\n", out.MatchedTel, out.Source)
	}
	if out.CallerSource == callerid.SourcePAI {
		fmt.Fprintf(io.Out, "identity\tP-Asserted-Identity from the account's proxy, trusted by trust_asserted_identity (RFC 3325 §9.1)\n")
	}
	for _, u := range out.Unasserted {
		fmt.Fprintf(io.Out, "claimed\t%s (P-Asserted-Identity, not trusted: not judged)\n", u)
	}
	return nil
}
