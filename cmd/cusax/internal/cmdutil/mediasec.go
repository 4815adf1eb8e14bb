package cmdutil

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// EnumFlag adds a string flag whose value is one of values, with shell
// completion of them; CheckEnum validates it.
func EnumFlag(cmd *cobra.Command, v *string, name, usage string, values []string) {
	cmd.Flags().StringVar(v, name, "", usage)
	CompleteEnum(cmd, name, values)
}

// CheckEnum validates the EnumFlag name when it was given: a usage error
// (exit 2) naming the values it takes.
func CheckEnum(cmd *cobra.Command, name, v string, values []string) error {
	if !cmd.Flags().Changed(name) || slices.Contains(values, v) {
		return nil
	}
	return Usagef("--%s %q: want %s", name, v, strings.Join(values, ", "))
}

// MediaEncryptionFlag adds --media-encryption to cmd (call, answer), with
// shell completion of its three values.
func MediaEncryptionFlag(cmd *cobra.Command, v *string) {
	EnumFlag(cmd, v, "media-encryption",
		"srtp (SRTP or no call), optional (SRTP when the peer does it) or none; default: the account's media_encryption, else srtp when SIP is over TLS",
		protocol.MediaEncryptions)
}

// CheckMediaEncryption validates --media-encryption when it was given.
func CheckMediaEncryption(cmd *cobra.Command, v string) error {
	return CheckEnum(cmd, "media-encryption", v, protocol.MediaEncryptions)
}

// MediaEncryption is the effective setting for account a: the flag wins
// over the account's media_encryption ([account.sip] table); "" (neither set) lets the
// backend choose (SRTP over TLS, plain otherwise: protocol.MediaEncryptionDefault).
func MediaEncryption(flag string, a config.Account) string {
	if flag != "" || a.SIP == nil {
		return flag
	}
	return a.SIP.MediaEncryption
}

// HintOptional is the fix for a call refused for its media: allow plain
// RTP with this peer.
func HintOptional(account string) string {
	return fmt.Sprintf("set media_encryption = \"optional\" in the [account.sip] table of account %q, or --media-encryption optional, to allow plain RTP with this peer", account)
}

// HintTLS is the fix for SRTP asked over signalling that is not TLS: SDES
// keys only travel over TLS (RFC 4568 §8.3).
func HintTLS(account string) string {
	return fmt.Sprintf("use a sips: or ;transport=tls proxy in the [account.sip] table of account %q (proxy = \"sips:…\"): SRTP keys are only sent over TLS", account)
}

// RequireSRTP refuses, before any call is placed or answered, the setting
// "srtp" with a telephony backend that does not declare protocol.CapSRTP
// (it would send the media in clear). The error wraps
// protocol.ErrMediaInsecure (exit 14).
func RequireSRTP(setting string, info protocol.Info, backend, account string) error {
	if setting != protocol.MediaEncryptionSRTP || info.Has(protocol.CapSRTP) {
		return nil
	}
	return WithHint(fmt.Errorf("media_encryption = srtp, but the telephony backend %q cannot encrypt media (no %s capability): %w",
		backend, protocol.CapSRTP, protocol.ErrMediaInsecure),
		"use a telephony backend that declares srtp (the built-in sip)",
		HintOptional(account))
}

// MediaInsecureHints adds the fix to an ErrMediaInsecure from the backend:
// signalling that is not TLS when atDial (the backend refused before
// sending), else a peer that would not do SRTP.
func MediaInsecureHints(err error, account string, atDial bool) error {
	if atDial {
		return WithHint(err, HintTLS(account), HintOptional(account))
	}
	return WithHint(err, HintOptional(account))
}

// MediaProtection is what the outcome says of a call's media: the suite,
// or protocol.MediaInClear when the backend gave none (no CapSRTP).
func MediaProtection(p string) string {
	if p == "" {
		return protocol.MediaInClear
	}
	return p
}

// MediaText is the human form: "SRTP AES_CM_128_HMAC_SHA1_80 (SDES)" or
// "none (plain RTP)". The names come from a plugin: made terminal-safe.
func MediaText(protection, keying string) string {
	if protection == "" || protection == protocol.MediaInClear {
		return "none (plain RTP)"
	}
	if keying == "" {
		return "SRTP " + TermSafe(protection)
	}
	return fmt.Sprintf("SRTP %s (%s)", TermSafe(protection), TermSafe(strings.ToUpper(keying)))
}

// ReportMedia writes, on stderr, how a call's media was protected
// (RFC 7590 §3.6 applied to media: the user is told, not left to guess):
// "cusax: media: SRTP … (SDES)", or a warning with why it is in clear.
// prefix names the call ("" for `cusax call`'s one call).
func ReportMedia(ios *iostreams.IOStreams, prefix, protection, keying, why string) {
	w := ios.ErrOut
	if protection != "" && protection != protocol.MediaInClear {
		fmt.Fprintf(w, "cusax: %smedia: %s\n", prefix, MediaText(protection, keying))
		return
	}
	if why == "" {
		why = "the peer or the backend did not encrypt it"
	}
	fmt.Fprintf(w, "cusax: %s%s media in clear (plain RTP): %s\n", prefix, ios.Yellow("warning:"), TermSafe(why))
}

// ClearWhy says why media went in clear when the backend's Note does not:
// the backend cannot encrypt, or the setting said none.
func ClearWhy(note, setting string, info protocol.Info, backend string) string {
	switch {
	case note != "":
		return note
	case !info.Has(protocol.CapSRTP):
		return fmt.Sprintf("the telephony backend %q cannot encrypt media (no %s capability)", backend, protocol.CapSRTP)
	case setting == protocol.MediaEncryptionNone:
		return "media_encryption = none"
	}
	return ""
}
