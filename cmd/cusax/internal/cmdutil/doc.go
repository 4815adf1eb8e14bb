// Package cmdutil holds what every command shares: the Factory of lazy
// dependencies, the exit-code table, usage and hint errors, and JSON output.
package cmdutil
