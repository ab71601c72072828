//go:build linux

package live

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLockLine(t *testing.T) {
	for _, tc := range []struct {
		line, file, typ string
		pid             int
		ok              bool
	}{
		{"1: FLOCK  ADVISORY  WRITE 4321 00:2a:1234 0 EOF", "00:2a:1234", "FLOCK", 4321, true},
		{"2: POSIX  ADVISORY  WRITE 99 fe:00:77 0 EOF", "fe:00:77", "POSIX", 99, true},
		{"3: OFDLCK ADVISORY  WRITE -1 fe:00:77 0 EOF", "fe:00:77", "OFDLCK", -1, true},
		{"1: -> FLOCK  ADVISORY  WRITE 4322 00:2a:1234 0 EOF", "00:2a:1234", "", 0, false}, // a waiter
		{"1: FLOCK  ADVISORY  WRITE 4321 00:2a:1235 0 EOF", "00:2a:1234", "", 0, false},    // another file
		{"garbage", "00:2a:1234", "", 0, false},
	} {
		typ, pid, ok := lockLine(tc.line, tc.file)
		if typ != tc.typ || pid != tc.pid || ok != tc.ok {
			t.Errorf("lockLine(%q) = %q, %d, %v; want %q, %d, %v", tc.line, typ, pid, ok, tc.typ, tc.pid, tc.ok)
		}
	}
}

// TestFileLockOf locks a file of this process's own and reads it back from
// /proc as a thread waiting on another descriptor of it would.
func TestFileLockOf(t *testing.T) {
	path := t.TempDir() + "/x.lock"
	held, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
		t.Skipf("flock: %v", err)
	}
	other, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	fl, err := FileLockOf(os.Getpid(), int(other.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if fl.Path != path || fl.Type != "FLOCK" || len(fl.Holders) != 1 || fl.Holders[0].PID != os.Getpid() {
		t.Fatalf("FileLockOf = %+v, want %s locked by this process", fl, path)
	}
	if fds := fl.Holders[0].FDs; len(fds) != 1 || fds[0] != int(held.Fd()) {
		t.Errorf("holding descriptors %v, want [%s]", fds, strconv.Itoa(int(held.Fd())))
	}
}
