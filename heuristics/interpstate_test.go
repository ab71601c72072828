package heuristics

import (
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// Hand-made snapshots for the findings about the interpreter's state: what
// makes them a warning, an info note, or nothing.

func findAll(s *snapshot.Snapshot) []Finding {
	a := locks.Analyze(s)
	return Find(s, a, waitgraph.Build(s, a))
}

func ofKind(fs []Finding, k Kind) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

func collecting(tid int, state string, timed bool) *snapshot.Snapshot {
	frame := 0
	return &snapshot.Snapshot{
		Target: snapshot.TargetInfo{Interpreters: []snapshot.Interpreter{{
			InterpreterRef: snapshot.InterpreterRef{ID: 0, Main: true},
			GC:             &snapshot.GC{Collecting: true, TID: tid, Basis: snapshot.GCBasisCallback, Callback: &frame},
		}}},
		Threads: []snapshot.Thread{{TID: tid, Main: true, State: state, GIL: snapshot.GILNone,
			Kernel: &snapshot.Kernel{Syscall: "futex", Futex: 0x1000, Timed: timed},
			Frames: []snapshot.Frame{{Function: "on_gc", File: "/app/x.py", Line: 3}}}},
	}
}

func TestHangInGC(t *testing.T) {
	for _, c := range []struct {
		name  string
		s     *snapshot.Snapshot
		want  int
		sev   Severity
		stuck bool
	}{
		{"blocked for ever", collecting(10, snapshot.StateBlocked, false), 1, Warning, true},
		{"blocked with a timeout", collecting(10, snapshot.StateBlocked, true), 1, Info, false},
		{"collecting, running", collecting(10, snapshot.StateRunning, false), 0, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ofKind(findAll(c.s), HangInGC)
			if len(got) != c.want {
				t.Fatalf("%d hang-in-gc findings, want %d: %+v", len(got), c.want, got)
			}
			if c.want == 0 {
				return
			}
			d := got[0].Details.(*HangInGCDetails)
			if got[0].Severity != c.sev || d.Stuck != c.stuck || d.Thread != 10 || d.Callback == nil {
				t.Errorf("severity %s, stuck %v, thread %d, callback %v; want %s, %v, 10, frame 0", got[0].Severity, d.Stuck, d.Thread, d.Callback, c.sev, c.stuck)
			}
		})
	}
}

func TestHangAtExitThreadShutdown(t *testing.T) {
	no := false
	shutdown := []snapshot.Frame{{Function: "_shutdown", File: "/usr/lib/python3.12/threading.py", Line: 1623}}
	s := &snapshot.Snapshot{Threads: []snapshot.Thread{
		{TID: 1, Main: true, State: snapshot.StateBlocked, Frames: shutdown, Kernel: &snapshot.Kernel{Futex: 0x10}},
		{TID: 2, Name: "busy", Daemon: &no, State: snapshot.StateRunning, Frames: []snapshot.Frame{{Function: "spin", File: "/app/x.py"}}},
	}}
	got := ofKind(findAll(s), HangAtExit)
	if len(got) != 1 {
		t.Fatalf("%d hang-at-exit findings, want 1", len(got))
	}
	d := got[0].Details.(*HangAtExitDetails)
	if got[0].Severity != Info || d.Stuck || d.Phase != PhaseThreadShutdown || len(d.NonDaemon) != 1 || d.NonDaemon[0] != 2 {
		t.Errorf("a running non-daemon thread: %s, %+v; want info, not stuck, waiting for tid 2", got[0].Severity, d)
	}
	s.Threads[1].State = snapshot.StateBlocked
	s.Threads[1].Kernel = &snapshot.Kernel{Futex: 0x20}
	got = ofKind(findAll(s), HangAtExit)
	if d := got[0].Details.(*HangAtExitDetails); got[0].Severity != Warning || !d.Stuck {
		t.Errorf("a non-daemon thread blocked for ever: %s, stuck %v; want a warning, stuck", got[0].Severity, d.Stuck)
	}
	// Blocked on a lock that a thread which sleeps (with a timeout) holds:
	// that thread will let it go, and the exit will end.
	s.Objects = map[string]*snapshot.Object{"lock@0x20": {ID: "lock@0x20", Kind: snapshot.KindLock, Type: "_thread.lock", Addr: 0x20, WaitKey: 0x20, Locked: &[]bool{true}[0]}}
	s.Threads[1].Frames = []snapshot.Frame{{Function: "read", File: "/app/x.py", Line: 9, With: []string{}}}
	s.Threads[1].Kernel = &snapshot.Kernel{Futex: 0x20, Parked: 0x20}
	s.Threads = append(s.Threads, snapshot.Thread{TID: 3, Name: "migrate", Daemon: &no, State: snapshot.StateSleeping,
		Kernel: &snapshot.Kernel{Timed: true}, Frames: []snapshot.Frame{{Function: "migrate", File: "/app/x.py", Line: 4, With: []string{"lock@0x20"}}}})
	got = ofKind(findAll(s), HangAtExit)
	if d := got[0].Details.(*HangAtExitDetails); got[0].Severity != Info || d.Stuck {
		t.Errorf("a non-daemon thread waiting for a lock a sleeping thread holds: %s, stuck %v; want info, not stuck", got[0].Severity, d.Stuck)
	}
}

// TestFinalizingOrphans: while Py_FinalizeEx runs, a lock no thread state
// holds may be held by a daemon thread whose state was deleted: no
// orphaned-lock claim, and the exit finding says so.
func TestFinalizingOrphans(t *testing.T) {
	locked := true
	s := &snapshot.Snapshot{
		Target: snapshot.TargetInfo{Finalizing: &snapshot.Finalizing{TID: 1, Tstate: 0x100}},
		Objects: map[string]*snapshot.Object{"lock@0x50": {ID: "lock@0x50", Kind: snapshot.KindLock, Type: "_thread.lock",
			Addr: 0x50, Locked: &locked, WaitKey: 0x60}},
		Threads: []snapshot.Thread{
			{TID: 1, Main: true, State: snapshot.StateBlocked, Kernel: &snapshot.Kernel{Futex: 0x60},
				Frames: []snapshot.Frame{{Function: "__del__", File: "/app/x.py", Line: 9}}},
			{TID: 2, NoThreadState: true, State: snapshot.StateBlocked, Kernel: &snapshot.Kernel{Futex: 0x70}, Frames: []snapshot.Frame{}},
		},
	}
	fs := findAll(s)
	if o := ofKind(fs, OrphanedLock); len(o) != 0 {
		t.Errorf("orphaned-lock while finalizing with a thread whose state is gone: %+v", o)
	}
	got := ofKind(fs, HangAtExit)
	if len(got) != 1 {
		t.Fatalf("%d hang-at-exit findings, want 1", len(got))
	}
	d := got[0].Details.(*HangAtExitDetails)
	if d.Phase != PhaseFinalizing || !d.Stuck || got[0].Severity != Warning || len(d.StatesGone) != 1 {
		t.Errorf("finalizing: %s %+v; want a stuck warning naming 1 thread without a state", got[0].Severity, d)
	}
}
