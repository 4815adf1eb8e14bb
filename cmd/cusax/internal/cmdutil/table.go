package cmdutil

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Table prints rows aligned for people on a terminal, and as stable
// tab-separated values (no header) when piped.
type Table struct {
	w      io.Writer
	tty    bool
	header []string
	rows   [][]string
}

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
