package testinterp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// ReadyTimeout bounds how long Start waits for a program's ready file.
const ReadyTimeout = 60 * time.Second

// Started is a running test program.
type Started struct {
	Cmd *exec.Cmd
	PID int
	Dir string // its working directory (a t.TempDir()), where its stdout, stderr and kernel cores go

	done    chan struct{} // closed when Cmd.Wait returned
	waitErr error
}

// Start runs a testprogs-style script under in with `--ready FILE` appended and waits until
// FILE holds complete JSON (programs write FILE.tmp and rename it), which it returns.
// The program runs in its own process group with RLIMIT_CORE unlimited and its working
// directory in a temp dir; the group is killed when the test ends. A relative script path
// is taken from the test's working directory.
func Start(t testing.TB, in Interp, script string, args ...string) (*Started, []byte) {
	t.Helper()
	return StartWrapped(t, in, nil, script, args...)
}

// StartWrapped is Start with the interpreter's command line run through
// wrap (for example `unshare -m … sh -c '…; exec "$@"' sh`), which must exec
// it in the same process so that the pid stays the program's.
func StartWrapped(t testing.TB, in Interp, wrap []string, script string, args ...string) (*Started, []byte) {
	t.Helper()
	dir := t.TempDir()
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatalf("script %s: %v", script, err)
	}
	ready := filepath.Join(dir, "ready.json")
	args = append(append([]string{}, args...), "--ready", ready)

	// sh raises the core limit for itself and execs the interpreter, which inherits it:
	// the pid stays the same and the limit is in force from the first instruction.
	inner := in.Command(context.Background(), abs, args...)
	argv := append(append([]string{"-c", `ulimit -c unlimited && exec "$@"`, "sh"}, wrap...), inner.Args...)
	cmd := exec.Command("/bin/sh", argv...)
	cmd.Path = "/bin/sh"
	cmd.Env = inner.Env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err1 := os.Create(filepath.Join(dir, "stdout"))
	stderr, err2 := os.Create(filepath.Join(dir, "stderr"))
	if err1 != nil || err2 != nil {
		t.Fatalf("creating output files in %s: %v %v", dir, err1, err2)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s under %s: %v", script, in.Name, err)
	}
	stdout.Close()
	stderr.Close()
	s := &Started{Cmd: cmd, PID: cmd.Process.Pid, Dir: dir, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.kill)

	deadline := time.Now().Add(ReadyTimeout)
	var last []byte
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(ready); err == nil {
			if json.Valid(b) {
				return s, b
			}
			last = b
		}
		select {
		case <-s.done:
			// A program that crashes on purpose writes its ready file just
			// before: look once more.
			if b, err := os.ReadFile(ready); err == nil && json.Valid(b) {
				return s, b
			}
			t.Fatalf("%s under %s exited before it was ready: %v\n%s", script, in.Name, s.waitErr, s.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s under %s: no complete ready file %s after %v (last content %q)\n%s",
		script, in.Name, ready, ReadyTimeout, last, s.Output())
	return nil, nil
}

// Exited reports whether the program has exited (and been reaped).
func (s *Started) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Output is the program's stdout and stderr so far (their last 4 KiB), for failure messages.
func (s *Started) Output() string {
	var b bytes.Buffer
	for _, name := range []string{"stdout", "stderr"} {
		out, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil {
			fmt.Fprintf(&b, "--- %s: %v\n", name, err)
			continue
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", name, bytesTail(out, 4096))
	}
	return b.String()
}

// kill ends the whole process group and reaps the program.
func (s *Started) kill() {
	_ = syscall.Kill(-s.PID, syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}
