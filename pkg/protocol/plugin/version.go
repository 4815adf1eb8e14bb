package plugin

import (
	"runtime/debug"
	"strings"
)

// BuildVersion is the version a binary reports: set when a release build
// gave one (-ldflags -X, anything but "" or "dev"), otherwise what the Go
// toolchain recorded in the binary: the module version of a
// `go install module/cmd@vX.Y.Z` build, else the VCS revision (12 hex
// digits, "-dirty" for a modified tree), else "dev". cusax and the
// standalone plugins of one build all call it, so `cusax version` and
// `cusax plugins` report the same version.
func BuildVersion(set string) string {
	if set != "" && set != "dev" {
		return set
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return versionFromBuildInfo(bi)
}

func versionFromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "dev"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified && !strings.HasSuffix(rev, "-dirty") {
		rev += "-dirty"
	}
	return rev
}
