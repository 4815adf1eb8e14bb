package status

import (
	"testing"
	"time"

	"github.com/cusax/cusax/pkg/core/config"
)

func TestRefreshDue(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		p    *config.Provisioning
		want bool
	}{
		{nil, false},
		{&config.Provisioning{Fetched: now.Add(-48 * time.Hour)}, false}, // no hint: never due
		{&config.Provisioning{RefreshAfter: "24h", Fetched: now.Add(-25 * time.Hour)}, true},
		{&config.Provisioning{RefreshAfter: "24h", Fetched: now.Add(-23 * time.Hour)}, false},
		{&config.Provisioning{RefreshAfter: "24h"}, false}, // never fetched: nothing to compare
		{&config.Provisioning{RefreshAfter: "soon", Fetched: now.Add(-1000 * time.Hour)}, false},
	} {
		if got := refreshDue(c.p, now); got != c.want {
			t.Errorf("%+v: %v, want %v", c.p, got, c.want)
		}
	}
}
