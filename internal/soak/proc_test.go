package soak

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// idRE finds the soak ids in a line of output: every message and call of
// the run carries one, unique across the run.
var idRE = regexp.MustCompile(`soak-[a-z0-9]+-r[0-9]+-[0-9]+`)

// tally counts, per id, how often it was sent and how often it arrived,
// over the whole run: a message sent in one round and delivered to the
// listener of a later one still counts as received (late, not lost).
type tally struct {
	mu   sync.Mutex
	sent map[string]bool
	got  map[string]int
}

func newTally() *tally { return &tally{sent: map[string]bool{}, got: map[string]int{}} }

func (t *tally) markSent(id string) {
	t.mu.Lock()
	t.sent[id] = true
	t.mu.Unlock()
}

// add counts the ids in one line of output.
func (t *tally) add(line string) {
	ids := idRE.FindAllString(line, -1)
	t.mu.Lock()
	for _, id := range ids {
		t.got[id]++
	}
	t.mu.Unlock()
}

// seen reports how many of ids arrived at least once.
func (t *tally) seen(ids []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, id := range ids {
		if t.got[id] > 0 {
			n++
		}
	}
	return n
}

// count sums the ids with prefix: sent, received (distinct), lost (sent,
// never received) and duplicated (extra copies received).
func (t *tally) count(prefix string) (sent, received, lost, dup int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id := range t.sent {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		sent++
		switch n := t.got[id]; {
		case n == 0:
			lost++
		default:
			received++
			dup += n - 1
		}
	}
	return
}

// proc is one cusax process the run started. Its stdout lines go to the
// tally (through a gate that can hold them: the slow reader), its stderr
// to a log file.
type proc struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	done chan struct{}
	code int // valid after done; -1: killed by a signal

	gate  sync.Mutex   // held by the harness: stdout is not read
	delay atomic.Int64 // per line read, in ns: the slow reader
	mu    sync.Mutex
	lines []string
	last  time.Time // when the last stdout line was read

	errPath  string    // its stderr, a file
	errLines []stamped // read back by tailStderr, when asked for
}

// stamped is a line of stderr and about when it was written (read back
// every 50 ms).
type stamped struct {
	text string
	at   time.Time
}

// exitText is an exit code as the table shows it.
func exitText(code int) string {
	if code < 0 {
		return "killed"
	}
	return strconv.Itoa(code)
}

// start runs cusax with args as user (its own config home), stdin a pipe.
func (r *run) start(name, user string, args ...string) (*proc, error) {
	home := r.homes[user]
	cmd := exec.Command(r.bin, append([]string{"--config", filepath.Join(home, "cusax", "config.toml")}, args...)...)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"CUSAX_SECRETS=file", "CUSAX_PLUGIN_PATH=", "NO_COLOR=1", "CI=")
	logf, err := os.OpenFile(filepath.Join(r.logDir, fmt.Sprintf("%03d-%s.stderr", r.nextLog(), name)), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, in: in, done: make(chan struct{}), last: time.Now(), errPath: logf.Name()}
	r.mu.Lock()
	r.procs = append(r.procs, p)
	r.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.gate.Lock() // the slow reader: held, nothing more is read from the pipe
			p.gate.Unlock()
			if d := time.Duration(p.delay.Load()); d > 0 {
				time.Sleep(d)
			}
			line := sc.Text()
			r.tally.add(line)
			p.mu.Lock()
			p.lines = append(p.lines, line)
			p.last = time.Now()
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
		err := cmd.Wait()
		logf.Close()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = 1
		}
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to exit and reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// stop ends p: stdin closed, then SIGINT (what Ctrl-C sends), then after
// grace SIGKILL. It reports whether p had to be killed (it hung).
func (p *proc) stop(grace time.Duration) (hung bool) {
	_ = p.in.Close()
	if p.exited() {
		return false
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	if p.wait(grace) {
		return false
	}
	_ = p.cmd.Process.Kill()
	p.wait(10 * time.Second)
	return true
}

// finish closes stdin and gives p up to d to end by itself (a sender
// sends what it was given, a one-shot command completes), then stops it.
// It reports whether p had to be stopped.
func (p *proc) finish(d time.Duration) (stopped bool) {
	_ = p.in.Close()
	if p.wait(d) {
		return false
	}
	p.stop(10 * time.Second)
	return true
}

// kill9 is a real `kill -9` of the host process alone: its plugin
// processes are not signalled (not the process group).
func (p *proc) kill9() {
	_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
	p.wait(10 * time.Second)
}

// quietFor reports how long p has printed nothing.
func (p *proc) quietFor() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(p.last)
}

// waitLine waits up to d for a stdout line containing s.
func (p *proc) waitLine(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.lines {
			if strings.Contains(l, s) {
				p.mu.Unlock()
				return true
			}
		}
		p.mu.Unlock()
		if p.exited() {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// tailStderr reads p's stderr file back as it grows, every 50 ms, until
// p has exited, so that waitStderr can see lines and when they came. (A
// file, not a pipe: plugin processes that inherit stderr would hold a pipe
// open and keep cmd.Wait from returning.)
func (p *proc) tailStderr() {
	go func() {
		f, err := os.Open(p.errPath)
		if err != nil {
			return
		}
		defer f.Close()
		var part []byte
		buf := make([]byte, 32<<10)
		for {
			exited := p.exited()
			for {
				n, _ := f.Read(buf)
				if n == 0 {
					break
				}
				part = append(part, buf[:n]...)
			}
			now := time.Now()
			p.mu.Lock()
			for {
				i := bytes.IndexByte(part, '\n')
				if i < 0 {
					break
				}
				p.errLines = append(p.errLines, stamped{string(part[:i]), now})
				part = part[i+1:]
			}
			p.mu.Unlock()
			if exited {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
}

// stderrLine returns the first stderr line read after since that match
// accepts (tailStderr must run).
func (p *proc) stderrLine(since time.Time, match func(string) bool) (stamped, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.errLines {
		if !l.at.Before(since) && match(l.text) {
			return l, true
		}
	}
	return stamped{}, false
}

// waitStderr waits up to d for stderrLine(since, match).
func (p *proc) waitStderr(since time.Time, match func(string) bool, d time.Duration) (stamped, bool) {
	deadline := time.Now().Add(d)
	for {
		if l, ok := p.stderrLine(since, match); ok || time.Now().After(deadline) || p.exited() {
			if !ok && p.exited() {
				time.Sleep(100 * time.Millisecond) // the last read after the exit
				l, ok = p.stderrLine(since, match)
			}
			return l, ok
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pluginProcs lists the running plugin processes of bin (cusax __plugin
// KIND NAME, the built-ins re-executed), by /proc/PID/exe, so that another
// cusax on the machine (other tests) does not count.
func pluginProcs(bin string) []int {
	real, err := filepath.EvalSymlinks(bin)
	if err != nil {
		real = bin
	}
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != real {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := bytes.Split(cmdline, []byte{0})
		if len(args) < 2 || string(args[1]) != "__plugin" {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue // a zombie has ended; its parent has not reaped it yet
		}
		pids = append(pids, pid)
	}
	sort.Ints(pids)
	return pids
}

// leftovers waits up to d for the plugin processes of bin to end once no
// host runs, then kills those left (they were started by our hosts) and
// returns how many there were.
func leftovers(bin string, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		pids := pluginProcs(bin)
		if len(pids) == 0 {
			return 0
		}
		if time.Now().After(deadline) {
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return len(pids)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
