package cmdutil

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/cusax/cusax/cmd/cusax/internal/iostreams"
	"golang.org/x/term"
)

// Prompt asks for a line on the terminal (question on stderr).
func Prompt(io *iostreams.IOStreams, question string) (string, error) {
	if !io.CanPrompt() {
		return "", fmt.Errorf("cannot ask %q: stdin is not a terminal", question)
	}
	fmt.Fprint(io.ErrOut, question)
	line, err := bufio.NewReader(io.In).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// PromptSecret asks for a secret without echoing it.
func PromptSecret(io *iostreams.IOStreams, question string) (string, error) {
	if !io.CanPrompt() {
		return "", fmt.Errorf("cannot ask for a password: stdin is not a terminal")
	}
	fmt.Fprint(io.ErrOut, question)
	b, err := term.ReadPassword(int(os.Stdin.Fd()))
	fmt.Fprintln(io.ErrOut)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	return string(b), nil
}
