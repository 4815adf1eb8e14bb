// Package jsoncheck holds cusax's JSON output to its published contract,
// for tests: every document names its schema, validates against the JSON
// Schema file of that name under docs/schema, and keeps the vocabulary of
// docs/json.md (snake_case keys, durations as integer *_ms, times as
// RFC 3339 *_at, chat/telephony rather than xmpp/sip objects).
package jsoncheck
