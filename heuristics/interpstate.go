package heuristics

import (
	"path/filepath"
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Findings about where in the interpreter's own life a hang sits: at exit
// (waiting for threads, or inside Py_FinalizeEx) or inside a garbage
// collection. They name the situation; the waits themselves are the other
// findings' business.

// Kinds of the interpreter's state.
const (
	HangAtExit Kind = "hang-at-exit"
	HangInGC   Kind = "hang-in-gc"
)

// Exit phases.
const (
	// PhaseThreadShutdown: the main program has ended and the interpreter
	// waits for every non-daemon thread to end (threading._shutdown, called
	// by Py_FinalizeEx before anything is torn down).
	PhaseThreadShutdown = "thread-shutdown"
	// PhaseFinalizing: Py_FinalizeEx is tearing the interpreter down (the
	// runtime's finalizing thread state is set): modules are being cleared,
	// finalizers (__del__, weakref callbacks) run.
	PhaseFinalizing = "finalizing"
)

// HangAtExitDetails say which thread runs the exit and what it waits for.
type HangAtExitDetails struct {
	Phase  string `json:"phase"`
	Thread int    `json:"thread"` // the thread running the exit (0 when not known)
	// Wait is that thread's wait, when it waits.
	Wait *ThreadWait `json:"wait,omitempty"`
	// NonDaemon are the threads the exit waits for (thread-shutdown): the
	// threads that are not daemons.
	NonDaemon []int `json:"non_daemon,omitempty"`
	// Stuck says the exit cannot complete: the thread running it, or a
	// thread it waits for, is blocked without a timeout.
	Stuck bool `json:"stuck"`
	// StatesGone are the threads without a thread state while finalizing:
	// Py_FinalizeEx deletes the states of the threads still running (daemon
	// threads), which live on in C with whatever they held.
	StatesGone []int `json:"states_gone,omitempty"`
}

// HangInGCDetails say which collection is running, where.
type HangInGCDetails struct {
	Interpreter snapshot.InterpreterRef `json:"interpreter"`
	Thread      int                     `json:"thread"`
	// Basis says how the collecting thread is known (snapshot.GCBasis*).
	Basis string `json:"basis"`
	// Callback is the frame of the gc.callbacks function the thread runs.
	Callback *int        `json:"callback_frame,omitempty"`
	Wait     *ThreadWait `json:"wait,omitempty"`
	// Stuck says the collecting thread is blocked without a timeout.
	Stuck bool `json:"stuck"`
}

// interpreterState finds hangs at exit and inside a collection. likely are
// the threads that may still run (mayRun, by the threads that refer to
// what a wait is on).
func interpreterState(s *snapshot.Snapshot, a *locks.Analysis, likely map[int]bool) []Finding {
	var out []Finding
	if f, ok := hangAtExit(s, a, likely); ok {
		out = append(out, f)
	}
	return append(out, hangsInGC(s, a)...)
}

// blockedForever reports whether a thread is blocked without a timeout.
func blockedForever(t *snapshot.Thread, a *locks.Analysis) bool {
	if t.State != snapshot.StateBlocked || (t.Kernel != nil && t.Kernel.Timed) {
		return false
	}
	w := a.Waits[t.TID]
	return w == nil || !w.Timed()
}

func waitOf(a *locks.Analysis, tid int) *ThreadWait {
	if a.Waits[tid] == nil {
		return nil
	}
	w := threadWait(a, tid)
	return &w
}

// inThreadShutdown reports whether a thread's outermost frame is
// threading._shutdown, which only Py_FinalizeEx calls.
func inThreadShutdown(t *snapshot.Thread) bool {
	if len(t.Frames) == 0 {
		return false
	}
	f := t.Frames[len(t.Frames)-1]
	return f.Function == "_shutdown" && filepath.Base(f.File) == "threading.py"
}

func hangAtExit(s *snapshot.Snapshot, a *locks.Analysis, likely map[int]bool) (Finding, bool) {
	var d *HangAtExitDetails
	threads := []int{}
	if fin := s.Target.Finalizing; fin != nil {
		d = &HangAtExitDetails{Phase: PhaseFinalizing, Thread: fin.TID}
		if fin.TID != 0 {
			threads = append(threads, fin.TID)
		}
	} else {
		for i := range s.Threads {
			if t := &s.Threads[i]; t.Main && inThreadShutdown(t) {
				d = &HangAtExitDetails{Phase: PhaseThreadShutdown, Thread: t.TID}
				threads = append(threads, t.TID)
			}
		}
	}
	if d == nil {
		return Finding{}, false
	}
	objects := []string{}
	if d.Thread != 0 {
		d.Wait = waitOf(a, d.Thread)
		if d.Wait != nil && d.Wait.Waits.ID != "" && a.Resource(d.Wait.Waits.ID) != nil {
			objects = append(objects, d.Wait.Waits.ID)
		}
	}
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.TID == d.Thread {
			d.Stuck = d.Stuck || blockedForever(t, a)
			continue
		}
		if d.Phase == PhaseFinalizing && t.NoThreadState {
			d.StatesGone = append(d.StatesGone, t.TID)
		}
		if d.Phase == PhaseThreadShutdown && !t.NoThreadState && t.Daemon != nil && !*t.Daemon {
			d.NonDaemon = append(d.NonDaemon, t.TID)
		}
	}
	if d.Phase == PhaseThreadShutdown {
		// The exit ends when every non-daemon thread has: it is stuck when
		// one of them can never end, blocked without a timeout on what no
		// thread that may still run would end (a lock a sleeping thread
		// holds, a queue a live producer feeds, a barrier whose last party
		// is on its way are no hang). A wait on what pyhang cannot name
		// counts as stuck, as before.
		d.Stuck = false
		for _, tid := range d.NonDaemon {
			for i := range s.Threads {
				t := &s.Threads[i]
				endable := stuckForever(t, a.Waits[tid]) && likely[tid] // a known wait another thread may end
				if t.TID == tid && blockedForever(t, a) && !endable {
					d.Stuck = true
				}
			}
		}
		sort.Ints(d.NonDaemon)
		threads = append(threads, d.NonDaemon...)
	}
	sev := Info
	if d.Stuck {
		sev = Warning
	}
	return Finding{Kind: HangAtExit, Severity: sev, Threads: threads, Objects: objects, Details: d}, true
}

// hangsInGC names a collection whose thread waits: a collection runs on its
// own without a system call, so a collecting thread that sits in one is
// inside a finalizer or a gc.callbacks function. A collection merely in
// progress (its thread running) is no finding.
func hangsInGC(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	var out []Finding
	for _, in := range s.Target.Interpreters {
		gc := in.GC
		if gc == nil || !gc.Collecting || gc.TID == 0 {
			continue
		}
		var th *snapshot.Thread
		for i := range s.Threads {
			if s.Threads[i].TID == gc.TID {
				th = &s.Threads[i]
			}
		}
		if th == nil || th.State == snapshot.StateRunning || th.State == snapshot.StateUnknown {
			continue
		}
		d := &HangInGCDetails{Interpreter: in.InterpreterRef, Thread: gc.TID, Basis: gc.Basis, Callback: gc.Callback}
		f := Finding{Kind: HangInGC, Severity: Info, Threads: []int{th.TID}, Objects: []string{}, Details: d}
		d.Wait = waitOf(a, th.TID)
		if d.Wait != nil && d.Wait.Waits.ID != "" && a.Resource(d.Wait.Waits.ID) != nil {
			f.Objects = append(f.Objects, d.Wait.Waits.ID)
		}
		d.Stuck = blockedForever(th, a)
		if d.Stuck {
			f.Severity = Warning
		}
		out = append(out, f)
	}
	return out
}
