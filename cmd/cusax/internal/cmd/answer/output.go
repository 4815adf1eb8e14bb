package answer

import (
	"fmt"
	"strings"
	"sync"

	"github.com/cusax/cusax/cmd/cusax/internal/cmdutil"
	"github.com/cusax/cusax/pkg/core/answering"
	"github.com/cusax/cusax/pkg/protocol"
)

// printer writes one line (or JSON object) per call, whole, whatever the
// number of calls ending at once.
type printer struct {
	o     *Options
	mu    sync.Mutex
	first error
	// failed is closed at the first write error (stdout closed by its
	// reader): the listener stops rather than take calls nobody sees.
	failed chan struct{}
}

func newPrinter(o *Options) *printer { return &printer{o: o, failed: make(chan struct{})} }

func (p *printer) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.first
}

func (p *printer) print(r answering.Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	io := p.o.F.IO
	if r.Verdict == "mismatch" {
		// Loudly, and on stderr even with --json: a possible spoof.
		fmt.Fprintf(io.ErrOut, "cusax: warning: the caller claims to be %s, but that contact's vCard does not list %s: possible spoof (RFC 6993 §4)\n",
			cmdutil.TermSafe(r.Hint), cmdutil.TermSafe(r.Caller))
	}
	if r.Exec != nil && r.Exec.Failed() {
		fmt.Fprintf(io.ErrOut, "cusax: answer: call %s: --exec %s\n", cmdutil.TermSafe(r.CallID), r.Exec.Error)
	}
	if r.Error != "" {
		fmt.Fprintf(io.ErrOut, "cusax: answer: call %s: %s\n", cmdutil.TermSafe(r.CallID), cmdutil.TermSafe(r.Error))
	}
	if r.Action == answering.ActionAnswered && r.MediaProtection == protocol.MediaInClear {
		// RFC 7590 §3.6 applied to media: on stderr, even with --json.
		m := p.o.media
		cmdutil.ReportMedia(io, "answer: call "+cmdutil.TermSafe(r.CallID)+": ", r.MediaProtection, r.MediaKeying,
			cmdutil.ClearWhy(r.Note, m.setting, m.info, m.backend))
	}
	if r.NotifyError != "" {
		fmt.Fprintf(io.ErrOut, "cusax: answer: call %s: --notify: %s\n", cmdutil.TermSafe(r.CallID), cmdutil.TermSafe(r.NotifyError))
	}
	var err error
	if p.o.JSON {
		err = cmdutil.WriteJSONLine(io.Out, cmdutil.Schema("answer"), r)
	} else {
		_, err = fmt.Fprintln(io.Out, line(r))
	}
	if err != nil && p.first == nil {
		p.first = err
		close(p.failed)
	}
}

// line is the human form: action, call-ID, who, verdict, then what
// happened, tab-separated.
func line(r answering.Report) string {
	f := []string{r.Action, r.CallID, r.Who(), r.Verdict}
	switch r.Action {
	case answering.ActionAnswered:
		f = append(f, fmt.Sprintf("%.1f s", float64(r.DurationMS)/1000), "hung up by "+r.HungUpBy)
		if r.Digits != "" {
			f = append(f, "digits "+r.Digits)
		}
		if r.Recorded != "" {
			f = append(f, "saved to "+r.Recorded)
		}
		f = append(f, "media "+cmdutil.MediaText(r.MediaProtection, r.MediaKeying))
		if r.SRTPAuthFailures > 0 {
			f = append(f, fmt.Sprintf("%d SRTP packets failed authentication", r.SRTPAuthFailures))
		}
	default:
		if r.Status != 0 {
			f = append(f, fmt.Sprintf("%d", r.Status))
		}
		f = append(f, r.Decision.Policy+": "+r.Decision.Reason)
		if r.Status == 488 && r.Note != "" {
			// Refused for its media (RFC 3264 §6): say why.
			f = append(f, r.Note)
		}
	}
	if r.Exec != nil {
		if r.Exec.ExitStatus != nil {
			f = append(f, fmt.Sprintf("exec exit %d", *r.Exec.ExitStatus))
		} else {
			f = append(f, "exec failed")
		}
	}
	for i := range f {
		f[i] = strings.ReplaceAll(cmdutil.TermSafe(f[i]), "\t", " ")
	}
	return strings.Join(f, "\t")
}
