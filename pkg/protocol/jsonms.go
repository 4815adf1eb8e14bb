package protocol

import (
	"bytes"
	"encoding/json"
)

// marshalNoEscape is json.Marshal without HTML escaping: reports quote
// <sip:…> addresses, and cusax prints them as they are.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// cusax's JSON has one unit of time, integer milliseconds (docs/json.md):
// the durations of these events are written as *_ms.

// MarshalJSON writes SetupTime and Duration as setup_ms and duration_ms.
func (e CallEvent) MarshalJSON() ([]byte, error) {
	type plain CallEvent // no MarshalJSON: no recursion
	return marshalNoEscape(struct {
		plain
		SetupMS    int64 `json:"setup_ms,omitempty"`
		DurationMS int64 `json:"duration_ms,omitempty"`
	}{plain(e), e.SetupTime.Milliseconds(), e.Duration.Milliseconds()})
}

// MarshalJSON writes Down and Retry as down_ms and retry_ms.
func (e RegistrationEvent) MarshalJSON() ([]byte, error) {
	type plain RegistrationEvent // no MarshalJSON: no recursion
	return marshalNoEscape(struct {
		plain
		DownMS  int64 `json:"down_ms,omitempty"`
		RetryMS int64 `json:"retry_ms,omitempty"`
	}{plain(e), e.Down.Milliseconds(), e.Retry.Milliseconds()})
}

// MarshalJSON writes Duration as duration_ms.
func (e AnswerEvent) MarshalJSON() ([]byte, error) {
	type plain AnswerEvent // no MarshalJSON: no recursion
	return marshalNoEscape(struct {
		plain
		DurationMS int64 `json:"duration_ms,omitempty"`
	}{plain(e), e.Duration.Milliseconds()})
}
