package sip

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// slogToHCLog forwards sipgo's log/slog output to hclog, one level lower
// than sipgo chose: sipgo logs expected events (an ICMP error, a closed
// connection) as errors, and a plugin's stderr is the user's terminal.
type slogToHCLog struct {
	log   hclog.Logger
	attrs []any
}

func newSlogLogger(l hclog.Logger) *slog.Logger {
	return slog.New(&slogToHCLog{log: l})
}

func (h *slogToHCLog) level(l slog.Level) hclog.Level {
	switch {
	case l >= slog.LevelWarn:
		return hclog.Debug
	default:
		return hclog.Trace
	}
}

func (h *slogToHCLog) Enabled(_ context.Context, l slog.Level) bool {
	switch h.level(l) {
	case hclog.Debug:
		return h.log.IsDebug()
	default:
		return h.log.IsTrace()
	}
}

func (h *slogToHCLog) Handle(_ context.Context, r slog.Record) error {
	args := append([]any(nil), h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = append(args, a.Key, redactValue(a.Value.Resolve().Any()))
		return true
	})
	h.log.Log(h.level(r.Level), "sipgo: "+redact(r.Message), args...)
	return nil
}

func (h *slogToHCLog) WithAttrs(as []slog.Attr) slog.Handler {
	n := &slogToHCLog{log: h.log, attrs: append([]any(nil), h.attrs...)}
	for _, a := range as {
		n.attrs = append(n.attrs, a.Key, redactValue(a.Value.Resolve().Any()))
	}
	return n
}

// redactValue is v as logged, with credentials and SDES keys removed:
// sipgo logs whole messages (a datagram it could not parse, a request)
// as strings, errors or Stringers.
func redactValue(v any) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case []byte:
		return redact(string(x))
	case error:
		return redact(x.Error())
	case fmt.Stringer:
		return redact(x.String())
	}
	return v
}

func (h *slogToHCLog) WithGroup(string) slog.Handler { return h }

// credentialHeader matches the value of an Authorization or
// Proxy-Authorization header (long or compact form has none) up to the end
// of the line.
var credentialHeader = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?im)^((?:proxy-)?authorization[ \t]*:)[^\r\n]*`) })

// redact removes credentials from a SIP message for tracing. The digest
// response is not the password, but it allows an offline guess of it.
// SDP a=crypto keys (RFC 4568 §6.1) are secrets too: whoever holds one
// decrypts the call's media.
func redact(msg string) string {
	return redactKeys(credentialHeader().ReplaceAllString(msg, "$1 <redacted>"))
}
