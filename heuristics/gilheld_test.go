package heuristics

import (
	"slices"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// TestGILHeldStored: the stored live snapshot of gil_held_in_native.py
// (pyenv 3.12.1): blocker holds the GIL in pause(), the workers wait.
func TestGILHeldStored(t *testing.T) {
	s, a, fs := run(t, "gil_held_in_native")
	if len(fs) != 1 || fs[0].Kind != GILHeldInNative || fs[0].Severity != Error {
		t.Fatalf("findings %+v, want one gil-held-in-native error", fs)
	}
	d := fs[0].Details.(*GILHeldDetails)
	if h := threadByTID(s, d.Holder); h == nil || h.Name != "blocker" || d.Syscall != "pause" || d.Timed {
		t.Errorf("holder %d in %s (timed %v)", d.Holder, d.Syscall, d.Timed)
	}
	if d.Function == nil || d.Function.Symbol != "pause" || d.Frame == nil || *d.Frame != 0 {
		t.Errorf("function %+v frame %v", d.Function, d.Frame)
	}
	if got := names(s, d.Waiters); !slices.Equal(got, []string{"worker-0", "worker-1", "worker-2"}) {
		t.Errorf("waiters %v", got)
	}
	if got := names(s, d.Others); !slices.Equal(got, []string{"MainThread"}) {
		t.Errorf("others %v", got)
	}
	if !slices.Equal(fs[0].Objects, []string{"gil"}) || a.Resource("gil") == nil {
		t.Errorf("objects %v", fs[0].Objects)
	}
	// The holder holds the GIL, and the waits for it point at the holder.
	if hs := a.Holders["gil"]; !slices.Equal(hs, []int{d.Holder}) {
		t.Errorf("GIL holders %v, want %d", hs, d.Holder)
	}
}

// gilSnapshot: a holder (tid 1) in the given kernel state, and a thread
// (tid 2) waiting for the GIL or not.
func gilSnapshot(holderState string, k *snapshot.Kernel, waiter bool) *snapshot.Snapshot {
	w := snapshot.Thread{TID: 2, Name: "w", GIL: snapshot.GILNone, State: snapshot.StateSleeping,
		Kernel: &snapshot.Kernel{Syscall: "clock_nanosleep", Nr: 230}}
	if waiter {
		w.GIL, w.State = snapshot.GILWaiting, snapshot.StateBlocked
		w.Kernel = &snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: 0x1000, Timed: true}
	}
	return &snapshot.Snapshot{Target: snapshot.TargetInfo{Kind: "pid", PID: 1}, Threads: []snapshot.Thread{
		{TID: 1, Name: "h", Main: true, GIL: snapshot.GILHeld, State: holderState, Kernel: k,
			Frames: []snapshot.Frame{{Function: "f", File: "/p.py", Line: 3}}},
		w,
	}}
}

func TestGILHeldRules(t *testing.T) {
	for _, c := range []struct {
		name     string
		s        *snapshot.Snapshot
		severity Severity // "" for no finding
	}{
		{"blocked in pause, a waiter", gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "pause", Nr: 34}, true), Error},
		// Others will need the GIL once their own wait ends.
		{"blocked in pause, no waiter seen", gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "pause", Nr: 34}, false), Error},
		{"untimed futex", gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: 0x2000}, true), Error},
		{"read", gilSnapshot(snapshot.StateIO, &snapshot.Kernel{Syscall: "read", Nr: 0}, true), Error},
		{"flock, a file lock's wait", gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "flock", Nr: 73}, true), Error},
		{"sleeping, a waiter", gilSnapshot(snapshot.StateSleeping, &snapshot.Kernel{Syscall: "clock_nanosleep", Nr: 230}, true), Warning},
		{"sleeping, no waiter seen", gilSnapshot(snapshot.StateSleeping, &snapshot.Kernel{Syscall: "clock_nanosleep", Nr: 230}, false), ""},
		{"timed futex, a waiter", gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: 0x2000, Timed: true}, true), Warning},
		// A busy thread holds the GIL while it runs bytecode.
		{"running", gilSnapshot(snapshot.StateRunning, &snapshot.Kernel{Proc: "R"}, true), ""},
		// mmap, brk …: an allocation, not a wait.
		{"unknown system call", gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "syscall 9", Nr: 9}, true), ""},
		{"disk sleep", gilSnapshot(snapshot.StateIO, &snapshot.Kernel{Proc: "D", Syscall: "read", Nr: 0}, true), ""},
		// Watched after the snapshot: a GIL that never changed hands while
		// a thread waited is kept by native code; one that did is a turn.
		{"running, GIL kept", watched(gilSnapshot(snapshot.StateRunning, &snapshot.Kernel{Proc: "R"}, true), true), Warning},
		{"running, GIL switched", watched(gilSnapshot(snapshot.StateRunning, &snapshot.Kernel{Proc: "R"}, true), false), ""},
		{"running, GIL kept, no waiter seen", watched(gilSnapshot(snapshot.StateRunning, &snapshot.Kernel{Proc: "R"}, false), true), ""},
		{"unknown system call, GIL kept", watched(gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "syscall 9", Nr: 9}, true), true), Warning},
		// The blocked rule stands: pause() has no timeout.
		{"blocked in pause, GIL kept", watched(gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "pause", Nr: 34}, true), true), Error},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []Finding
			for _, f := range find(c.s) {
				if f.Kind == GILHeldInNative {
					got = append(got, f)
				}
			}
			switch {
			case c.severity == "" && len(got) > 0:
				t.Errorf("a finding: %+v", got[0].Details)
			case c.severity != "" && (len(got) != 1 || got[0].Severity != c.severity):
				t.Errorf("findings %+v, want one %s", got, c.severity)
			}
		})
	}
	// Alone, a thread blocked with the GIL stalls nobody.
	s := gilSnapshot(snapshot.StateBlocked, &snapshot.Kernel{Syscall: "pause", Nr: 34}, false)
	s.Threads = s.Threads[:1]
	for _, f := range find(s) {
		if f.Kind == GILHeldInNative {
			t.Errorf("a finding for a single thread: %+v", f.Details)
		}
	}
}

// watched gives s a main interpreter whose GIL a watch saw kept, or not.
func watched(s *snapshot.Snapshot, kept bool) *snapshot.Snapshot {
	s.Target.Interpreters = []snapshot.Interpreter{{InterpreterRef: snapshot.InterpreterRef{Main: true},
		GIL: &snapshot.GILState{Addr: 0x1000, Switches: 7, IntervalUS: 5000,
			Watch: &snapshot.GILWatch{Seconds: 0.25, Reads: 25, Kept: kept}}}}
	return s
}
