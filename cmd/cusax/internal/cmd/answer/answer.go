// Package answer implements `cusax answer`: pick up incoming calls for
// scripts (a voicemail, a door phone, an IVR menu), deciding by who is
// calling (RFC 7081 §3.5). The command is flags, checks and output; the
// per-call logic is pkg/core/answering.
package answer

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/address"
	"github.com/cusax/cusax/pkg/core/answering"
	"github.com/cusax/cusax/pkg/core/callerid"
	"github.com/cusax/cusax/pkg/core/vcardcache"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/protocol"
)

// Verdicts --accept may name (pkg/core/callerid).
var verdicts = []string{
	callerid.VerdictVerified, callerid.VerdictVerifiedByScan, callerid.VerdictAmbiguous, callerid.VerdictMismatch,
	callerid.VerdictNotInRoster, callerid.VerdictUnknown, callerid.VerdictAnonymous,
}

// Options are the parsed flags.
type Options struct {
	F *cmdutil.Factory

	Account       string
	Accept        []string
	RejectWith    string
	Ring          time.Duration
	Play          string
	Record        string
	Digits        int
	Until         string
	DigitTimeout  time.Duration
	Duration      time.Duration
	SilenceHangup time.Duration
	Exec          string
	ExecArgs      []string
	ExecOn        string
	ExecTimeout   time.Duration
	Concurrency   int
	MaxCalls      int
	Notify        string
	JSON          bool
	Timeout       time.Duration
	TTL           time.Duration
	Refresh       bool
	Region        string
	GiveUpAfter   time.Duration
	// MediaEncryption is --media-encryption ("": the account's setting).
	MediaEncryption string
	// NoPresence is --no-presence: no on-the-phone presence during calls.
	NoPresence bool

	execPath string
	record   answering.Template
	media    mediaContext
}

// mediaContext is what the printer needs to say why media went in clear
// when the backend's note does not.
type mediaContext struct {
	setting string
	info    protocol.Info
	backend string
}

// NewCmdAnswer builds the command.
func NewCmdAnswer(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "answer [flags] [--exec PROGRAM [-- ARGS...]]",
		Short: "Pick up incoming calls: play, record, read digits, decided by who is calling",
		Long: `Register the account's SIP aspect and take incoming calls until Ctrl-C
(exit 130) or --max-calls calls (exit 0).

Each caller is judged exactly as whois-caller judges (the roster's vCards
prove who calls; a Call-Info hint is only a hint, RFC 6993 §4), then the
account's policy chain is asked through JudgeCallerBinding (RFC 7081 §3.5:
accepting calls is a matter of policy). The default policy rejects a
mismatch (a possible spoof). When every policy abstains, --accept decides
by the verdict. A policy answering "ask" is asked on the terminal, and
without one the call is rejected. A rejected call is answered
--reject-with: busy (486), decline (603) or unavailable (480).

A taken call rings for --ring (180 Ringing), is answered (200 OK), plays
--play, records the caller into --record, reads DTMF digits (--digits N,
--until '#', --digit-timeout), and ends when the caller hangs up, at
--duration, when the greeting has played (with --play and no --duration
and no digit rule), on --silence-hangup, or on Ctrl-C.

--record TEMPLATE names each recording; its file name may use {time},
{caller}, {verdict} and {call_id} (reduced to letters, digits and ._+@-).
An existing file is never replaced: "-2", "-3" … are added. The directory
must exist.

--exec PROGRAM runs after each call (taken or not; --exec-on answer: when a
taken call is answered, while it runs), with the arguments given after
"--" and the call in its environment: CUSAX_CALL_ID, CUSAX_CALLER,
CUSAX_CONTACT, CUSAX_CONTACT_NAME, CUSAX_VERDICT, CUSAX_DECISION,
CUSAX_ACTION, CUSAX_ANSWERED, CUSAX_STATUS, CUSAX_RECORDING, CUSAX_DIGITS,
CUSAX_DURATION_MS, CUSAX_HUNG_UP_BY, CUSAX_EVENT, CUSAX_ACCOUNT. No shell
is involved. Its output goes to stderr. After --exec-timeout its process
group is killed; a failure is reported and the listener goes on.

--concurrency N calls are handled at once; a call beyond them gets 486.
--notify JID sends a chat message after each call over the account's XMPP
aspect (RFC 7081 §3.5: chat as the side channel).

Media is SRTP (RFC 3711, keys in SDP: RFC 4568, only ever over TLS) as
--media-encryption or the account's media_encryption says: srtp (a caller
that offers no SRTP gets 488), optional (plain RTP with a warning when the
caller offers no SRTP) or none; by default srtp when the call came over
TLS, plain otherwise. "srtp" with a backend that cannot encrypt media
exits 14 before registering.

While a taken call is up, the account's XMPP presence is dnd "on the
phone" (and the XEP-0108 activity talking/on_the_phone where the server has
PEP), RFC 7081 §3; afterwards it returns to what it was (without 'cusax
agent': unavailable, as the listener's own Chat session was before). Off
with --no-presence or presence_on_call = false in [account.features].

One line per call on stdout (tab-separated); --json: one object per call,
with media_protection (the SRTP suite, or "none") for an answered call.`,
		Example: `  $ cusax answer --play greeting.wav --record ~/vm/{time}-{caller}.wav --notify alice@example.com
  $ cusax answer --accept verified --digits 1 --play menu.wav --exec ./on-digit -- --log /tmp/menu.log
  $ cusax answer --max-calls 1 --duration 30s --json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && (o.Exec == "" || cmd.ArgsLenAtDash() != 0) {
				return cmdutil.Usagef("answer takes no arguments; the handler's arguments follow --exec PROGRAM and \"--\"")
			}
			o.ExecArgs = args
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return run(o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Account, "account", "", "account whose SIP aspect answers (default: the default account)")
	fl.StringSliceVar(&o.Accept, "accept", []string{callerid.VerdictVerified, callerid.VerdictVerifiedByScan}, "verdicts taken when every policy abstains: "+strings.Join(verdicts, ","))
	fl.StringVar(&o.RejectWith, "reject-with", "decline", "how rejected calls are answered: busy (486), decline (603), unavailable (480)")
	fl.DurationVar(&o.Ring, "ring", 0, "ring this long (180 Ringing) before answering")
	fl.StringVar(&o.Play, "play", "", "16-bit PCM WAV to play after answering")
	fl.StringVar(&o.Record, "record", "", "record the caller to this file name template ({time} {caller} {verdict} {call_id})")
	fl.IntVar(&o.Digits, "digits", 0, "hang up once this many DTMF digits were received (0: no limit)")
	fl.StringVar(&o.Until, "until", "", "hang up at any of these DTMF digits, e.g. '#'")
	fl.DurationVar(&o.DigitTimeout, "digit-timeout", 0, "hang up when no digit came for this long (0: off)")
	fl.DurationVar(&o.Duration, "duration", 0, "hang up this long after answering (0: when played, or when the caller hangs up)")
	fl.DurationVar(&o.SilenceHangup, "silence-hangup", 0, "hang up after this much silence from the caller (0: off)")
	fl.StringVar(&o.Exec, "exec", "", "program to run for each call; its arguments follow \"--\"")
	fl.StringVar(&o.ExecOn, "exec-on", answering.ExecOnEnd, "when --exec runs: end (after each call) or answer (when a call is answered)")
	fl.DurationVar(&o.ExecTimeout, "exec-timeout", 30*time.Second, "kill --exec's process group after this long")
	fl.IntVar(&o.Concurrency, "concurrency", 1, "calls handled at once; more get 486 Busy Here")
	fl.IntVar(&o.MaxCalls, "max-calls", 0, "exit 0 after this many calls (0: until Ctrl-C)")
	fl.StringVar(&o.Notify, "notify", "", "send a chat message to this JID after each call")
	fl.BoolVar(&o.JSON, "json", false, "print one JSON object per call")
	fl.DurationVar(&o.Timeout, "timeout", 10*time.Second, "network timeout for each server")
	fl.DurationVar(&o.TTL, "ttl", vcardcache.DefaultTTL, "how long cached vCards are used (0: fetch them all)")
	fl.BoolVar(&o.Refresh, "refresh", false, "fetch vCards even when cached")
	fl.StringVar(&o.Region, "region", "", "country of national numbers, e.g. DE (default: [calls] region in the config)")
	fl.DurationVar(&o.GiveUpAfter, "give-up-after", 5*time.Minute, "exit 7 when the registration stays lost this long (0: never)")
	fl.BoolVar(&o.NoPresence, "no-presence", false, "do not show the account as on the phone (dnd) over XMPP while a call is up")
	cmdutil.MediaEncryptionFlag(cmd, &o.MediaEncryption)
	f.CompleteAccountFlag(cmd, "account")
	cmdutil.CompleteEnumList(cmd, "accept", verdicts)
	cmdutil.CompleteEnum(cmd, "reject-with", []string{"busy", "decline", "unavailable"})
	cmdutil.CompleteEnum(cmd, "exec-on", []string{answering.ExecOnEnd, answering.ExecOnAnswer})
	_ = cmd.MarkFlagFilename("play", "wav")
	_ = cmd.MarkFlagFilename("record")
	_ = cmd.MarkFlagFilename("exec")
	// The arguments after -- are --exec's: files, as any program's.
	cmd.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return cmd
}

// dtmfDigits are the RFC 4733 §3.2 events 0–15.
const dtmfDigits = "0123456789*#ABCD"

func (o *Options) validate(cmd *cobra.Command) error {
	if err := cmdutil.CheckMediaEncryption(cmd, o.MediaEncryption); err != nil {
		return err
	}
	for _, v := range o.Accept {
		if !slices.Contains(verdicts, v) {
			return cmdutil.Usagef("--accept %q: want verdicts among %s", v, strings.Join(verdicts, ","))
		}
	}
	if _, ok := answering.Rejections[o.RejectWith]; !ok {
		return cmdutil.Usagef("--reject-with %q: want busy, decline or unavailable", o.RejectWith)
	}
	switch {
	case o.Ring < 0 || o.DigitTimeout < 0 || o.Duration < 0 || o.SilenceHangup < 0 || o.TTL < 0 || o.GiveUpAfter < 0:
		return cmdutil.Usagef("durations must not be negative")
	case o.Timeout <= 0 || o.ExecTimeout <= 0:
		return cmdutil.Usagef("--timeout and --exec-timeout must be positive")
	case o.Digits < 0 || o.MaxCalls < 0:
		return cmdutil.Usagef("--digits and --max-calls must not be negative")
	case o.Concurrency < 1:
		return cmdutil.Usagef("--concurrency %d: want at least 1", o.Concurrency)
	case strings.Trim(strings.ToUpper(o.Until), dtmfDigits) != "":
		return cmdutil.Usagef("--until %q: want DTMF digits among %s", o.Until, dtmfDigits)
	case o.Region != "" && (len(o.Region) != 2 || strings.Trim(strings.ToUpper(o.Region), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != ""):
		return cmdutil.Usagef("--region %q: want an ISO 3166-1 alpha-2 country code such as DE", o.Region)
	case o.Exec == "" && (cmd.Flags().Changed("exec-on") || cmd.Flags().Changed("exec-timeout")):
		return cmdutil.Usagef("--exec-on and --exec-timeout go with --exec")
	}
	o.Until = strings.ToUpper(o.Until)
	switch o.ExecOn {
	case answering.ExecOnEnd, answering.ExecOnAnswer:
	default:
		return cmdutil.Usagef("--exec-on %q: want end or answer", o.ExecOn)
	}
	if o.Play != "" {
		// Checked before listening: a bad greeting must not fail every call.
		f, err := os.Open(o.Play)
		if err != nil {
			return cmdutil.Usagef("--play: %v", err)
		}
		_, err = media.ReadWAV(f)
		f.Close()
		if err != nil {
			return cmdutil.Usagef("--play %s: %v", o.Play, err)
		}
	}
	t, err := answering.ParseTemplate(o.Record)
	if err != nil {
		return cmdutil.Usagef("--record: %v", err)
	}
	o.record = t
	if o.Exec != "" {
		p, err := exec.LookPath(o.Exec)
		if err != nil {
			return cmdutil.Usagef("--exec: %v", err)
		}
		o.execPath = p
	}
	if o.Notify != "" {
		if _, err := address.DomainOf(o.Notify); err != nil || !strings.Contains(o.Notify, "@") || strings.ContainsAny(o.Notify, " \t\r\n\x00") {
			return cmdutil.Usagef("--notify %q: want a JID such as alice@example.com", o.Notify)
		}
	}
	return nil
}

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

func execArgv(o *Options) []string { return append([]string{o.execPath}, o.ExecArgs...) }
