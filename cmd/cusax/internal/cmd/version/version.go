// Package version implements `cusax version`.
package version

import (
	"fmt"
	"runtime"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/protocol"
	"github.com/spf13/cobra"
)

// Info is the --json output.
type Info struct {
	Version    string `json:"version"`
	APIVersion int    `json:"plugin_api_version"`
	Go         string `json:"go"`
	Platform   string `json:"platform"`
}

// NewCmdVersion builds the command.
func NewCmdVersion(f *cmdutil.Factory, runF func(bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Show the cusax version and plugin API version",
		Args:  cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(asJSON)
			}
			v := Info{Version: f.Version, APIVersion: protocol.APIVersion, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
			if asJSON {
				return cmdutil.WriteJSON(f.IO.Out, cmdutil.Schema("version"), v)
			}
			_, err := fmt.Fprintf(f.IO.Out, "cusax %s (plugin API v%d, %s, %s)\n", v.Version, v.APIVersion, v.Go, v.Platform)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
