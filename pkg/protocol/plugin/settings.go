package plugin

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/cusax/cusax/pkg/protocol"
)

// PolicySettings reads the settings the host passed this policy plugin
// (protocol.PolicySettingsEnv): the config's [policies.NAME] table, or an
// empty map when there is none. A plugin calls it once at start and
// reports a bad value from Info, so cusax refuses to start it.
func PolicySettings() (map[string]string, error) {
	raw := os.Getenv(protocol.PolicySettingsEnv)
	settings := map[string]string{}
	if raw == "" {
		return settings, nil
	}
	if err := json.Unmarshal([]byte(raw), &settings); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object of strings: %w", protocol.PolicySettingsEnv, err)
	}
	return settings, nil
}
