//go:build diagoeval

package testbed

import (
	"bytes"
	"os/exec"
	"strings"
	"sync"
)

var execCommand = exec.Command

type safeBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *safeBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func indexOf(s, sub string) int { return strings.Index(s, sub) }
