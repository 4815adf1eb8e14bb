//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package secrets

import (
	"context"
	"errors"
	"fmt"
	"os"

	ss "github.com/zalando/go-keyring/secret_service"
)

var errNoSessionBus = errors.New("no D-Bus session bus")

// probeOSKeyring checks that a Secret Service answers on the session bus.
// It opens and closes a session, which neither unlocks a collection nor
// prompts. It first looks for a session bus address the way godbus does,
// so that on a headless machine it fails at once instead of letting godbus
// run dbus-launch (which fails with `exec: "dbus-launch": executable file
// not found`, or worse, starts a bus with no Secret Service).
func probeOSKeyring(context.Context) error {
	if !sessionBusAvailable() {
		return errNoSessionBus
	}
	svc, err := ss.NewSecretService()
	if err != nil {
		return fmt.Errorf("connect to the session bus: %w", err)
	}
	session, err := svc.OpenSession()
	if err != nil {
		return fmt.Errorf("open a Secret Service session: %w", err)
	}
	_ = svc.Close(session)
	return nil
}

func sessionBusAvailable() bool {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return true
	}
	dir := fmt.Sprintf("/run/user/%d", os.Getuid())
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(dir + "/" + name); err == nil {
			return true
		}
	}
	return false
}
