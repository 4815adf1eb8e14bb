package cmdutil

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// Exit codes. They are part of cusax's interface: scripts depend on them,
// so a number never changes meaning. `cusax help exit-codes` prints this.
const (
	ExitOK          = 0   // success (also: "no results")
	ExitFailure     = 1   // any other failure
	ExitUsage       = 2   // bad flags or arguments
	ExitFindings    = 3   // reserved for audit findings (see audit-tls)
	ExitAuth        = 4   // a server rejected the credentials
	ExitDenied      = 5   // a policy (or the user at a prompt) refused
	ExitPlugin      = 6   // a plugin is missing, broken or speaks another API version
	ExitNetwork     = 7   // a server could not be reached, did not answer in time, or dropped the connection
	ExitTLS         = 8   // TLS failed: certificate not trusted or no TLS possible
	ExitParity      = 9   // --require-parity: the aspects are not protected alike
	ExitBusy        = 10  // call: the callee is busy (486, 600)
	ExitDeclined    = 11  // call: the callee declined (603)
	ExitNoAnswer    = 12  // call: no answer (ring timeout, 408, 480, 487)
	ExitNotFound    = 13  // call: no such user (404, 604, 484, 410)
	ExitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM, SIGHUP)
	ExitBrokenPipe  = 141 // stdout closed by its reader (128 + SIGPIPE)
)

// ExitMediaInsecure (14): media encryption was required (media_encryption
// = srtp) and the peer, the signalling or the telephony backend could not
// provide it (protocol.ErrMediaInsecure). Its own block keeps the table
// above aligned as it was.
const ExitMediaInsecure = 14

// cusax agent (docs/agent.md): ExitNoAgent (15) no agent is running
// (agent status); ExitAgentRunning (16) agent run/start refused because
// one already runs for this user.
const (
	ExitNoAgent      = 15
	ExitAgentRunning = 16
)

// ExitUnsupported (17): the account's backend cannot do what the command
// needs: "not supported by this account's IM backend (sipmessage): …"
// (roster, vCards, presence, rooms over SIP MESSAGE), or calls_over_xmpp =
// true with no backend that calls over XMPP (RFC 7081 §2).
const ExitUnsupported = 17

// ExitCodesHelp documents the table for `cusax help exit-codes`.
const ExitCodesHelp = `cusax exit codes (stable; scripts may rely on them):

  0    success; "no results" is success too
  1    error not covered below
  2    usage: bad flag, argument or config value (config.toml or
       secrets.toml not valid TOML, or a value that fails validation,
       whichever command reads it); also a config, secrets
       or audit state file that another user owns or others can write
       (or a directory above it): it is refused, never read; the agent's
       socket directory or socket not private to the user; input cusax
       cannot send as it is (chat: a message over the server's size limit,
       text that is not UTF-8): nothing of it was sent
  3    reserved: audit findings (cusax audit-tls and audit-contacts use
       0/1/2/3 as monitoring plugins do; see their help)
  4    authentication failed (wrong password or user)
  5    denied by policy, or declined at a prompt
  6    plugin missing, broken, or speaking another API version; refused
       because another user owns it or others can write it or a directory
       above it; a policy plugin that rejected its settings, crashed, or did
       not decide within [plugins] decision_timeout (nothing was done)
  7    network: server unreachable or not answering in time, or the
       connection to it dropped (e.g. during chat --listen)
  8    TLS: certificate not trusted / wrong name / expired, or the server
       offers no TLS and --allow-plaintext was not given
  9    --require-parity: the two aspects are not protected alike (RFC 7081 §7)
  10   call: busy (486 Busy Here, 600 Busy Everywhere)
  11   call: declined (603 Decline)
  12   call: no answer (--ring-timeout passed, 408, 480, 487)
  13   call: not found (404, 604, 484, 410)
  14   call: media encryption required (media_encryption = srtp) and the
       peer or the signalling could not provide it (the callee answered
       plain RTP or refused SRTP, SIP is not over TLS, or the telephony
       backend cannot encrypt media); answer: the backend cannot encrypt
       media
  15   agent: no agent is running (cusax agent status)
  16   agent: another agent already runs for this user (cusax agent run)
  17   not supported by the account's backend: "not supported by this
       account's IM backend (sipmessage): …" (an account whose chat goes
       over SIP MESSAGE has no roster, vCards, presence or rooms), or
       calls_over_xmpp = true and no backend can call over XMPP, or chat
       on an account left without a chat backend (im_over_sip = true
       without SIP, or = false without XMPP)
  130  interrupted (Ctrl-C, SIGTERM, SIGHUP); plugins log out first
  141  stdout closed by its reader (e.g. piped into head): the command
       stops, its plugins log out, nothing more is printed (128 + SIGPIPE,
       the status a shell shows for a program killed by SIGPIPE)

With --json, a failing command also writes the error as one JSON object on
stderr: {"error": "...", "exit_code": N, "hints": [...]}.
`

// ExitError carries an explicit exit code.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// WithExit attaches an exit code to err.
func WithExit(code int, err error) error { return &ExitError{Code: code, Err: err} }

// ErrInterrupted means the user pressed Ctrl-C.
var ErrInterrupted = errors.New("interrupted")

// usageError marks bad flags or arguments.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// FlagError is the root command's FlagErrorFunc: a flag cobra cannot
// parse (an unknown flag, --count=many) is a usage error, exit 2.
func FlagError(_ *cobra.Command, err error) error { return Usagef("%v", err) }

// Usagef returns a usage error (exit code 2).
func Usagef(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// IsUsage reports whether err is a usage error.
func IsUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// HintError adds lines that tell the user what to do next, printed as
// "cusax: hint: …".
type HintError struct {
	Err   error
	Hints []string
}

func (e *HintError) Error() string { return e.Err.Error() }
func (e *HintError) Unwrap() error { return e.Err }

// WithHint attaches hints to err.
func WithHint(err error, hints ...string) error {
	if err == nil {
		return nil
	}
	return &HintError{Err: err, Hints: hints}
}

// Hints collects the hints attached anywhere in err's chain.
func Hints(err error) []string {
	var out []string
	for err != nil {
		if h, ok := err.(*HintError); ok {
			out = append(out, h.Hints...)
		} else if h, ok := err.(interface{ Hints() []string }); ok {
			// Typed errors from pkg/core (safepath) carry their own fix.
			out = append(out, h.Hints()...)
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				out = append(out, Hints(e)...)
			}
			break
		}
		err = errors.Unwrap(err)
	}
	return out
}

// NoArgsButSubcommands is the Args of a command that has subcommands and
// takes no arguments of its own (the root, roster): an argument is an
// unknown command, a usage error with cobra's suggestions as a hint
// ("did you mean 'cusax status'?"; `cusax stauts` gave none).
func NoArgsButSubcommands(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	err := Usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only by its own check
	}
	var hints []string
	for _, s := range cmd.SuggestionsFor(args[0]) {
		hints = append(hints, fmt.Sprintf("did you mean '%s %s'?", cmd.CommandPath(), s))
	}
	return WithHint(err, hints...)
}
