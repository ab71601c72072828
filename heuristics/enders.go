package heuristics

import (
	"cmp"
	"maps"
	"slices"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Who could end a wait: starved consumers and abandoned waits both ask, of
// every thread besides the waiters, whether it refers to the object, can
// run, and waits forever itself.

// othersOf lists the threads other than waiters as would-be enders of a wait
// on ob, with how many of them can run. It returns false when a thread that
// likely runs refers to ob, or may reach it as a module global: that thread
// may still end the wait, or when a core lost another thread's state: what
// that thread does, and whether it could end the wait, is unknown (as for
// all-blocked), so no claim that nobody will end it stands. each, when set,
// adds to each thread's entry.
func othersOf(s *snapshot.Snapshot, a *locks.Analysis, live, likely map[int]bool, ob *snapshot.Object, waiters []int,
	each func(t *snapshot.Thread, p *Producer)) (others []Producer, canRun int, ok bool) {
	isWaiter := map[int]bool{}
	for _, tid := range waiters {
		isWaiter[tid] = true
	}
	for i := range s.Threads {
		t := &s.Threads[i]
		if isWaiter[t.TID] {
			continue
		}
		if t.StateLost {
			return nil, 0, false
		}
		p := Producer{Thread: t.TID, Refers: refersTo(s, t, ob.ID), CanRun: live[t.TID]}
		if loop, ok := a.SleepLoop(t.TID); ok {
			p.Sleeps = &loop
		}
		if likely[t.TID] && (p.Refers || ob.Global != "") {
			return nil, 0, false
		}
		if p.CanRun {
			canRun++
		}
		p.Waits = foreverWait(a, t)
		if each != nil {
			each(t, &p)
		}
		others = append(others, p)
	}
	return others, canRun, true
}

// eachObject runs find on the waiters of each object, in the order of the
// objects' ids, and collects what it finds.
func eachObject(s *snapshot.Snapshot, waiters map[string][]int, find func(ob *snapshot.Object, waiters []int) (Finding, bool)) []Finding {
	var out []Finding
	for _, id := range slices.Sorted(maps.Keys(waiters)) {
		if f, ok := find(s.Objects[id], waiters[id]); ok {
			out = append(out, f)
		}
	}
	return out
}

// foreverWait is what the thread waits for without a timeout, or nil.
func foreverWait(a *locks.Analysis, t *snapshot.Thread) *ThreadWait {
	if !stuckForever(t, a.Waits[t.TID]) {
		return nil
	}
	tw := threadWait(a, t.TID)
	return &tw
}

// noEnder says why no thread can end the wait: a thread that can run but
// shows no reference to the object leaves it a guess (a warning), and so
// does a main thread that only sleeps, which a signal handler may wake.
func noEnder(s *snapshot.Snapshot, canRun int, others []Producer) (string, Severity) {
	switch {
	case canRun > 0:
		return ReasonNoReference, Warning
	case slices.ContainsFunc(others, func(p Producer) bool { return p.Sleeps != nil && isMain(s, p.Thread) }):
		return ReasonMainSleeps, Warning
	case len(others) == 0:
		return ReasonNoOtherThread, Error
	default:
		return ReasonOthersBlocked, Error
	}
}

// threadWaits is each thread's wait, in order.
func threadWaits(a *locks.Analysis, tids []int) []ThreadWait {
	var out []ThreadWait
	for _, tid := range tids {
		out = append(out, threadWait(a, tid))
	}
	return out
}

// gather adds to a finding about a wait the other threads and what they
// wait for, and the ended threads' objects; it leaves the finding's threads
// and objects sorted, each once.
func (f *Finding) gather(others []Producer, ended []EndedThread) {
	for _, e := range ended {
		f.Objects = append(f.Objects, e.Object)
	}
	for _, p := range others {
		f.Threads = append(f.Threads, p.Thread)
		if p.Waits != nil {
			f.Objects = append(f.Objects, p.Waits.Waits.ID)
		}
	}
	f.Threads = sortedUnique(f.Threads)
	f.Objects = sortedUnique(f.Objects)
}

// sortedUnique sorts xs in place and drops repeats.
func sortedUnique[T cmp.Ordered](xs []T) []T {
	slices.Sort(xs)
	return slices.Compact(xs)
}

// setConsequence marks a starved queue or an abandoned wait as the
// consequence of a deadlock or orphaned lock found with it.
func setConsequence(details any) {
	switch d := details.(type) {
	case *StarvedConsumersDetails:
		d.Consequence = true
	case *AbandonedWaitDetails:
		d.Consequence = true
	}
}

// waitersOf are the threads a starved queue or an abandoned wait is about.
func waitersOf(f Finding) []ThreadWait {
	switch d := f.Details.(type) {
	case *StarvedConsumersDetails:
		return d.Consumers
	case *AbandonedWaitDetails:
		return d.Waiters
	}
	return nil
}

// othersIn are the other threads a starved queue or an abandoned wait lists.
func othersIn(details any) []Producer {
	switch d := details.(type) {
	case *StarvedConsumersDetails:
		return d.Others
	case *AbandonedWaitDetails:
		return d.Others
	}
	return nil
}

// chainedWaits makes info, consequences, the proven waits whose would-be
// ender (a thread with a call that would end the wait still on its stack)
// is itself the waiter of another proven wait: that one is the cause. Of
// two waits that would end each other, the first found stays the cause.
func chainedWaits(waits []Finding) {
	waiterOf := map[int]int{}
	for i, f := range waits {
		if f.Severity == Error {
			for _, w := range waitersOf(f) {
				waiterOf[w.Thread] = i
			}
		}
	}
	for i := range waits {
		f := &waits[i]
		if f.Severity != Error {
			continue
		}
		for _, p := range othersIn(f.Details) {
			if j, ok := waiterOf[p.Thread]; ok && j != i && len(p.Puts) > 0 && waits[j].Severity == Error {
				f.Severity = Info
				setConsequence(f.Details)
				break
			}
		}
	}
}

// isMain reports whether tid is the process's main thread.
func isMain(s *snapshot.Snapshot, tid int) bool {
	t := threadOf(s, tid)
	return t != nil && t.Main
}

// mainMayAct reports whether the main thread, which only sleeps, may still
// act on a signal: the program's code installs a handler
// (locks.Analysis.SignalHandlerSite), or the sleep stands inside a try or
// with block (locks.Analysis.InCleanupBlock), whose except, finally or
// __exit__ runs when Ctrl-C's KeyboardInterrupt, or a handler's SystemExit,
// ends the loop — the usual way a service shuts down.
// handlerMayEnd says whether a Python signal handler may yet end a wait on
// ob: a handler the program installs (signal.signal(),
// add_signal_handler()) makes a call that would end it, and the main
// thread, where handlers run, is there to run it (a blocked wait of the
// main thread is interrupted for it).
func handlerMayEnd(s *snapshot.Snapshot, a *locks.Analysis, ob *snapshot.Object, calls []string) bool {
	if len(calls) == 0 || !slices.ContainsFunc(s.Threads, func(t snapshot.Thread) bool { return t.Main && t.State != snapshot.StateCrashed }) {
		return false
	}
	return len(a.CallsInHandlers(ob, calls...)) > 0
}

func mainMayAct(a *locks.Analysis, s *snapshot.Snapshot) bool {
	if _, ok := a.SignalHandlerSite(); ok {
		return true
	}
	for i := range s.Threads {
		if t := &s.Threads[i]; t.Main {
			return a.InCleanupBlock(t.TID)
		}
	}
	return false
}
