package answer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary doubles as the --exec handler (no shell): with
// ANSWER_HELPER set it acts by the call's CUSAX_CALL_ID: "fail-…" exits 3,
// "hang-…" never ends, any other writes its CUSAX_ variables to
// DIR/CALL-ID, DIR being its last argument.
func TestMain(m *testing.M) {
	if os.Getenv("ANSWER_HELPER") == "" {
		os.Exit(m.Run())
	}
	id := os.Getenv("CUSAX_CALL_ID")
	switch {
	case strings.HasPrefix(id, "fail-"):
		os.Exit(3)
	case strings.HasPrefix(id, "hang-"):
		select {}
	}
	var lines []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CUSAX_") {
			lines = append(lines, kv)
		}
	}
	dir := os.Args[len(os.Args)-1]
	tmp := filepath.Join(dir, "."+id)
	if os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600) != nil || os.Rename(tmp, filepath.Join(dir, id)) != nil {
		os.Exit(9)
	}
	os.Exit(0)
}

// handler returns the --exec flags that run the test binary as the
// handler, and the directory it writes to.
func handler(t *testing.T) (args []string, dir string) {
	t.Helper()
	t.Setenv("ANSWER_HELPER", "1")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	return []string{"--exec", self, "--", "-test.run=^$", dir}, dir
}

// TestAnswerExec: the handler runs after the call with the documented
// variables in its environment, as argv and environment only.
func TestAnswerExec(t *testing.T) {
	e, _ := env(t)
	h, dir := handler(t)
	rec := t.TempDir()
	s := start(t, e, append([]string{"--json", "--max-calls", "1", "--record", rec + "/{caller}.wav"}, h...)...)
	b := e.Source.Telephony["sip"].(*answeringBackend)
	b.digits["bob-1"] = "42"
	s.ring(bob("bob-1"))
	r := s.wait()
	got := reports(t, r.Stdout)["bob-1"]
	if r.Code != 0 || got.Exec == nil || got.Exec.ExitStatus == nil || *got.Exec.ExitStatus != 0 || got.Exec.On != "end" {
		t.Fatalf("exit %d, report %+v\n%s", r.Code, got, r.Stderr)
	}
	b2, err := os.ReadFile(filepath.Join(dir, "bob-1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CUSAX_CALLER=sip:bob@example.com", "CUSAX_CONTACT=bob@example.com", "CUSAX_VERDICT=verified",
		"CUSAX_RECORDING=" + filepath.Join(rec, "bob.wav"), "CUSAX_DIGITS=42", "CUSAX_CALL_ID=bob-1", "CUSAX_EVENT=end",
		"CUSAX_ACTION=answered", "CUSAX_ACCOUNT=home", "CUSAX_HUNG_UP_BY=caller", "CUSAX_DURATION_MS=12000"} {
		if !strings.Contains(string(b2), want+"\n") {
			t.Errorf("handler env lacks %s:\n%s", want, b2)
		}
	}
}

// TestAnswerExecFailures: a handler that exits 3, and one that hangs past
// --exec-timeout (killed), are reported on stderr and in the JSON, and
// the listener goes on answering.
func TestAnswerExecFailures(t *testing.T) {
	e, b := env(t)
	h, dir := handler(t)
	s := start(t, e, append([]string{"--json", "--max-calls", "3", "--concurrency", "3", "--exec-timeout", "2s"}, h...)...)
	s.ring(bob("fail-1"))
	s.ring(bob("hang-2"))
	s.ring(bob("bob-3"))
	r := s.wait()
	all := reports(t, r.Stdout)
	fail, hang, ok := all["fail-1"], all["hang-2"], all["bob-3"]
	if r.Code != 0 || fail.Exec == nil || fail.Exec.ExitStatus == nil || *fail.Exec.ExitStatus != 3 {
		t.Errorf("exit %d, failing handler %+v", r.Code, fail.Exec)
	}
	if hang.Exec == nil || !hang.Exec.TimedOut || hang.Exec.ExitStatus != nil {
		t.Errorf("hanging handler %+v", hang.Exec)
	}
	if ok.Action != "answered" || ok.Exec == nil || ok.Exec.ExitStatus == nil || *ok.Exec.ExitStatus != 0 || len(b.Requests()) != 3 {
		t.Errorf("next call %+v, exec %+v", ok, ok.Exec)
	}
	if _, err := os.Stat(filepath.Join(dir, "bob-3")); err != nil {
		t.Errorf("the third handler did not run: %v", err)
	}
	for _, want := range []string{"cusax: answer: call fail-1: --exec exited 3\n", "cusax: answer: call hang-2: --exec still running after --exec-timeout 2s: killed\n"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
}

// TestAnswerExecOnAnswer: --exec-on answer runs the handler while the
// call is up (its file appears before the call ends).
func TestAnswerExecOnAnswer(t *testing.T) {
	e, b := env(t)
	h, dir := handler(t)
	release := b.Hold("bob-1")
	defer release()
	s := start(t, e, append([]string{"--json", "--max-calls", "1", "--exec-on", "answer"}, h...)...)
	s.ring(bob("bob-1"))
	waitFor(t, "the handler to run during the call", func() bool {
		_, err := os.Stat(filepath.Join(dir, "bob-1"))
		return err == nil
	})
	release()
	r := s.wait()
	got := reports(t, r.Stdout)["bob-1"]
	env, _ := os.ReadFile(filepath.Join(dir, "bob-1"))
	if r.Code != 0 || got.Exec == nil || got.Exec.On != "answer" || !strings.Contains(string(env), "CUSAX_EVENT=answer\n") {
		t.Errorf("exit %d, report %+v, env %s", r.Code, got, env)
	}
}
