package locks

import "github.com/pyhang/pyhang/snapshot"

// BasisTstateLock: the lock waited on is a thread's _tstate_lock (3.8–3.12),
// which the interpreter releases when that thread ends: waiting on it is
// joining the thread (threading._shutdown does so for every non-daemon
// thread at exit, without Thread.join's frames).
const BasisTstateLock Basis = "tstate-lock"

// tstateLockThread returns the threading.Thread object whose _tstate_lock is
// the lock ob, or nil.
func tstateLockThread(s *snapshot.Snapshot, ob *snapshot.Object) *snapshot.Object {
	if ob.Kind != snapshot.KindLock {
		return nil
	}
	for _, t := range s.Objects {
		if t.Kind == snapshot.KindThread && t.Attrs["_tstate_lock"] == ob.ID {
			return t
		}
	}
	return nil
}

// tstateLockWait is the wait on a thread's _tstate_lock taken without a
// join frame: a join of that thread.
func (a *Analysis) tstateLockWait(x *index, lock, thread *snapshot.Object, how Evidence) *Wait {
	w := &Wait{Ref: ref(thread), Evidence: []Evidence{how, {Basis: BasisTstateLock, Type: lock.Type}}, Object: thread.ID}
	a.joinTarget(x, w, thread.Ident)
	return w
}
