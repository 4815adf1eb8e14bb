// Command cusax is one tool for the combined use of SIP and XMPP (RFC 7081):
// SIP for calls, XMPP for chat, presence, the roster and vCards.
package main

import (
	"os"

	"github.com/cusax/cusax/cmd/cusax/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
