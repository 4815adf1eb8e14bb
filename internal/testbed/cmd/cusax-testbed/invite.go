package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cusax/cusax/internal/testbed"
)

// headerList is a repeatable --header flag: one "Name: value" line each, in order.
type headerList []string

func (h *headerList) String() string { return strings.Join(*h, "; ") }

func (h *headerList) Set(v string) error {
	if name, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	*h = append(*h, v)
	return nil
}

// inviteOptions are the flags of `cusax-testbed invite`.
type inviteOptions struct {
	Dir, From, To string
	Headers       headerList
	Expect        int
	Timeout       time.Duration
}

// invite places one call through the Kamailio of the bed running in o.Dir with
// testbed.SippInvite (sipp as bed user o.From, answering the digest challenge) and checks the
// callee's final response. It prints, one tab-separated key and value a line, the final
// status, the Call-ID and how long sipp ran. The callers it knows are the bed's fixed users
// (bed.json holds their passwords), not those added at run time such as the --callee.
func invite(o inviteOptions, stdout io.Writer) error {
	b, err := loadBed(o.Dir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	res, err := b.SippInvite(ctx, testbed.SippInviteOptions{
		From: o.From, To: o.To, Headers: o.Headers, ExpectStatus: o.Expect,
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "status\t%d\ncall-id\t%s\nelapsed\t%d ms\n", res.Status, res.CallID, res.Elapsed.Milliseconds())
	return err
}

// loadBed describes the bed running in dir from its bed.json: its addresses and its fixed
// users with their passwords. It owns no process: never Stop it.
func loadBed(dir string) (*testbed.Bed, error) {
	path := filepath.Join(dir, "bed.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no bed runs in %s (no bed.json); start one with: cusax-testbed up --dir %s", dir, dir)
	}
	if err != nil {
		return nil, err
	}
	info := bedInfo{Bed: &testbed.Bed{}}
	if err := json.Unmarshal(data, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if info.Bed.SIPUDPAddr == "" || info.Bed.Domain == "" {
		return nil, fmt.Errorf("%s: no SIP address or domain", path)
	}
	return info.Bed, nil
}
