//go:build linux && amd64

package live

import (
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests do not run in parallel: a Follower waits for any child of the
// test process.

// startFollowed starts /bin/sh -c script under a Follower.
func startFollowed(t *testing.T, script string, children bool) *Follower {
	t.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	f, err := StartFollowed([]string{"/bin/sh", "-c", script}, &os.ProcAttr{Files: []*os.File{devnull, devnull, devnull}},
		FollowOptions{Children: children})
	if err != nil {
		t.Fatalf("StartFollowed: %v", err)
	}
	t.Cleanup(func() {
		unix.Kill(f.PID(), unix.SIGKILL)
		f.Close()
	})
	return f
}

// nextOf waits for the next event of a kind about process pid, skipping the
// others (a child's, or an earlier test's child reaped by this Follower).
func nextOf(t *testing.T, f *Follower, kind EventKind, pid int) FollowEvent {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if ev, ok := f.Next(time.Until(deadline)); ok && ev.Kind == kind && ev.PID == pid {
			return ev
		}
	}
	t.Fatalf("no event of kind %d within 20 s", kind)
	return FollowEvent{}
}

// waitState waits until a thread of pid shows one of the state letters.
func waitState(t *testing.T, pid int, letters string) string {
	t.Helper()
	var s string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if s = readState(pid, pid); s != "" && strings.Contains(letters, s) {
			return s
		}
	}
	t.Fatalf("pid %d in state %q, want one of %q", pid, s, letters)
	return ""
}

// A followed process runs; Stop holds it with its registers; Close lets it go.
func TestFollowStop(t *testing.T) {
	f := startFollowed(t, "exec sleep 30", false)
	waitState(t, f.PID(), "S")
	h, err := f.Stop(f.PID(), 0)
	if err != nil {
		t.Fatal(err)
	}
	ths := h.Threads()
	if len(ths) != 1 || ths[0].Regs == nil || !ths[0].InSyscall {
		t.Fatalf("held threads %+v, want one with registers, in its sleep", ths)
	}
	if s := readState(f.PID(), f.PID()); s != "t" {
		t.Errorf("held, the process is in state %q, want t", s)
	}
	var b [8]byte
	if _, err := h.ReadAt(b[:], ths[0].Regs.RSP); err != nil {
		t.Errorf("reading the held process's stack: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	waitState(t, f.PID(), "S")
	if h.Paused() <= 0 {
		t.Errorf("paused %v", h.Paused())
	}
	unix.Kill(f.PID(), unix.SIGTERM)
	if ev := nextOf(t, f, Exited, f.PID()); ev.PID != f.PID() || ev.Signal != int(unix.SIGTERM) {
		t.Errorf("exit event %+v, want killed by SIGTERM", ev)
	}
}

// Signals reach the program as if nothing traced it: a handled signal runs its
// handler, SIGSTOP stops it until SIGCONT.
func TestFollowSignals(t *testing.T) {
	f := startFollowed(t, `trap 'exit 5' USR1; while :; do sleep 0.05; done`, true)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m, err := sigMask(f.PID(), f.PID(), "SigCgt"); err == nil && m&(1<<(unix.SIGUSR1-1)) != 0 {
			break // the trap is set
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell never set its trap")
		}
	}
	unix.Kill(f.PID(), unix.SIGSTOP)
	waitState(t, f.PID(), "tT")
	time.Sleep(100 * time.Millisecond)
	if s := readState(f.PID(), f.PID()); s != "t" && s != "T" {
		t.Errorf("after SIGSTOP the program runs (state %q)", s)
	}
	unix.Kill(f.PID(), unix.SIGCONT)
	waitState(t, f.PID(), "SR")
	unix.Kill(f.PID(), unix.SIGUSR1)
	if ev := nextOf(t, f, Exited, f.PID()); ev.PID != f.PID() || ev.ExitCode != 5 {
		t.Errorf("exit event %+v, want status 5 from the USR1 handler", ev)
	}
}

// A fatal signal stops the thread that takes it, until Deliver.
func TestFollowCrash(t *testing.T) {
	f := startFollowed(t, `sleep 0.2; kill -SEGV $$; sleep 30`, true)
	ev := nextOf(t, f, Crash, f.PID())
	if ev.PID != f.PID() || ev.Sig == nil || ev.Sig.Signo != int(unix.SIGSEGV) {
		t.Fatalf("crash event %+v, want SIGSEGV in the shell", ev)
	}
	h, err := f.Stop(ev.PID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s := h.Signal(); s == nil || s.Signo != int(unix.SIGSEGV) || s.TID != ev.TID {
		t.Errorf("held process's signal %+v", s)
	}
	h.Close()
	time.Sleep(50 * time.Millisecond)
	if s := readState(ev.PID, ev.TID); s != "t" {
		t.Errorf("after Close the crashing thread is in state %q, want still held (t)", s)
	}
	if err := f.Deliver(ev.PID); err != nil {
		t.Fatal(err)
	}
	if ex := nextOf(t, f, Exited, ev.PID); ex.PID != ev.PID || ex.Signal != int(unix.SIGSEGV) {
		t.Errorf("exit event %+v, want killed by SIGSEGV", ex)
	}
}

// Detach lets a followed process go, untraced and running.
func TestFollowDetach(t *testing.T) {
	f := startFollowed(t, "exec sleep 30", false)
	waitState(t, f.PID(), "S")
	if err := f.Detach(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if tp, err := statusInt(f.PID(), "TracerPid"); err != nil || tp != 0 {
		t.Errorf("TracerPid %d (%v) after Detach", tp, err)
	}
	waitState(t, f.PID(), "S")
}
