package audittls

import (
	"bytes"
	"fmt"
	"io"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/atomicfile"
	"github.com/cusax/cusax/pkg/core/audit"
	"github.com/cusax/cusax/pkg/core/auditreport"
)

// outputPerm is the mode of an --output file: readable by others, because
// the node-exporter textfile collector and web servers run as their own
// users; the report holds no secret (no credentials are ever sent).
const outputPerm = 0o644

// writeReport writes the report in the chosen format to stdout, or with
// --output to that file, atomically: the whole report is rendered first,
// then written to a temporary file in the same directory and renamed over
// the target (pkg/atomicfile), so a collector that reads the file at any
// moment sees the previous report or the new one, never a part.
func writeReport(s *iostreams.IOStreams, output string, st setup, all []audit.AccountFacts, r audit.Report) error {
	if output == "" {
		return render(s, s.Out, st, all, r)
	}
	var buf bytes.Buffer
	// No colour in a file, whatever the terminal.
	if err := render(&iostreams.IOStreams{Out: &buf, ErrOut: s.ErrOut}, &buf, st, all, r); err != nil {
		return err
	}
	if err := atomicfile.Write(output, buf.Bytes(), outputPerm); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return nil
}

func render(s *iostreams.IOStreams, w io.Writer, st setup, all []audit.AccountFacts, r audit.Report) error {
	switch st.format {
	case "json":
		return r.WriteJSON(w)
	case "ndjson":
		return audit.WriteNDJSON(w, r.Findings)
	case "openmetrics":
		return auditreport.WriteOpenMetrics(w, reportInput(st, all, r))
	case "html":
		return auditreport.WriteHTML(w, reportInput(st, all, r))
	}
	return writeText(s, all, r)
}

func reportInput(st setup, all []audit.AccountFacts, r audit.Report) auditreport.Input {
	in := auditreport.Input{Command: "audit-tls", Report: r, Certificates: auditreport.CertificatesOf(all)}
	for _, t := range st.targets {
		in.Targets = append(in.Targets, t.Name)
	}
	return in
}
