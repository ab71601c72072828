package heuristics

import (
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Which threads can ever run again. A thread can when it is running,
// sleeping, in I/O, waiting for the GIL, in a wait with a timeout, or in a
// wait pyhang cannot name (it may end in ways pyhang does not see). A thread
// blocked without a timeout on something only another thread of the process
// can release can run again only if such a thread can: the holder of the
// lock, the joined thread, the workers running the future. A queue, a
// condition, an event or a semaphore can be fed, notified, set or released
// by any thread, so any other thread that can run counts. The result is the
// least fixed point: a thread is stuck only when that is proven. A thread
// that only sleeps, in an endless loop that does nothing else
// (locks.Analysis.SleepLoop), runs but never ends anyone's wait: it counts
// as unable to.

// stuckForever reports whether the thread's own wait has no end of its own:
// blocked, without a timeout, on something of the process. A read or write
// of a pipe only the process holds the other end of is I/O that only its
// own threads can end.
func stuckForever(t *snapshot.Thread, w *locks.Wait) bool {
	blocked := t.State == snapshot.StateBlocked || (t.State == snapshot.StateIO && w != nil && w.Kind == locks.KindPipe)
	return w != nil && inProcess[w.Kind] && !w.AnotherProcess && blocked && !(t.Kernel != nil && t.Kernel.Timed) && !w.Timed()
}

// sleepsForever reports whether the thread only sleeps, in an endless loop
// that does nothing else.
func sleepsForever(a *locks.Analysis, tid int) bool {
	_, ok := a.SleepLoop(tid)
	return ok
}

// feeders tells the threads that could feed a queue or notify a condition.
// nil means any thread could (what is proven); a referrers index says only
// the threads whose frames refer to it, or any thread for a module global
// (what is likely, if pyhang sees every reference).
type feeders interface {
	of(ob *snapshot.Object) (tids []int, anyone bool)
}

// mayRun returns, by tid, whether each thread can still run at some point.
func mayRun(s *snapshot.Snapshot, a *locks.Analysis, fd feeders) map[int]bool {
	live := map[int]bool{}
	for i := range s.Threads {
		t := &s.Threads[i]
		if !stuckForever(t, a.Waits[t.TID]) && !sleepsForever(a, t.TID) {
			live[t.TID] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for i := range s.Threads {
			t := &s.Threads[i]
			if live[t.TID] || !stuckForever(t, a.Waits[t.TID]) || !canBeEnded(s, a, t.TID, live, fd) {
				continue
			}
			live[t.TID] = true
			changed = true
		}
	}
	return live
}

// canBeEnded reports whether a live thread could end tid's wait.
func canBeEnded(s *snapshot.Snapshot, a *locks.Analysis, tid int, live map[int]bool, fd feeders) bool {
	w := a.Waits[tid]
	var enders []int
	switch w.Kind {
	case snapshot.KindLock, snapshot.KindRLock, snapshot.KindModuleLock:
		enders = append(append(enders, a.Holders[w.ID]...), w.Probable...)
	case snapshot.KindThread, snapshot.KindFuture:
		enders = w.On
	case snapshot.KindQueue, snapshot.KindCondition, snapshot.KindBarrier:
		if ob := s.Objects[w.Object]; ob != nil && fd != nil {
			tids, anyone := fd.of(ob)
			if !anyone {
				for _, e := range tids {
					if e != tid && live[e] {
						return true
					}
				}
				return false
			}
		}
	}
	if len(enders) == 0 {
		// Nobody in particular: a queue or a condition anyone may feed, a
		// lock held by no thread pyhang sees (any thread may release a
		// Lock), a future no worker runs yet.
		for other := range live {
			if other != tid {
				return true
			}
		}
		return false
	}
	for _, e := range enders {
		if e != tid && live[e] {
			return true
		}
	}
	return false
}

// referrers indexes, per object, the threads whose frames refer to it.
type referrers struct {
	s    *snapshot.Snapshot
	memo map[string][]int
}

func newReferrers(s *snapshot.Snapshot) *referrers {
	return &referrers{s: s, memo: map[string][]int{}}
}

func (r *referrers) of(ob *snapshot.Object) ([]int, bool) {
	if ob.Global != "" {
		return nil, true // any function may name a module global
	}
	if tids, ok := r.memo[ob.ID]; ok {
		return tids, false
	}
	var tids []int
	for i := range r.s.Threads {
		if refersTo(r.s, &r.s.Threads[i], ob.ID) {
			tids = append(tids, r.s.Threads[i].TID)
		}
	}
	r.memo[ob.ID] = tids
	return tids, false
}
