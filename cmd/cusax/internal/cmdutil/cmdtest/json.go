package cmdtest

import (
	"encoding/json"
	"fmt"
)

// UnmarshalList decodes the list under key of a JSON document (status's
// "accounts", plugins' "plugins", roster's "contacts") into v, and checks
// that the document names its schema.
func UnmarshalList(data, key string, v any) error {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(data), &doc); err != nil {
		return err
	}
	if _, ok := doc["schema"]; !ok {
		return fmt.Errorf("the document has no schema")
	}
	list, ok := doc[key]
	if !ok {
		return fmt.Errorf("the document has no %q", key)
	}
	return json.Unmarshal(list, v)
}
