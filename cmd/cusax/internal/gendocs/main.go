// Command gendocs writes the command reference (docs/commands/*.md) and man
// pages (given a directory) from cusax's cobra command tree, so that the
// reference never drifts from --help. Run with `make docs`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/cusax/cusax/cmd/cusax/internal/cli"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/spf13/cobra/doc"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: gendocs MARKDOWN_DIR [MAN_DIR]")
		os.Exit(2)
	}
	if err := markdown(os.Args[1]); err != nil {
		fail(err)
	}
	if len(os.Args) == 3 {
		if err := os.MkdirAll(os.Args[2], 0o755); err != nil {
			fail(err)
		}
		if err := manPages(os.Args[2]); err != nil {
			fail(err)
		}
	}
}

// manPages writes one man page per command into dir, with the sections
// cobra does not write (mansections.go).
func manPages(dir string) error {
	io, _, _, _ := iostreams.Test()
	root := cli.NewRootCmdForDocs(context.Background(), io)
	root.DisableAutoGenTag = true
	if err := doc.GenManTree(root, &doc.GenManHeader{Title: "CUSAX", Section: "1"}, dir); err != nil {
		return err
	}
	return addManSections(dir)
}

// markdown writes the command reference into dir.
func markdown(dir string) error {
	io, _, _, _ := iostreams.Test()
	root := cli.NewRootCmdForDocs(context.Background(), io)
	root.DisableAutoGenTag = true
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return doc.GenMarkdownTree(root, dir)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gendocs:", err)
	os.Exit(1)
}
