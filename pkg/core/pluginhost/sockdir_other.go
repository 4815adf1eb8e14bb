//go:build !unix

package pluginhost

// newSocketDir: go-plugin uses loopback TCP, not Unix sockets, here.
func newSocketDir() (string, error) { return "", nil }
