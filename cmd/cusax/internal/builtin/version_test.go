package builtin

import (
	"context"
	"testing"

	"github.com/cusax/cusax/pkg/protocol"
	"github.com/hashicorp/go-hclog"
)

// Every built-in reports the version SetVersion gave it: `cusax plugins`
// and `cusax version` show the same one (issue 19: plugins said "dev").
func TestSetVersionReachesEveryBuiltIn(t *testing.T) {
	SetVersion("v9.8.7-test")
	defer SetVersion("dev")
	for _, b := range Plugins {
		cfg, err := Config(b.Kind, b.Name, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		var info protocol.Info
		switch {
		case cfg.IMPP != nil:
			info, err = cfg.IMPP.Info(context.Background())
		case cfg.Telephony != nil:
			info, err = cfg.Telephony.Info(context.Background())
		case cfg.Policy != nil:
			info, err = cfg.Policy.Info(context.Background())
		}
		if err != nil || info.Version != "v9.8.7-test" {
			t.Errorf("%s/%s: version %q, %v", b.Kind, b.Name, info.Version, err)
		}
	}
}
