package testbed

import (
	"errors"
	"time"
)

// RestartProsodyAfter is RestartProsody with Prosody down for pause in
// between: an outage long enough for clients to notice and to queue what
// they send meanwhile.
func (b *Bed) RestartProsodyAfter(pause time.Duration) error {
	if b.prosody == nil {
		return errors.New("prosody is not running")
	}
	_ = b.prosody.proc.stop()
	time.Sleep(pause)
	return b.RestartProsody()
}

// StopProsody stops Prosody until RestartProsody starts it again: an
// outage whose end the caller decides (when what it queues meanwhile is
// under way), rather than a fixed pause.
func (b *Bed) StopProsody() error {
	if b.prosody == nil {
		return errors.New("prosody is not running")
	}
	return b.prosody.proc.stop()
}
