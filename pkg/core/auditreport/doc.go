// Package auditreport renders an audit report (pkg/core/audit's Report and
// Finding model) in the formats operators read outside a terminal:
// OpenMetrics for Prometheus's node-exporter textfile collector, and one
// self-contained HTML page for a batch of targets.
//
// It is shared by every command that produces the audit report model
// (audit-tls, audit-contacts): the command names itself in Input.Command,
// which becomes the "command" label of every metric and the page title, so
// two commands can write their files into one textfile directory without
// clashing metric families.
//
// The renderers are pure: they read Input and write to an io.Writer. How
// the bytes reach a file (atomically, for the textfile collector) is the
// caller's business (pkg/atomicfile).
package auditreport
