// Package soak is the fault-and-load run of cusax against the real test
// bed (internal/testbed), started by `make soak` and never by `make test`:
// its only test, TestSoak, skips unless CUSAX_SOAK=1.
//
// Each round repeats the adversarial runs of issue 13 with a built cusax
// binary — a message flood into `cusax chat --listen` whose stdout is read
// slowly, `kill -9` of the listening host at a random point, a Prosody
// restart in the middle of a flood, a Kamailio restart under
// `whois-caller --listen` (over TCP and over UDP), and plugin directories another user could have
// written — and counts, by a unique id in every message or call, what was
// sent, received, lost and duplicated, the plugin processes left behind
// and the exit codes seen. The table is printed as Markdown. Losses do not
// fail the run (the table is the result) unless SOAK_STRICT=1.
//
// See docs/soak.md for the knobs and how to read the table.
package soak
