package audit

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteNDJSONAs is WriteNDJSON for a report published under another
// schema name (audit-contacts shares this report model as
// "cusax.audit-contacts/v1"): each line carries that name.
func WriteNDJSONAs(w io.Writer, schema string, findings []Finding) error {
	enc := json.NewEncoder(w)
	for _, f := range findings {
		if err := enc.Encode(ndjsonLine{Schema: schema, Finding: f}); err != nil {
			return fmt.Errorf("write finding %s: %w", f.ID, err)
		}
	}
	return nil
}
