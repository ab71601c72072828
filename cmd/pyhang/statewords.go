package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/snapshot"
)

// Words for the findings about the interpreter's own state: a hang at exit,
// a hang inside a garbage collection.

func (w *words) exitSummary(d *heuristics.HangAtExitDetails) string {
	switch {
	case d.Phase == heuristics.PhaseThreadShutdown && d.Stuck:
		return fmt.Sprintf("hang at exit: the main program has ended and the interpreter waits for %d non-daemon thread(s) to end, and %s can never end — make such threads daemons, or stop them before the program returns",
			len(d.NonDaemon), w.stuckList(d.NonDaemon))
	case d.Phase == heuristics.PhaseThreadShutdown:
		return fmt.Sprintf("exiting: the main program has ended and the interpreter waits for %d non-daemon thread(s) to end", len(d.NonDaemon))
	case d.Stuck:
		return fmt.Sprintf("hang at exit: the interpreter is being torn down (Py_FinalizeEx) by %s, which is blocked at %s — code that runs at shutdown (__del__, weakref callbacks) must not wait for locks or other threads",
			w.threadName(d.Thread), w.frameAt(d.Thread, waitFrame(d.Wait)))
	}
	return fmt.Sprintf("exiting: the interpreter is being torn down (Py_FinalizeEx) by %s", w.threadName(d.Thread))
}

// stuckList names the threads of tids that are blocked without a timeout.
func (w *words) stuckList(tids []int) string {
	var names []string
	for _, tid := range tids {
		if t := w.thread(tid); t != nil && t.State == snapshot.StateBlocked && (t.Kernel == nil || !t.Kernel.Timed) {
			if wt := w.locks.Waits[tid]; wt == nil || !wt.Timed() {
				names = append(names, w.threadName(tid))
			}
		}
	}
	return strings.Join(names, ", ")
}

func waitFrame(wt *heuristics.ThreadWait) int {
	if wt == nil {
		return 0
	}
	return wt.Frame
}

func (w *words) exitEvidence(d *heuristics.HangAtExitDetails) []string {
	var out []string
	switch d.Phase {
	case heuristics.PhaseThreadShutdown:
		out = append(out, fmt.Sprintf("%s runs threading._shutdown, which only the interpreter's exit calls: it returns when every non-daemon thread has ended", w.threadLabel(d.Thread)))
	default:
		who := "a thread pyhang could not match"
		if d.Thread != 0 {
			who = w.threadLabel(d.Thread)
		}
		out = append(out, fmt.Sprintf("the runtime records %s as the thread finalizing it (_PyRuntime._finalizing): modules are being cleared, finalizers run", who))
	}
	if d.Wait != nil {
		out = append(out, fmt.Sprintf("%s waits for %s at %s", w.threadLabel(d.Thread), w.ref(d.Wait.Waits), w.frameAt(d.Thread, d.Wait.Frame)))
	}
	if len(d.StatesGone) > 0 {
		var tids []string
		for _, tid := range d.StatesGone {
			tids = append(tids, strconv.Itoa(tid))
		}
		out = append(out, fmt.Sprintf("%d thread(s) have no thread state any more (tid %s): Py_FinalizeEx deleted the states of the threads still running (daemon threads), which live on in C with what they held — one of them may hold what the finalizing thread waits for",
			len(d.StatesGone), strings.Join(tids, ", ")))
	}
	for _, tid := range d.NonDaemon {
		t := w.thread(tid)
		if t == nil {
			continue
		}
		if wt := w.locks.Waits[tid]; wt != nil {
			out = append(out, fmt.Sprintf("non-daemon %s waits for %s at %s", w.threadLabel(tid), w.ref(wt.Ref), w.frameAt(tid, wt.Frame)))
		} else {
			out = append(out, fmt.Sprintf("non-daemon %s is %s", w.threadLabel(tid), t.State))
		}
	}
	return out
}

func (w *words) gcSummary(d *heuristics.HangInGCDetails) string {
	where := "a collection"
	if d.Callback != nil {
		where = "the gc.callbacks function " + w.frameAt(d.Thread, *d.Callback)
	}
	interp := "the interpreter"
	if !d.Interpreter.Main {
		interp = fmt.Sprintf("subinterpreter %d", d.Interpreter.ID)
	}
	if d.Stuck {
		return fmt.Sprintf("hang in a garbage collection: %s is blocked inside a collection of %s, in %s — no other collection of %s can run until it returns; gc callbacks and __del__ methods must not wait for locks or other threads",
			w.threadName(d.Thread), interp, where, interp)
	}
	return fmt.Sprintf("a garbage collection of %s is running in %s, which sits in a system call in %s", interp, w.threadName(d.Thread), where)
}

func (w *words) gcEvidence(d *heuristics.HangInGCDetails) []string {
	out := []string{"the interpreter's collector is marked collecting (gc.collecting)"}
	switch d.Basis {
	case snapshot.GCBasisCallback:
		out = append(out, fmt.Sprintf("%s runs %s, a function of gc.callbacks, which only a collection calls", w.threadLabel(d.Thread), w.frameAt(d.Thread, *d.Callback)))
	case snapshot.GCBasisGIL:
		out = append(out, fmt.Sprintf("%s holds the interpreter's GIL, which the collector keeps unless a finalizer lets it go (indirect: the collecting thread is not recorded)", w.threadLabel(d.Thread)))
	case snapshot.GCBasisOnlyThread:
		out = append(out, fmt.Sprintf("%s is the interpreter's only thread", w.threadLabel(d.Thread)))
	}
	if d.Wait != nil {
		out = append(out, fmt.Sprintf("%s waits for %s at %s", w.threadLabel(d.Thread), w.ref(d.Wait.Waits), w.frameAt(d.Thread, d.Wait.Frame)))
	}
	return out
}
