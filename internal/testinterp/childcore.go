package testinterp

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/corepattern"
)

// KernelCoreOf is KernelCore for pid, a process the started program forked,
// which shares its working directory (where the kernel writes the core).
// The program must reap it (a parent that waits for its child does).
func KernelCoreOf(t testing.TB, s *Started, pid int) (string, bool) {
	t.Helper()
	if _, ok := filePattern(t); !ok {
		return "", false
	}
	if err := syscall.Kill(pid, syscall.SIGABRT); err != nil {
		t.Fatalf("kernel core: kill -ABRT %d: %v", pid, err)
	}
	gone := false
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			gone = true
			break
		}
	}
	if !gone {
		t.Fatalf("kernel core: pid %d still there a minute after SIGABRT (is its parent reaping it?)", pid)
	}
	core, err := corepattern.Find(pid, s.Dir)
	if err != nil {
		t.Logf("kernel core: pid %d ended after SIGABRT but: %v\n%s", pid, err, s.Output())
		return "", false
	}
	return core, true
}
