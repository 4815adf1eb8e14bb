package cusaxv1

import (
	"context"
	"errors"

	"github.com/cusax/cusax/pkg/protocol"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// errorDomain tags the ErrorInfo detail that carries a sentinel's name.
const errorDomain = "cusax.v1"

var sentinelCodes = map[string]codes.Code{
	"UNSUPPORTED":    codes.Unimplemented,
	"NOT_FOUND":      codes.NotFound,
	"AUTH":           codes.Unauthenticated,
	"DENIED":         codes.PermissionDenied,
	"UNREACHABLE":    codes.Unavailable,
	"TIMEOUT":        codes.DeadlineExceeded,
	"CERTIFICATE":    codes.FailedPrecondition,
	"INSECURE":       codes.FailedPrecondition,
	"PROTOCOL":       codes.Internal,
	"INVALID":        codes.InvalidArgument,
	"NOT_CONNECTED":  codes.FailedPrecondition,
	"MEDIA_INSECURE": codes.FailedPrecondition,
}

// toStatus turns a backend error into a gRPC status carrying the sentinel's
// name, so the host can rebuild the same sentinel (see fromStatus).
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok && protocol.SentinelName(err) == "" {
		return err
	}
	name := protocol.SentinelName(err)
	code := codes.Unknown
	switch {
	case name != "":
		code = sentinelCodes[name]
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code, name = codes.DeadlineExceeded, "TIMEOUT"
	}
	st := status.New(code, err.Error())
	if name != "" {
		if withInfo, derr := st.WithDetails(&errdetails.ErrorInfo{Reason: name, Domain: errorDomain}); derr == nil {
			st = withInfo
		}
	}
	return st.Err()
}

// wireError is an error rebuilt on the host side: the plugin's message,
// wrapping the same sentinel.
type wireError struct {
	msg      string
	sentinel error
}

func (e *wireError) Error() string { return e.msg }
func (e *wireError) Unwrap() error { return e.sentinel }

// fromStatus rebuilds the sentinel a plugin returned. Transport failures
// (the plugin died, the connection broke) come back as plain errors.
func fromStatus(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == errorDomain {
			if s, ok := protocol.Sentinels[info.GetReason()]; ok {
				return &wireError{msg: st.Message(), sentinel: s}
			}
		}
	}
	switch st.Code() {
	case codes.Canceled:
		return &wireError{msg: st.Message(), sentinel: context.Canceled}
	case codes.DeadlineExceeded:
		// The host's own deadline ran out before the plugin answered.
		return &wireError{msg: st.Message(), sentinel: protocol.ErrTimeout}
	case codes.Unimplemented:
		return &wireError{msg: st.Message(), sentinel: protocol.ErrUnsupported}
	case codes.Unavailable:
		return &wireError{msg: "plugin connection lost: " + st.Message(), sentinel: ErrPluginGone}
	}
	return errors.New(st.Message())
}

// ErrPluginGone means the plugin process went away mid-call.
var ErrPluginGone = errors.New("plugin exited")
