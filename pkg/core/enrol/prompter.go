package enrol

// Prompter asks the user. The command implements it on its terminal; tests
// script it. When CanPrompt is false nothing is asked and the workflow
// fails with a usage *Error that names the flag to use instead, exactly as
// a non-interactive run always has.
type Prompter interface {
	// CanPrompt reports whether someone can answer (stdin and stderr are a
	// terminal).
	CanPrompt() bool
	// Prompt asks for a line (echoed), e.g. a user ID.
	Prompt(question string) (string, error)
	// PromptSecret asks for a password or token without echoing it.
	PromptSecret(question string) (string, error)
}

// NoPrompter never asks: CanPrompt is false.
type NoPrompter struct{}

func (NoPrompter) CanPrompt() bool                     { return false }
func (NoPrompter) Prompt(string) (string, error)       { return "", errNoTerminal }
func (NoPrompter) PromptSecret(string) (string, error) { return "", errNoTerminal }

var errNoTerminal = usagef(nil, "cannot ask: stdin is not a terminal")

func canPrompt(p Prompter) bool { return p != nil && p.CanPrompt() }
