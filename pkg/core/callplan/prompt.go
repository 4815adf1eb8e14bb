package callplan

import "context"

// Question is what the plan asks the user: a note (the policy's reason,
// or what needs choosing), numbered choices (1…n) and the question line.
type Question struct {
	Note    string
	Choices []string
	Prompt  string
}

// Prompter asks the user what the plan cannot decide alone: which number
// (RFC 7081 §3.3), which account (§3.4, strategy 7), whether a call that
// may cost money goes ahead (§5). The command implements it on its
// terminal; tests script it. A nil Prompter, or one that cannot prompt,
// is never asked: the documented non-interactive behaviour applies (an
// error that names the flag that decides).
type Prompter interface {
	// CanPrompt reports whether the user can be asked (a terminal).
	CanPrompt() bool
	// Ask shows q and returns the answer, trimmed.
	Ask(ctx context.Context, q Question) (string, error)
}

func canPrompt(p Prompter) bool { return p != nil && p.CanPrompt() }
