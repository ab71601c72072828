package testinterp

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Traced runs cmd under strace -f, which records every system call of it and its
// children that takes a file name (open, stat, mkdir, exec, …), and returns the trace
// and cmd's result. Without strace (make deps installs it) the test is skipped, or
// fails with PYHANG_REQUIRE_ALL=1.
func Traced(t testing.TB, cmd *exec.Cmd) (string, error) {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("PYHANG_REQUIRE_ALL") == "1" {
			t.Fatalf("PYHANG_REQUIRE_ALL=1 and strace is not installed (make deps installs it): %v", err)
		}
		t.Skipf("SKIP: strace is not installed (make deps installs it): %v", err)
	}
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd.Args = append([]string{strace, "-f", "-qq", "-e", "trace=%file", "-o", log, "--", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = strace
	runErr := cmd.Run()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("strace wrote no trace: %v (command: %v)", err, runErr)
	}
	return string(b), runErr
}
