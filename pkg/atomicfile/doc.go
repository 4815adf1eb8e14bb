// Package atomicfile writes small files so that readers see either the old
// content or the new content, never a mix, and holds advisory locks around
// read-modify-write cycles.
//
// It exists so that everything cusax writes that must never be seen half
// written — the config file, the secrets file beside it, caches, audit
// state, call recordings (File, for content written over time) — shares
// one careful implementation. It is a leaf: it imports nothing of cusax,
// so backends (a recording is written by the telephony plugin) use it too. A writer locks its temporary file until the
// rename, so that RemoveStale can tell the leftovers of a killed writer
// (which may hold passwords) from a write in progress. It never prints and never exits; every failure is
// returned as an error that names the path and the step that failed.
package atomicfile
