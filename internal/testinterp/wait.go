package testinterp

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SysFutex is the x86-64 futex system call number, where blocked Python threads wait.
const SysFutex = 202

// WaitBlocked waits until at least n threads of pid sleep in futex, so a test looks at a
// program only once its threads have really blocked.
func WaitBlocked(t testing.TB, pid int, n int, timeout time.Duration) {
	t.Helper()
	WaitThreads(t, pid, n, timeout, SysFutex)
}

// WaitThreads waits until at least n threads of pid are in state S inside one of the given
// system calls (as /proc/PID/task/TID/syscall shows them); it fails the test on timeout
// with every thread's state.
func WaitThreads(t testing.TB, pid int, n int, timeout time.Duration, syscalls ...int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		threads, err := threadStates(pid)
		if err != nil {
			t.Fatalf("waiting for %d blocked threads of pid %d: %v", n, pid, err)
		}
		count := 0
		for _, th := range threads {
			if th.state == "S" && slices.Contains(syscalls, th.syscall) {
				count++
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, th := range threads {
				fmt.Fprintf(&b, "  tid %d %q state %s syscall %d\n", th.tid, th.comm, th.state, th.syscall)
			}
			t.Fatalf("pid %d: %d of %d wanted threads in syscalls %v after %v:\n%s", pid, count, n, syscalls, timeout, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type threadState struct {
	tid     int
	comm    string
	state   string
	syscall int // -1 when running or unknown
}

func threadStates(pid int) ([]threadState, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []threadState
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		th := threadState{tid: tid, syscall: -1}
		// stat is "tid (comm) S …"; comm may hold spaces and parentheses, so split at the last ')'.
		if b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat")); err == nil {
			s := string(b)
			if open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')'); open >= 0 && end > open {
				th.comm = s[open+1 : end]
				if f := strings.Fields(s[end+1:]); len(f) > 0 {
					th.state = f[0]
				}
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, e.Name(), "syscall")); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				if nr, err := strconv.Atoi(f[0]); err == nil {
					th.syscall = nr
				}
			}
		}
		out = append(out, th)
	}
	return out, nil
}
