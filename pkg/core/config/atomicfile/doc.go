// Package atomicfile writes small files so that readers see either the old
// content or the new content, never a mix, and holds advisory locks around
// read-modify-write cycles.
//
// It exists so that the config file and the secrets file beside it share one
// careful implementation. A writer locks its temporary file until the
// rename, so that RemoveStale can tell the leftovers of a killed writer
// (which may hold passwords) from a write in progress. It never prints and never exits; every failure is
// returned as an error that names the path and the step that failed.
package atomicfile
