package scenarios

import (
	"strconv"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot"
)

// TestIdleRead checks the dump that needs no stop. parked.py's threads all
// sleep: from 3.11 on, whose thread states name their kernel threads, a dump
// must read it without stopping it ("idle", paused 0) and still show exactly
// the threads and frames the program recorded; before 3.11, and with
// --stop, it must stop it. A program whose thread computes all the time must
// always be stopped: the kernel's counts show that thread running.
func TestIdleRead(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("asleep", func(t *testing.T) {
				p := startProgram(t, in, "parked.py", "--subinterpreters", "2")
				pid := strconv.Itoa(p.PID)
				want := snapshot.ReadIdle
				if in.Minor < 11 {
					want = snapshot.ReadStopped // threads told apart by fs_base
				}
				s, r := dumpJSON(t, pid)
				assertNotStopped(t, p.PID)
				checkConsistency(t, s, want)
				checkDump(t, s, r, p, "pid", pausedLive)

				s, r = dumpJSON(t, pid, "--stop")
				assertNotStopped(t, p.PID)
				checkConsistency(t, s, snapshot.ReadStopped)
				checkDump(t, s, r, p, "pid", pausedLive)
			})
			t.Run("computing", func(t *testing.T) {
				p := startProgram(t, in, "healthy_busy.py")
				for range 3 {
					s, _ := dumpJSON(t, strconv.Itoa(p.PID))
					assertNotStopped(t, p.PID)
					checkConsistency(t, s, snapshot.ReadStopped)
				}
			})
		})
	}
}

// checkConsistency checks how a live snapshot says it is one instant, and
// that the pause agrees.
func checkConsistency(t *testing.T, s *snapshot.Snapshot, want string) {
	t.Helper()
	if s.Target.Consistency != want {
		t.Errorf("consistency %q, want %q", s.Target.Consistency, want)
	}
	pm := s.Target.PausedMS
	switch {
	case pm == nil:
		t.Errorf("no paused_ms on a live dump")
	case want == snapshot.ReadIdle && *pm != 0:
		t.Errorf("paused_ms %.2f on an idle read, want 0", *pm)
	case want == snapshot.ReadStopped && *pm <= 0:
		t.Errorf("paused_ms %.2f on a stopped read, want > 0", *pm)
	}
}
