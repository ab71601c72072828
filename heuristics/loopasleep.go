package heuristics

import (
	"path/filepath"
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// WhatLoopAsleep: an event loop whose thread sleeps in its selector's
// select() with no timeout while callbacks wait in its ready queue. A loop
// runs them only once select() returns, and nothing will make it return:
// no timer is due, no descriptor but its own self-pipe is watched, and no
// signal handler is set. A callback put there from another thread with
// call_soon() (and not call_soon_threadsafe(), which writes to the
// self-pipe) is the usual cause: the future it completes, and the tasks
// awaiting it, wait forever.
const WhatLoopAsleep = "loop-asleep"

// asleepLoops finds such loops. The wait is proven (an error) when no other
// thread of the process can run, to call into the loop; when every other
// thread is off the CPU but some may run again, it is a warning; and while
// another thread runs, nothing is said (call_soon_threadsafe() puts its
// callback in the queue a moment before it wakes the loop).
func asleepLoops(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	var out []Finding
	for i := range s.Loops {
		lp := &s.Loops[i]
		if lp.Ready == nil || *lp.Ready == 0 || !sleepsUntimed(s, lp) {
			continue
		}
		if _, handler := a.SignalHandlerSite(); handler && loopOnMain(s, lp) {
			continue // a handler may call into the loop when a signal interrupts select()
		}
		sev, reason := Error, ReasonNoOtherThread
		others, stuck := othersBlocked(s, a, lp.Thread)
		if len(others) > 0 {
			reason = ReasonOthersBlocked
		}
		if !stuck {
			if anotherRuns(s, a, lp.Thread) {
				continue
			}
			sev, reason = Warning, ""
		}
		ready := *lp.Ready
		d := &AbandonedWaitDetails{What: WhatLoopAsleep, Object: loopRef(s, lp.ID), Reason: reason,
			Ready: &ready, ReadyCallbacks: lp.ReadyCallbacks, Waiters: []ThreadWait{}}
		f := Finding{Kind: AbandonedWait, Severity: sev, Threads: []int{lp.Thread}, Objects: []string{lp.ID}, Details: d}
		for j := range s.Tasks {
			t := &s.Tasks[j]
			w := a.TaskWaits[t.ID]
			if t.Loop != lp.ID || t.Done || t.Running || w == nil {
				continue
			}
			d.Waiters = append(d.Waiters, ThreadWait{Thread: lp.Thread, Task: t.ID, Waits: w.Ref, Frame: w.Frame})
			f.Tasks = append(f.Tasks, t.ID)
		}
		if !stuck {
			for k := range s.Threads {
				if t := &s.Threads[k]; t.TID != lp.Thread {
					d.Others = append(d.Others, Producer{Thread: t.TID, CanRun: !stuckForever(t, a.Waits[t.TID])})
				}
			}
		}
		sort.Strings(f.Tasks)
		out = append(out, f)
	}
	return out
}

// sleepsUntimed: the loop's thread sits in its selector's select() with no
// timeout, and the loop watches no descriptor but its self-pipe and has no
// signal handler: only another thread could wake it.
func sleepsUntimed(s *snapshot.Snapshot, lp *snapshot.Loop) bool {
	if lp.Thread == 0 || lp.Closed || lp.Signals == nil || *lp.Signals != 0 || lp.FDs == nil || len(*lp.FDs) != 0 {
		return false
	}
	th := threadOf(s, lp.Thread)
	if th == nil || th.State != snapshot.StateIO || th.Kernel == nil || th.Kernel.Timed || len(th.Frames) == 0 {
		return false
	}
	f := &th.Frames[0]
	return f.Function == "select" && filepath.Base(f.File) == "selectors.py"
}

// anotherRuns reports whether a thread other than tid is on a CPU, or may
// be: running Python or native code, or waiting for the GIL, which it gets
// at once while the loop's thread sleeps (between call_soon_threadsafe()'s
// two steps, say).
func anotherRuns(s *snapshot.Snapshot, a *locks.Analysis, tid int) bool {
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.TID == tid {
			continue
		}
		if w := a.Waits[t.TID]; w != nil && w.Kind == locks.KindGIL {
			return true
		}
		switch t.State {
		case snapshot.StateBlocked, snapshot.StateIO, snapshot.StateSleeping:
		default:
			return true
		}
	}
	return false
}
