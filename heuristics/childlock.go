package heuristics

import (
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// A parent that waits for its child while holding a lock the child waits
// for: a multiprocessing lock is a semaphore in memory the two share, and
// a forked child finds it where its parent does. The parent sits in wait4
// (Process.join(), os.waitpid()), the child in sem_wait(), so neither
// moves. The kernel shows the child's futex word (live targets): when it is
// a shared lock's semaphore, at the same address in the same file of the
// target's, and a thread of the target that cannot run holds the lock, the
// cycle is proven.

// ChildLockDeadlock is the cross-process part of such a deadlock.
type ChildLockDeadlock struct {
	// Thread waits for the child to end.
	Thread int `json:"thread"`
	Child  int `json:"child_pid"`
	// Comm is the child's command name.
	Comm string `json:"comm,omitempty"`
	// Lock is the shared lock the child waits for; Futex its semaphore,
	// the child's futex word; File what both processes map there.
	Lock  locks.Ref     `json:"lock"`
	Futex snapshot.Addr `json:"futex,omitempty"`
	File  string        `json:"file"`
	// TargetFutex is the same word at this process's address, when the
	// child maps the file elsewhere (spawn, a fork server's child).
	TargetFutex snapshot.Addr `json:"target_futex,omitempty"`
	// HeldBy are the target's threads holding the lock, none of which can
	// run until the child ends: the waiting thread itself, or threads that
	// wait forever.
	HeldBy []Holder `json:"held_by"`
	// ByProcess is set for a file lock (flock, fcntl) the child waits for:
	// the target process holds it, through its descriptors FDs, and none
	// of its threads can run to unlock it or close them (HeldBy is empty:
	// such a lock is the process's, not a thread's).
	ByProcess bool  `json:"held_by_process,omitempty"`
	FDs       []int `json:"fds,omitempty"`
	// Unset is set when Lock is a multiprocessing.Event the child waits on
	// and that is not set: no thread of the target can run to set it, and
	// no other process that shares it is alive but waiting on it too
	// (HeldBy is empty: an event has no holder).
	Unset bool `json:"unset_event,omitempty"`
}

func childLockDeadlocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	var out []Finding
	for _, tid := range sortedWaiters(a) {
		w := a.Waits[tid]
		t := threadOf(s, tid)
		// In wait4, or (the forkserver start method) polling the
		// process's sentinel without a timeout.
		if w.Kind != locks.KindProcess || w.Timed() || t == nil || (t.State != snapshot.StateBlocked && t.State != snapshot.StateIO) ||
			(t.Kernel != nil && t.Kernel.Timed) {
			continue
		}
		c := locks.ChildOf(s, w)
		if c != nil && c.State != "Z" && c.FileLock != nil {
			if f, ok := childFileLockDeadlock(s, a, tid, w, c); ok {
				out = append(out, f)
			}
			continue
		}
		if c == nil || c.State == "Z" || c.Syscall != "futex" || c.Futex == 0 || c.FutexFile == "" {
			continue
		}
		lk := sharedLockAt(s, c.FutexHere(), c.FutexFile)
		if lk == nil {
			continue
		}
		if lk.Kind == snapshot.KindEvent {
			if f, ok := childEventDeadlock(s, a, tid, w, c, lk); ok {
				out = append(out, f)
			}
			continue
		}
		held, probable := childLockHolders(s, a, tid, lk)
		if len(held) == 0 {
			continue
		}
		d := &ChildLockDeadlock{Thread: tid, Child: c.PID, Comm: c.Comm, Lock: locks.RefOf(lk), Futex: c.Futex, File: c.FutexFile, TargetFutex: c.TargetFutex, HeldBy: held}
		f := Finding{Kind: Deadlock, Severity: Error, Threads: []int{tid}, Objects: []string{w.ID, lk.ID},
			Details: &DeadlockDetails{Cycle: []CycleStep{{ThreadWait: threadWait(a, tid), HeldBy: held}}, ChildLock: d, Probable: probable}}
		for _, h := range held {
			f.Threads = append(f.Threads, h.Thread)
		}
		f.Threads = sortedUnique(f.Threads)
		f.Objects = sortedUnique(f.Objects)
		out = append(out, f)
	}
	return out
}

// childLockHolders are the target's threads that hold lk, which the child
// of thread tid waits for, when none of them can run until the child ends:
// tid itself, or threads that wait forever (nil when one may yet release
// it). When no thread provably holds lk, a Lock, its one probable holder
// is taken: the thread that stands after a bare acquire() of it, before its
// release(). The child's wait shows the lock is taken, and no other thread
// stands where it could have taken it, so the hold is inferred (probable).
func childLockHolders(s *snapshot.Snapshot, a *locks.Analysis, tid int, lk *snapshot.Object) (held []Holder, probable bool) {
	tids := a.Holders[lk.ID]
	if len(tids) == 0 {
		inferred, sure := inferredHolders(a, &locks.Wait{Ref: locks.RefOf(lk)})
		if !sure {
			return nil, false
		}
		tids, probable = []int{inferred[0].Thread}, true
	}
	for _, h := range tids {
		ht := threadOf(s, h)
		if h != tid && (ht == nil || !stuckForever(ht, a.Waits[h])) {
			return nil, false // a holder that can run may yet release it
		}
		hd := Holder{Thread: h, Probable: probable}
		for _, hold := range a.Holds[h] {
			if hold.ID == lk.ID {
				hd.Evidence = hold.Evidence
			}
		}
		held = append(held, hd)
	}
	return held, probable
}

// childFileLockDeadlock: thread tid waits for child c, which waits to lock
// a file the target process holds a lock on, and no other thread of the
// target can run to unlock it or close the descriptor.
func childFileLockDeadlock(s *snapshot.Snapshot, a *locks.Analysis, tid int, w *locks.Wait, c *snapshot.ChildProcess) (Finding, bool) {
	fl := c.FileLock
	held, fds := false, []int(nil)
	for _, h := range fl.Holders {
		if h.PID == s.Target.PID {
			held, fds = true, h.FDs
		}
	}
	if !held || !othersStuck(s, a, map[int]bool{tid: true}) {
		return Finding{}, false
	}
	name := fl.Path
	ref := locks.Ref{Kind: locks.KindFileLock, ID: locks.KindFileLock + "@" + fl.File, Name: &name}
	d := &ChildLockDeadlock{Thread: tid, Child: c.PID, Comm: c.Comm, Lock: ref, File: fl.Path, HeldBy: []Holder{}, ByProcess: true, FDs: fds}
	return Finding{Kind: Deadlock, Severity: Error, Threads: []int{tid}, Objects: []string{w.ID},
		Details: &DeadlockDetails{Cycle: []CycleStep{{ThreadWait: threadWait(a, tid)}}, ChildLock: d}}, true
}

// childEventDeadlock: thread tid waits for child c, which waits on ev, a
// multiprocessing.Event that is not set, while no other thread of the
// target can run to set it. Nothing else may set it: the child's other
// threads wait forever on futexes of its own and it has no child
// (ChildProcess.Alone), and every other child of the target is dead, one
// of multiprocessing's helper processes, or waits on the same event the
// same way. A process outside the target's
// family that shares the event would have been handed it on purpose: the
// evidence says what was looked at.
func childEventDeadlock(s *snapshot.Snapshot, a *locks.Analysis, tid int, w *locks.Wait, c *snapshot.ChildProcess, ev *snapshot.Object) (Finding, bool) {
	if ev.Value != "False" || !c.Alone || !othersStuck(s, a, map[int]bool{tid: true}) {
		return Finding{}, false
	}
	for i := range s.Target.Children {
		o := &s.Target.Children[i]
		if o.PID == c.PID || o.State == "Z" || o.Helper != "" {
			continue // multiprocessing's fork server and resource tracker hold no event
		}
		if o.Syscall != "futex" || o.FutexHere() != c.FutexHere() || !o.Alone {
			return Finding{}, false // a sibling that may yet set it
		}
	}
	d := &ChildLockDeadlock{Thread: tid, Child: c.PID, Comm: c.Comm, Lock: locks.RefOf(ev), Futex: c.Futex, File: c.FutexFile,
		TargetFutex: c.TargetFutex, HeldBy: []Holder{}, Unset: true}
	f := Finding{Kind: Deadlock, Severity: Error, Threads: []int{tid}, Objects: sortedUnique([]string{w.ID, ev.ID}),
		Details: &DeadlockDetails{Cycle: []CycleStep{{ThreadWait: threadWait(a, tid), HeldBy: []Holder{}}}, ChildLock: d}}
	return f, true
}

// sharedLockAt is the target's lock shared between processes whose state
// is at addr, in a mapping of the file a child maps there too.
func sharedLockAt(s *snapshot.Snapshot, addr snapshot.Addr, file string) *snapshot.Object {
	for _, ob := range s.Objects {
		if ob.Shared && ob.WaitKey == addr && ob.SharedFile != "" && sameFile(ob.SharedFile, file) {
			return ob
		}
	}
	return nil
}

// sameFile compares two mapped paths as /proc and a core's file note show
// them, one maybe marked deleted (a semaphore's name is unlinked once the
// processes sharing it have it open).
func sameFile(a, b string) bool {
	const deleted = " (deleted)"
	return strings.TrimSuffix(a, deleted) == strings.TrimSuffix(b, deleted)
}
