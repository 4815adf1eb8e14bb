// Package call implements `cusax call`: place a SIP call to a roster
// contact, a SIP or tel: URI, a phone number or a MUC room's conference,
// with media from and to WAV files. RFC 7081 strategy 1: calls go over SIP.
package call

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/callplan"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/core/session"
	"github.com/cusax/cusax/pkg/media"
	"github.com/cusax/cusax/pkg/media/recording"
	"github.com/cusax/cusax/pkg/protocol"
)

// Options are the parsed flags.
type Options struct {
	F *cmdutil.Factory

	Target      string
	Account     string
	Via         string
	Number      string
	Yes         bool
	DryRun      bool
	NoIMPP      bool
	Anonymous   bool
	Video       bool
	Play        string
	Record      string
	DTMF        string
	Duration    time.Duration
	HasDuration bool
	RingTimeout time.Duration
	Timeout     time.Duration
	JSON        bool
	// MediaEncryption is --media-encryption ("": the account's setting).
	MediaEncryption string
	// MediaKeying is --media-keying ("": the account's setting, else sdes).
	MediaKeying string

	// NoPresence is --no-presence: no on-the-phone presence (oncall).
	NoPresence bool

	early    *earlyStart
	stopping []*callplan.Plan // policy plugins to stop while the call goes on
}

// NewCmdCall builds the command.
func NewCmdCall(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	o := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "call TARGET",
		Short: "Place a SIP call (to a contact, SIP URI, number or room)",
		Long: `Place a SIP call and report how it went.

TARGET is a roster contact (a roster name, JID or xmpp: URI, as for
'cusax roster show'), a sip:/sips: URI, a tel: URI, a phone number (dialled
through the account's SIP service), or a MUC room whose disco#info
advertises an audio-video-uri (RFC 7081 §4).

A contact is called at the SIP address in their vCard, else a phone number
(RFC 7081 §3.3); --number picks another. The account is chosen by the
policy plugins (RFC 7081 §3.4): the contact's own CUSAX account, else the
only one that can place calls, else --via (asked on a terminal). A call to
a phone number, or to a number learned from a contact on another domain,
may cost money (RFC 7081 §5): it needs --yes, a yes at the prompt, or a
match in the config's [calls] cost_allow list. Both decisions run through
the account's policy chain: the default policy, then the account's
policy list (a toll guard may refuse what the default allowed); --json
shows every policy's answer and --debug prints one line per policy.

The INVITE carries Call-Info: <xmpp:YOU>;purpose=impp (RFC 6993) so the
callee can find you for chat, unless --no-impp, advertise_impp = false or
--anonymous (which also sends Privacy: id, RFC 3325).

While the call is up, the account's XMPP presence says so (RFC 7081 §3):
dnd with the status "on the phone", and the XEP-0108 activity
talking/on_the_phone where the server has PEP; afterwards it returns to
what it was. Without 'cusax agent' the Chat aspect is opened for the call
alone (in parallel with the INVITE) and logs out with it. Off with
--no-presence or presence_on_call = false in [account.features].

There is no sound card: --play sends a 16-bit PCM WAV (any rate, mono or
stereo: converted to 8 kHz), --record writes what the callee sends, and
--dtmf sends digits (RFC 4733) once answered. The call ends when the file
and digits are sent, after --duration, when the callee hangs up, or on
Ctrl-C (CANCEL or BYE is always sent). Without any of these it stays up
until one side hangs up.

Media is SRTP (RFC 3711, keys in SDP: RFC 4568, only ever over TLS) as
--media-encryption or the account's media_encryption says: srtp (SRTP or
no call), optional (SRTP when the callee does it, else plain RTP with a
warning) or none; by default srtp when SIP is over TLS, plain otherwise.
--media-keying dtls (or media_keying = "dtls") keys SRTP with DTLS-SRTP
(RFC 5763/5764) instead: no key in the SDP, but srtp still needs SIP over
TLS, since the certificate fingerprint in the SDP must arrive unaltered.
The outcome says how the media was protected (media_protection, media_keying).

Exit codes: 0 answered, 10 busy, 11 declined, 12 no answer, 13 not found,
14 media encryption required and not possible, 4 authentication failed,
5 denied by policy, 6 a policy plugin failed or did not decide in time,
7 network failure (see 'cusax help exit-codes').`,
		Example: `  $ cusax call bob
  $ cusax call bob --play greeting.wav --record reply.wav
  $ cusax call sip:support@example.com --dtmf 1234# --duration 10s
  $ cusax call +4930123456 --yes --via work
  $ cusax call bob --media-encryption optional
  $ cusax call bob --media-keying dtls
  $ cusax call bob --dry-run --json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cmdutil.Usagef("call takes one TARGET")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Target = args[0]
			o.HasDuration = cmd.Flags().Changed("duration")
			if err := o.validate(); err != nil {
				return err
			}
			if err := cmdutil.CheckMediaEncryption(cmd, o.MediaEncryption); err != nil {
				return err
			}
			if err := checkMediaKeying(cmd, o.MediaKeying); err != nil {
				return err
			}
			if runF != nil {
				return runF(o)
			}
			return run(o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Account, "account", "", "account whose roster names the contact (default: the default account)")
	fl.StringVar(&o.Via, "via", "", "account to place the call through")
	fl.StringVar(&o.Number, "number", "", "which of the contact's numbers: its position (1, 2, …) or the number itself")
	fl.BoolVarP(&o.Yes, "yes", "y", false, "allow a call that may cost money (RFC 7081 §5)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "print what would be dialled, through which account and with which headers; do not call")
	fl.BoolVar(&o.NoIMPP, "no-impp", false, "do not send Call-Info with your XMPP address (RFC 6993)")
	fl.BoolVar(&o.NoPresence, "no-presence", false, "do not show the account as on the phone (dnd) over XMPP during the call")
	fl.BoolVar(&o.Anonymous, "anonymous", false, "hide your identity: anonymous From, Privacy: id (RFC 3325), no Call-Info")
	fl.BoolVar(&o.Video, "video", false, "offer video (only to a number the contact's vCard marks TYPE=video)")
	fl.StringVar(&o.Play, "play", "", "WAV file (16-bit PCM) to send once answered")
	fl.StringVar(&o.Record, "record", "", "write what the callee sends to this WAV file (8 kHz mono)")
	fl.StringVar(&o.DTMF, "dtmf", "", "digits to send once answered (0-9 * # A-D, RFC 4733)")
	fl.DurationVar(&o.Duration, "duration", 0, "hang up this long after the answer (0: right away)")
	fl.DurationVar(&o.RingTimeout, "ring-timeout", 60*time.Second, "give up when not answered by then")
	fl.DurationVar(&o.Timeout, "timeout", 10*time.Second, "network timeout for each server")
	fl.BoolVar(&o.JSON, "json", false, "print the outcome (or the plan with --dry-run) as JSON")
	cmdutil.MediaEncryptionFlag(cmd, &o.MediaEncryption)
	mediaKeyingFlag(cmd, &o.MediaKeying)
	f.CompleteAccountFlag(cmd, "account")
	f.CompleteAccountFlag(cmd, "via")
	cmd.ValidArgsFunction = f.CompleteContact
	_ = cmd.MarkFlagFilename("play", "wav")
	_ = cmd.MarkFlagFilename("record", "wav")
	return cmd
}

func (o *Options) validate() error {
	switch {
	case o.Duration < 0:
		return cmdutil.Usagef("--duration must not be negative")
	case o.RingTimeout <= 0:
		return cmdutil.Usagef("--ring-timeout must be positive")
	case o.Timeout <= 0:
		return cmdutil.Usagef("--timeout must be positive")
	}
	for _, d := range o.DTMF {
		if !strings.ContainsRune("0123456789*#ABCDabcd", d) {
			return cmdutil.Usagef("--dtmf %q: %q is not a DTMF digit (0-9, *, #, A-D)", o.DTMF, d)
		}
	}
	for name, v := range map[string]string{"--via": o.Via, "--account": o.Account, "--number": o.Number, "--play": o.Play, "--record": o.Record} {
		if strings.ContainsAny(v, "\r\n\x00") {
			return cmdutil.Usagef("%s contains a control character", name)
		}
	}
	return nil
}

// Outcome is the result of a call, printed on stdout.
type Outcome struct {
	Target     string `json:"target"`
	Via        string `json:"via"`
	URI        string `json:"uri"`
	CallID     string `json:"call_id,omitempty"`
	StatusCode int    `json:"status_code"`
	Reason     string `json:"reason"`
	Result     string `json:"result"` // answered, busy, declined, no-answer, not-found, failed, interrupted, media-insecure
	Answered   bool   `json:"answered"`
	SetupMS    int64  `json:"setup_ms"`
	DurationMS int64  `json:"duration_ms"`
	RTPSent    int64  `json:"rtp_sent"`
	RTPRecv    int64  `json:"rtp_received"`
	DTMFSent   string `json:"dtmf_sent,omitempty"`
	Codec      string `json:"codec,omitempty"`
	MediaPeer  string `json:"media_peer,omitempty"`
	// MediaProtection (answered calls): the SRTP suite, or "none" for
	// plain RTP (also when the backend cannot say: no srtp capability);
	// MediaKeying how SRTP was keyed (sdes, dtls); SRTPAuthFailures the
	// packets dropped for a bad authentication tag (RFC 3711 §3.3).
	MediaProtection  string `json:"media_protection,omitempty"`
	MediaKeying      string `json:"media_keying,omitempty"`
	SRTPAuthFailures int64  `json:"srtp_auth_failures,omitempty"`
	Recorded         string `json:"recorded,omitempty"`
	RecordedMS       int64  `json:"recorded_ms,omitempty"`
	Note             string `json:"note,omitempty"`
	ExitCode         int    `json:"exit_code"`
}

func run(o *Options) error {
	f := o.F
	ctx := f.Context
	if err := o.checkMedia(); err != nil {
		return err
	}
	// Each plugin start costs ~25 ms (docs/benchmarks.md): when the account
	// is already known, start its SIP plugin while the policies decide.
	o.early = o.startEarly()
	defer o.early.discard()
	defer func() {
		for _, p := range o.stopping {
			p.Release()
		}
	}()
	plan, err := o.plan(ctx)
	if err != nil {
		return err
	}
	// Stopping a plugin waits for its exit: dial does it beside the call.
	o.stopping = append(o.stopping, plan)
	if o.DryRun {
		return printPlan(o, plan)
	}
	return o.dial(plan)
}

// earlyStart is a SIP plugin started before the account was decided.
type earlyStart struct {
	account string
	done    chan struct{}
	plugins *session.Plugins
	err     error
}

// startEarly starts the telephony plugin of the account the call will
// surely use (--via, or the only account with SIP); nil otherwise.
func (o *Options) startEarly() *earlyStart {
	if o.DryRun {
		return nil
	}
	cfg, _, err := o.F.Config()
	if err != nil {
		return nil
	}
	var pick *config.Account
	for i, a := range cfg.Accounts {
		if a.SIP == nil {
			continue
		}
		if o.Via != "" && a.Name == o.Via {
			pick = &cfg.Accounts[i]
			break
		}
		if o.Via == "" {
			if pick != nil {
				return nil // several: the policy chooses
			}
			pick = &cfg.Accounts[i]
		}
	}
	if pick == nil {
		return nil
	}
	src, err := o.F.Backends()
	if err != nil {
		return nil
	}
	e := &earlyStart{account: pick.Name, done: make(chan struct{})}
	a := *pick
	go func() {
		defer close(e.done)
		e.plugins, e.err = session.Open(o.F.Context, src, a, session.Only(protocol.KindTelephony))
	}()
	return e
}

// take returns the early plugins for account, or nil when they were
// started for another one or failed (the caller starts its own).
func (e *earlyStart) take(account string) *session.Plugins {
	if e == nil || e.account != account {
		return nil
	}
	<-e.done
	p := e.plugins
	e.plugins = nil
	return p
}

// discard stops early plugins nobody took.
func (e *earlyStart) discard() {
	if e == nil {
		return
	}
	<-e.done
	if e.plugins != nil {
		e.plugins.Close()
	}
}

// plan resolves the target, picks the account and passes the cost gate
// (pkg/core/callplan), asking on the terminal where a policy says so.
func (o *Options) plan(ctx context.Context) (*callplan.Plan, error) {
	f := o.F
	cfg, _, err := f.Config()
	if err != nil {
		return nil, err
	}
	src, err := f.Backends()
	if err != nil {
		return nil, err
	}
	pl := &callplan.Planner{
		Config: cfg,
		Source: src,
		Contacts: func(_ context.Context, home config.Account) (callplan.Directory, func(), error) {
			sess, err := f.OpenChat(home, o.Timeout)
			if err != nil {
				return nil, nil, err
			}
			return rememberingDirectory{sess, f}, sess.Shutdown, nil
		},
		Prompter: prompter{f.IO},
		Trace:    func(op string, d protocol.Decision) { cmdutil.DebugPolicyChain(f, op, d) },
	}
	p, err := pl.Plan(ctx, callplan.Request{
		Target: o.Target, Account: o.Account, Via: o.Via, Number: o.Number,
		Yes: o.Yes, DryRun: o.DryRun, NoIMPP: o.NoIMPP, Anonymous: o.Anonymous, Video: o.Video,
	})
	if err != nil {
		if callplan.IsInput(err) {
			return nil, cmdutil.Usagef("%w", err)
		}
		return nil, err
	}
	return p, nil
}

// checkMedia fails early, before any server is contacted, for a --play
// file that cannot be sent or a --record file that cannot be written.
// The SIP plugin checks again when it opens them.
func (o *Options) checkMedia() error {
	if o.Play != "" {
		f, err := os.Open(o.Play)
		if err != nil {
			return cmdutil.Usagef("--play %s: %v", o.Play, errors.Unwrap(err))
		}
		defer f.Close()
		if _, err := media.ReadWAV(f); err != nil {
			return cmdutil.Usagef("--play %s: not a WAV file cusax can send (16-bit PCM, any rate, mono or stereo): %v", o.Play, err)
		}
	}
	if o.Record != "" {
		// Only a new path or a regular file: never a device, FIFO or
		// directory, and a final symlink is refused, not followed.
		if err := recording.Check(o.Record); err != nil {
			return cmdutil.Usagef("--record %s: %v", o.Record, err)
		}
	}
	return nil
}

// rememberingDirectory keeps the roster the call resolved its contact in
// for shell completion (cmdutil.CompleteContact).
type rememberingDirectory struct {
	*session.ChatSession
	f *cmdutil.Factory
}

func (d rememberingDirectory) Roster(ctx context.Context) ([]protocol.RosterItem, error) {
	items, err := d.ChatSession.Roster(ctx)
	if err == nil {
		d.f.RememberRoster(d.Account, items)
	}
	return items, err
}
