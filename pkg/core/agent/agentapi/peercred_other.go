//go:build !linux

package agentapi

import (
	"fmt"
	"net"
)

// PeerUID is implemented on Linux only (SO_PEERCRED); elsewhere every peer
// is refused, so no socket is trusted without proof.
func PeerUID(c net.Conn) (int, error) {
	return -1, fmt.Errorf("peer credentials: not supported on this system")
}
