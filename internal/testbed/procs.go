package testbed

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Linux process facts for tests that prove no process is left behind (a
// plugin outliving its host, a password command's children): they read
// /proc, as ps does.

// Children returns the pids whose parent is pid.
func Children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := procStat(c); ok && st.ppid == pid {
			out = append(out, c)
		}
	}
	return out
}

// ProcessGone reports whether pid no longer runs. A zombie counts as gone:
// it waits for a reaper that some container inits never are.
func ProcessGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	st, ok := procStat(pid)
	return !ok || st.state == 'Z'
}

type stat struct {
	state byte
	ppid  int
}

// procStat reads /proc/PID/stat: "pid (comm) state ppid …", where comm may
// hold spaces and parentheses, so the fields are counted after the last ')'.
func procStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return stat{}, false
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return stat{}, false
	}
	return stat{state: f[0][0], ppid: ppid}, true
}
