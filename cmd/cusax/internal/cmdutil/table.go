package cmdutil

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// Table prints rows aligned for people on a terminal, and as stable
// tab-separated values when piped: no header unless TSVHeader (--header)
// names the columns, as gh does.
type Table struct {
	w         io.Writer
	tty       bool
	header    []string
	tsvHeader []string
	rows      [][]string
}

// HeaderFlag adds --header to a command that prints a table.
func HeaderFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "header", false, "when piped, print the column names as the first line (a terminal always shows them)")
}

// TSVHeader sets the column names a piped table starts with (nil: none,
// the default). They are stable, lower-case names, documented with the
// command; a terminal shows the header given to NewTable instead.
func (t *Table) TSVHeader(names ...string) { t.tsvHeader = names }

// NewTable starts a table with a header (shown on terminals only).
func NewTable(w io.Writer, tty bool, header ...string) *Table {
	return &Table{w: w, tty: tty, header: header}
}

// Row adds a row; tabs and newlines in cells are replaced by spaces so
// that TSV stays parseable. On a terminal, control and bidi characters
// (names and groups come from the server and from contacts) are shown
// escaped (TermSafe).
func (t *Table) Row(cells ...string) {
	clean := make([]string, len(cells))
	for i, c := range cells {
		clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
		if t.tty {
			clean[i] = TermSafe(clean[i])
		}
	}
	t.rows = append(t.rows, clean)
}

// Flush writes the table.
func (t *Table) Flush() error {
	if !t.tty {
		if len(t.tsvHeader) > 0 {
			if _, err := fmt.Fprintln(t.w, strings.Join(t.tsvHeader, "\t")); err != nil {
				return err
			}
		}
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(t.w, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(t.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.header, "\t"))
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
