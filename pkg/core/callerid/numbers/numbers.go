// Package numbers gives cusax full E.164 normalisation of national phone
// numbers without linking a phone-number library into cusax: the numbers a
// judgement will ask about are collected first and converted in one run of
// the cusax-numbers program (see cmd/cusax-numbers for why it is separate).
package numbers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cusax/cusax/pkg/core/callerid"
)

// Program is the helper's name, looked for next to the cusax executable,
// then in PATH.
const Program = "cusax-numbers"

// ErrNoProgram means cusax-numbers is neither beside cusax nor on PATH.
var ErrNoProgram = errors.New(Program + " not found beside cusax or on PATH")

// Recorder is a NumberNormalizer that answers international numbers at
// once (callerid.GlobalOnly) and records the others, to be converted in
// one batch.
type Recorder struct {
	mu   sync.Mutex
	seen map[string]bool
}

// E164 implements callerid.NumberNormalizer.
func (r *Recorder) E164(number string) (string, bool) {
	if e, ok := callerid.GlobalOnly.E164(number); ok {
		return e, true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[strings.TrimSpace(number)] = true
	return "", false
}

// Numbers returns what was recorded.
func (r *Recorder) Numbers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for n := range r.seen {
		out = append(out, n)
	}
	return out
}

// Table is a NumberNormalizer over converted numbers (GlobalOnly first).
type Table map[string]string

// E164 implements callerid.NumberNormalizer.
func (t Table) E164(number string) (string, bool) {
	if e, ok := callerid.GlobalOnly.E164(number); ok {
		return e, true
	}
	e, ok := t[strings.TrimSpace(number)]
	return e, ok && e != ""
}

// Find locates cusax-numbers: beside the running executable, else in PATH.
func Find() (string, error) {
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), programFile(runtime.GOOS))
		// Windows has no execute bit: the .exe name is what makes it one.
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && (runtime.GOOS == "windows" || st.Mode()&0o111 != 0) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(Program); err == nil {
		return p, nil
	}
	return "", ErrNoProgram
}

// programFile is the helper's file name on goos: the release archive for
// Windows holds cusax-numbers.exe beside cusax.exe.
func programFile(goos string) string {
	if goos == "windows" {
		return Program + ".exe"
	}
	return Program
}

// Convert runs cusax-numbers once for numbers in region and returns the
// table of those it could convert. It is bounded by ctx and 10 s.
func Convert(ctx context.Context, program, region string, numbers []string) (Table, error) {
	t := Table{}
	if len(numbers) == 0 {
		return t, nil
	}
	for _, n := range numbers {
		if strings.ContainsAny(n, "\r\n") {
			return nil, fmt.Errorf("%s: number with a line break", Program)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, "-region", region)
	cmd.Stdin = strings.NewReader(strings.Join(numbers, "\n") + "\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", Program, err, strings.TrimSpace(stderr.String()))
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for i := 0; sc.Scan() && i < len(numbers); i++ {
		if e := strings.TrimSpace(sc.Text()); strings.HasPrefix(e, "+") {
			t[numbers[i]] = e
		}
	}
	return t, nil
}
