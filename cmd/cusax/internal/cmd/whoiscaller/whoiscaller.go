// Package whoiscaller implements `cusax whois-caller`: who is calling,
// proven by the roster's vCards and never by the caller's word (RFC 7081
// §3.5, RFC 6993 §4).
package whoiscaller

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/vcardcache"
)

// maxMessage bounds a SIP message read from a file or stdin.
const maxMessage = 1 << 20

// Options are the parsed flags.
type Options struct {
	F *cmdutil.Factory

	Message  string
	ViaProxy bool
	Listen   bool
	Account  string
	OnCall   string
	Chat     string
	TTL      time.Duration
	Refresh  bool
	Timeout  time.Duration
	Region   string
	JSON     bool
	// GiveUpAfter bounds how long --listen stays unregistered before it
	// exits 7; 0 never gives up.
	GiveUpAfter time.Duration

	trustPAI bool // the account's sip.trust_asserted_identity (listen)
}

// NewCmdWhoisCaller builds the command.
func NewCmdWhoisCaller(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "whois-caller [--message FILE|-] | --listen",
		Short: "Tell who is calling, proven by your roster's vCards",
		Long: `Judge who a SIP call comes from, against the roster and vCards of an
account (RFC 7081 §3.5).

The caller's address is From, or P-Asserted-Identity when the INVITE came
through the account's own proxy (--via-proxy for a message from a file)
and the account sets trust_asserted_identity = true in [account.sip]: only
a proxy that removes the header from untrusted sources forms an RFC 3325
§9.1 trust domain, so it is off by default, and an untrusted assertion is
only shown. A Call-Info header with purpose=impp (RFC 6993) names a JID, but it
is only a hint: it counts only when that roster contact's vCard lists the
caller's address as a TEL, compared exactly (SIP URIs per RFC 3261
§19.1.4, phone numbers as E.164).

Verdicts: verified (the hint is confirmed by the vCard), verified-by-scan
(no hint; exactly one contact's vCard lists the caller), ambiguous (several
do), mismatch (the hinted contact's vCard does not list the caller: a
possible spoof), not-in-roster (hinted JID unknown), unknown, anonymous.
Any verdict exits 0; errors are bad input or failures.

With --message (default: stdin) one SIP request is judged; captures with
LF line ends or without the final blank line are fine. With --listen the
account's SIP aspect registers and every incoming INVITE is judged as it
arrives, until interrupted; --on-call busy|decline answers it 486 or 603,
and --chat TEXT sends TEXT over XMPP to a verified caller ("revert to
chatting", RFC 7081 §3.5). The listener refreshes its registration before
it expires and registers again when it is lost (a closed TCP/TLS
connection, a failed refresh, a restarted registrar), saying so on stderr;
over UDP a registrar that restarted is only noticed at the next refresh.
When the registration stays lost for --give-up-after it exits 7.`,
		Example: `  $ cusax whois-caller --message invite.txt
  $ sngrep-export | cusax whois-caller --json
  $ cusax whois-caller --listen --on-call busy --chat "in a meeting, chat?"`,
		Args: func(_ *cobra.Command, args []string) error {
			// cobra.NoArgs would say "unknown command" about a file name.
			if len(args) > 0 {
				return cmdutil.Usagef("whois-caller takes no arguments: give the message with --message %s or on stdin", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			if o.Listen {
				return listen(o)
			}
			return judgeMessage(o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Message, "message", "-", "file with one SIP request, - for stdin")
	fl.BoolVar(&o.ViaProxy, "via-proxy", false, "the message came through the account's own proxy: trust P-Asserted-Identity if the account does (RFC 3325)")
	fl.BoolVar(&o.Listen, "listen", false, "register and judge incoming calls until interrupted")
	fl.StringVar(&o.Account, "account", "", "account whose roster and SIP aspect to use (default: the default account)")
	fl.StringVar(&o.OnCall, "on-call", "ignore", "with --listen: ignore, busy (486) or decline (603) each call")
	fl.StringVar(&o.Chat, "chat", "", "with --listen: send this message over XMPP to a verified caller")
	fl.DurationVar(&o.TTL, "ttl", vcardcache.DefaultTTL, "how long cached vCards are used (0: fetch them all, as --refresh)")
	fl.BoolVar(&o.Refresh, "refresh", false, "fetch vCards even when cached")
	fl.DurationVar(&o.Timeout, "timeout", 10*time.Second, "network timeout for each server")
	fl.StringVar(&o.Region, "region", "", "country of national numbers, e.g. DE (default: [calls] region in the config)")
	fl.BoolVar(&o.JSON, "json", false, "print JSON (one object per line with --listen)")
	fl.DurationVar(&o.GiveUpAfter, "give-up-after", 5*time.Minute, "with --listen: exit 7 when the registration stays lost this long (0: never)")
	f.CompleteAccountFlag(cmd, "account")
	cmdutil.CompleteEnum(cmd, "on-call", []string{"ignore", "busy", "decline"})
	_ = cmd.MarkFlagFilename("message")
	return cmd
}

func (o *Options) validate(cmd *cobra.Command) error {
	switch o.OnCall {
	case "ignore", "busy", "decline":
	default:
		return cmdutil.Usagef("--on-call %q: want ignore, busy or decline", o.OnCall)
	}
	switch {
	case o.Listen && cmd.Flags().Changed("message"):
		return cmdutil.Usagef("--listen judges incoming calls: give no --message")
	case !o.Listen && (o.Chat != "" || cmd.Flags().Changed("on-call")):
		return cmdutil.Usagef("--on-call and --chat go with --listen")
	case o.TTL < 0 || o.Timeout <= 0 || o.GiveUpAfter < 0:
		return cmdutil.Usagef("--ttl and --give-up-after must not be negative and --timeout must be positive")
	case o.Region != "" && (len(o.Region) != 2 || strings.Trim(strings.ToUpper(o.Region), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != ""):
		return cmdutil.Usagef("--region %q: want an ISO 3166-1 alpha-2 country code such as DE", o.Region)
	case strings.ContainsAny(o.Chat, "\x00"):
		return cmdutil.Usagef("--chat contains a NUL")
	}
	return nil
}

// readMessage reads one SIP message, bounded.
func (o *Options) readMessage() ([]byte, error) {
	var r io.Reader
	if o.Message == "-" {
		if o.F.IO.IsStdinTTY() {
			return nil, cmdutil.Usagef("paste is not supported: give --message FILE or pipe the message in")
		}
		r = o.F.IO.In
	} else {
		f, err := os.Open(o.Message)
		if err != nil {
			return nil, cmdutil.Usagef("--message: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(r), maxMessage+1))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	if len(b) > maxMessage {
		return nil, cmdutil.Usagef("message is longer than %d KiB", maxMessage>>10)
	}
	return b, nil
}

// judgeMessage judges one message from a file or stdin.
func judgeMessage(o *Options) error {
	raw, err := o.readMessage()
	if err != nil {
		return err
	}
	start := time.Now()
	norm, err := callerid.Normalize(raw)
	if err != nil {
		return cmdutil.Usagef("%v", err)
	}
	call, err := callerid.Parse(norm, o.ViaProxy)
	if err != nil {
		return cmdutil.Usagef("%v", err)
	}
	acct, err := o.F.Account(o.Account)
	if err != nil {
		return err
	}
	if o.ViaProxy && (acct.SIP == nil || !acct.SIP.TrustAssertedIdentity) {
		// RFC 3325 §9.1: coming through the proxy is not enough; the
		// account must say the proxy forms a trust domain. Parsing
		// without trust cannot fail where parsing with it did not.
		if call, err = callerid.Parse(norm, false); err != nil {
			return cmdutil.Usagef("%v", err)
		}
		if len(call.Unasserted) > 0 {
			fmt.Fprintf(o.F.IO.ErrOut, "cusax: note: P-Asserted-Identity ignored: account %s does not set trust_asserted_identity in [account.sip]\n", acct.Name)
		}
	}
	j := newJudge(o, acct, o.region())
	defer j.Close()
	res, err := j.Judge(o.F.Context, call)
	if err != nil {
		return err
	}
	return printResult(o, output{Result: res.Result, ElapsedMS: msSince(start), NumbersUnresolved: res.NumbersUnresolved})
}

// msSince is whole milliseconds: cusax's JSON has one unit of time.
func msSince(t time.Time) int64 { return time.Since(t).Milliseconds() }

// region is --region, else the config's [calls] region.
func (o *Options) region() string {
	if o.Region != "" {
		return strings.ToUpper(o.Region)
	}
	if cfg, _, err := o.F.Config(); err == nil {
		return strings.ToUpper(cfg.Calls.Region)
	}
	return ""
}
