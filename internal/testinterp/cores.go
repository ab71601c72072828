package testinterp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/corepattern"
)

// Gcore writes a core of the live process pid with gdb's gcore and returns its path.
// The process keeps running. Without gcore the test is skipped (fatal under PYHANG_REQUIRE_ALL=1).
func Gcore(t testing.TB, pid int) string {
	t.Helper()
	gcore, err := exec.LookPath("gcore")
	if err != nil {
		msg := "gcore not found: run scripts/install-test-deps.sh (installs gdb)"
		if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	prefix := filepath.Join(t.TempDir(), "core")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gcore, "-o", prefix, strconv.Itoa(pid)).CombinedOutput()
	path := fmt.Sprintf("%s.%d", prefix, pid)
	if err != nil || !fileExists(path) {
		t.Fatalf("gcore -o %s %d: %v\n%s", prefix, pid, err, bytesTail(out, 2000))
	}
	return path
}

// KernelCore kills the program with SIGABRT so the kernel writes its core, and returns the
// core's path. It returns false, after logging why, when the kernel hands cores to a
// program (core_pattern "|…", e.g. systemd-coredump or apport) or wrote none.
func KernelCore(t testing.TB, s *Started) (string, bool) {
	t.Helper()
	pattern, ok := filePattern(t)
	if !ok {
		return "", false
	}
	if s.Exited() {
		t.Fatalf("kernel core: pid %d already exited: %v\n%s", s.PID, s.waitErr, s.Output())
	}
	if err := syscall.Kill(s.PID, syscall.SIGABRT); err != nil {
		t.Fatalf("kernel core: kill -ABRT %d: %v", s.PID, err)
	}
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatalf("kernel core: pid %d still running a minute after SIGABRT", s.PID)
	}
	return s.coreFile(t, pattern)
}

// CrashCore waits for a program that crashes by itself (after its ready file) to die
// of a signal, and returns the core the kernel wrote and the signal. It returns false,
// after logging why, when the kernel wrote no core file (see KernelCore); a program
// that exits without a fatal signal fails the test.
func CrashCore(t testing.TB, s *Started) (string, syscall.Signal, bool) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatalf("pid %d still running a minute after its ready file: it did not crash\n%s", s.PID, s.Output())
	}
	ws, ok := s.Cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		t.Fatalf("pid %d did not die of a signal: %v\n%s", s.PID, s.Cmd.ProcessState, s.Output())
	}
	pattern, ok := filePattern(t)
	if !ok {
		return "", ws.Signal(), false
	}
	core, ok := s.coreFile(t, pattern)
	return core, ws.Signal(), ok
}

// filePattern is the kernel's core_pattern when it names a file; it returns
// false, after logging why, when the kernel hands cores to a program
// ("|…", e.g. systemd-coredump or apport) or the pattern cannot be read.
func filePattern(t testing.TB) (string, bool) {
	t.Helper()
	pattern, piped, err := corepattern.Pattern()
	if err != nil {
		t.Logf("kernel core: %v", err)
		return "", false
	}
	if piped {
		t.Logf("kernel core: core_pattern %q pipes cores to a program, not to a file", pattern)
		return "", false
	}
	return pattern, true
}

// coreFile finds the core the kernel wrote for the ended program s.
func (s *Started) coreFile(t testing.TB, pattern string) (string, bool) {
	t.Helper()
	if ws, ok := s.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.CoreDump() {
		t.Logf("kernel core: pid %d ended (%v) without dumping core (core_pattern %q)\n%s",
			s.PID, s.Cmd.ProcessState, pattern, s.Output())
		return "", false
	}
	core, err := corepattern.Find(s.PID, s.Dir)
	if err != nil {
		t.Logf("kernel core: pid %d dumped core but: %v", s.PID, err)
		return "", false
	}
	return core, true
}
