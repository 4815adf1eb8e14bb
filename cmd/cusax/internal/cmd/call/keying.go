package call

import (
	"github.com/spf13/cobra"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/config"
	"github.com/cusax/cusax/pkg/protocol"
)

// mediaKeyingFlag adds --media-keying (how SRTP is keyed when offered)
// with completion of its values.
func mediaKeyingFlag(cmd *cobra.Command, v *string) {
	cmdutil.EnumFlag(cmd, v, "media-keying",
		"sdes (SRTP keys in the SDP, over TLS only) or dtls (DTLS-SRTP, RFC 5763); default: the account's media_keying, else sdes",
		protocol.Keyings)
}

// checkMediaKeying validates --media-keying when it was given (exit 2).
func checkMediaKeying(cmd *cobra.Command, v string) error {
	return cmdutil.CheckEnum(cmd, "media-keying", v, protocol.Keyings)
}

// mediaKeying is the effective keying for account a: the flag wins over
// the media_keying of the account's [account.sip] table; "" is SDES.
func mediaKeying(flag string, a config.Account) string {
	if flag != "" || a.SIP == nil {
		return flag
	}
	return a.SIP.MediaKeying
}
