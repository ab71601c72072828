package heuristics

import (
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// CauseForkInherited: the lock was locked when the process was forked, by a
// thread of the parent that the child does not have.
const CauseForkInherited = "inherited-over-fork"

// ForkOrigin says why a lock is known to come locked from the parent.
type ForkOrigin struct {
	// Fork is the os.fork() call the waiting thread's stack went through.
	Fork *locks.ForkCall `json:"fork,omitempty"`
	// ParentPID is the parent process (live targets).
	ParentPID int `json:"parent_pid,omitempty"`
	// Owner is the Thread object the RLock's owner field names, when the
	// process's memory still holds it (a copy of the parent's).
	Owner *EndedThread `json:"owner_thread,omitempty"`
	// OwnerInParent: the kernel shows the owner's thread in the parent
	// process (live targets): the owner is a thread of the parent.
	OwnerInParent bool `json:"owner_in_parent,omitempty"`
	// Threads is how many threads the process has.
	Threads int `json:"threads"`
	// Acquires are the bare acquire() calls of a Lock known in the source,
	// in functions the child's one thread does not stand in: probably where
	// a thread of the parent took it.
	Acquires []locks.Site `json:"acquire_sites,omitempty"`
}

// threadObject returns the Thread object with the ident, if memory holds it.
func threadObject(s *snapshot.Snapshot, ident uint64) *EndedThread {
	if ident == 0 {
		return nil
	}
	var best *snapshot.Object
	for _, ob := range s.Objects {
		if ob.Kind == snapshot.KindThread && ob.Ident == ident && (best == nil || ob.ID < best.ID) {
			best = ob
		}
	}
	if best == nil {
		return nil
	}
	return &EndedThread{Object: best.ID, Name: best.Value, Ident: best.Ident, NativeID: best.NativeID}
}

// forkOrigin decides whether an orphaned lock was inherited over fork. An
// RLock is when its owner is a thread of the parent (the kernel says so,
// live) or when the waiter's stack went through os.fork(); a Lock, which
// records no owner, when the waiter's stack went through os.fork(), the
// process has that one thread, and no bare acquire() of it is known in a
// function that thread stands in.
func forkOrigin(s *snapshot.Snapshot, a *locks.Analysis, ob *snapshot.Object, d *OrphanedLockDetails, waiters []int) *ForkOrigin {
	o := &ForkOrigin{Threads: len(s.Threads)}
	for _, tid := range waiters {
		if fc := a.Fork(tid); fc != nil {
			o.Fork = fc
			break
		}
	}
	if p := s.Target.Parent; p != nil {
		o.ParentPID = p.PID
	}
	switch ob.Kind {
	case snapshot.KindRLock:
		o.Owner = threadObject(s, ob.Owner)
		if o.Owner != nil && o.Owner.NativeID > 0 && s.Target.Parent != nil {
			for _, t := range s.Target.Parent.Threads {
				if t == o.Owner.NativeID {
					o.OwnerInParent = true
				}
			}
		}
		if o.OwnerInParent || o.Fork != nil {
			return o
		}
	case snapshot.KindLock:
		if o.Fork == nil || len(s.Threads) != 1 {
			return nil
		}
		// The bare acquire() calls known, if any, stand in functions the
		// one thread left does not stand in: a thread of the parent ran
		// them, and the lock was copied locked.
		for _, st := range d.Acquires {
			if onStack(&s.Threads[0], st) {
				return nil
			}
		}
		o.Acquires = d.Acquires
		return o
	}
	return nil
}

// onStack says whether a frame of t runs the function of site st.
func onStack(t *snapshot.Thread, st locks.Site) bool {
	for i := range t.Frames {
		if f := &t.Frames[i]; f.File == st.File && f.Qualname == st.Function {
			return true
		}
	}
	return false
}
