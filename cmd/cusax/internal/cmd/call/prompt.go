package call

import (
	"context"
	"fmt"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"github.com/cusax/cusax/pkg/core/callplan"
)

// prompter asks the plan's questions on the terminal: the note and the
// numbered choices on stderr, the answer from stdin.
type prompter struct{ io *iostreams.IOStreams }

// CanPrompt: prompts need a terminal on both stdin and stderr.
func (p prompter) CanPrompt() bool { return p.io.CanPrompt() }

func (p prompter) Ask(_ context.Context, q callplan.Question) (string, error) {
	if q.Note != "" {
		fmt.Fprintf(p.io.ErrOut, "cusax: %s\n", q.Note)
	}
	for i, c := range q.Choices {
		fmt.Fprintf(p.io.ErrOut, "  %d) %s\n", i+1, c)
	}
	return cmdutil.Prompt(p.io, q.Prompt)
}
