package call

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// mediaKeyingFlag adds --media-keying (how SRTP is keyed when offered)
// with completion of its values.
func mediaKeyingFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "media-keying", "",
		"sdes (SRTP keys in the SDP, over TLS only) or dtls (DTLS-SRTP, RFC 5763); default: the account's media_keying, else sdes")
	_ = cmd.RegisterFlagCompletionFunc("media-keying", cobra.FixedCompletions(protocol.Keyings, cobra.ShellCompDirectiveNoFileComp))
}

// checkMediaKeying validates --media-keying when it was given (exit 2).
func checkMediaKeying(cmd *cobra.Command, v string) error {
	if !cmd.Flags().Changed("media-keying") || slices.Contains(protocol.Keyings, v) {
		return nil
	}
	return cmdutil.Usagef("--media-keying %q: want %s", v, strings.Join(protocol.Keyings, ", "))
}

// mediaKeying is the effective keying for account a: the flag wins over
// [accounts.NAME.sip] media_keying; "" is SDES.
func mediaKeying(flag string, a config.Account) string {
	if flag != "" || a.SIP == nil {
		return flag
	}
	return a.SIP.MediaKeying
}
