// Package pluginhost finds, checks and launches cusax plugins through
// hashicorp/go-plugin (gRPC).
//
// Built-in plugins are served by the cusax binary itself, re-executed as
// `cusax __plugin KIND NAME` (the Packer model), so built-ins and
// third-party plugins share one code path. Third-party plugins are
// executables named cusax-plugin-KIND-NAME in the plugin directories; one
// with the same kind and name as a built-in overrides it. Every executable
// is hashed at discovery and go-plugin checks the hash again before it runs
// it, so a file swapped in between is refused.
//
// An external plugin that another user owns or could have written (the
// file or any directory above it, see package safepath) is refused:
// Discover lists it with Candidate.Refused, it overrides nothing, and Find
// never returns it (ErrRefused when nothing else has its name).
//
// Each plugin's socket lives in a directory only this user can enter,
// made and checked by the host whatever the umask; a plugin runs in its
// own process group, is stopped within a bound together with anything it
// started, and (plugin.Serve) logs out and exits when the host dies.
package pluginhost
