package locks

import "github.com/pyhang/pyhang/snapshot"

// BasisTstateLock: the lock waited on is a thread's _tstate_lock (3.8–3.12),
// which the interpreter releases when that thread ends: waiting on it is
// joining the thread (threading._shutdown does so for every non-daemon
// thread at exit, without Thread.join's frames).
const BasisTstateLock Basis = "tstate-lock"

// tstateLockThread returns the threading.Thread object whose _tstate_lock is
// the lock ob, or nil. The threads are indexed by their lock on first use:
// looking through every object for each thread blocked on a lock cost a
// tenth of an analysis of 100 threads.
func (x *index) tstateLockThread(ob *snapshot.Object) *snapshot.Object {
	if ob.Kind != snapshot.KindLock {
		return nil
	}
	if x.byTstateLock == nil {
		x.byTstateLock = map[string]*snapshot.Object{}
		for _, t := range x.s.Objects {
			if id := t.Attrs["_tstate_lock"]; t.Kind == snapshot.KindThread && id != "" {
				x.byTstateLock[id] = t
			}
		}
	}
	return x.byTstateLock[ob.ID]
}

// tstateLockWait is the wait on a thread's _tstate_lock taken without a
// join frame: a join of that thread.
func (a *Analysis) tstateLockWait(x *index, lock, thread *snapshot.Object, how Evidence) *Wait {
	w := &Wait{Ref: ref(thread), Evidence: []Evidence{how, {Basis: BasisTstateLock, Type: lock.Type}}, Object: thread.ID}
	a.joinTarget(x, w, thread.Ident)
	return w
}
