package heuristics

import (
	"fmt"
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// probableFixture is two threads, 1 and 2, each waiting for a Lock the
// other stands after a bare acquire() of (lock a, 0x1, held by 1; lock b,
// 0x2, held by 2): the locks analysis's own answer for a lock-order
// inversion written with acquire() and release().
func probableFixture() (*snapshot.Snapshot, *locks.Analysis) {
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Objects: map[string]*snapshot.Object{}}
	a := &locks.Analysis{Snap: s, Waits: map[int]*locks.Wait{}, Holds: map[int][]locks.Hold{},
		Holders: map[string][]int{}, ProbableHolders: map[string][]int{}}
	for tid := 1; tid <= 3; tid++ {
		s.Threads = append(s.Threads, snapshot.Thread{TID: tid, Name: fmt.Sprint("t", tid), State: snapshot.StateBlocked,
			Frames: []snapshot.Frame{{Function: "work", File: "/app/w.py", Line: 10 * tid}}})
	}
	wait(a, 1, lockRef(0x2))
	wait(a, 2, lockRef(0x1))
	bareHold(a, 1, lockRef(0x1), locks.BasisBareAcquire)
	bareHold(a, 2, lockRef(0x2), locks.BasisBareAcquire)
	return s, a
}

func lockRef(addr uint64) locks.Ref {
	return locks.Ref{Kind: snapshot.KindLock, ID: fmt.Sprintf("lock@%#x", addr)}
}

func wait(a *locks.Analysis, tid int, r locks.Ref) {
	a.Waits[tid] = &locks.Wait{Ref: r, Object: r.ID, Evidence: []locks.Evidence{{Basis: locks.BasisFutex}}}
}

func bareHold(a *locks.Analysis, tid int, r locks.Ref, basis locks.Basis) {
	a.Holds[tid] = append(a.Holds[tid], locks.Hold{Ref: r, Probable: true,
		Evidence: []locks.Evidence{{Basis: basis, At: &locks.Site{File: "/app/w.py", Line: tid, Function: "work"}}}})
	a.ProbableHolders[r.ID] = append(a.ProbableHolders[r.ID], tid)
}

// TestProbableDeadlock: a cycle that closes through bare-acquire holds is
// a deadlock marked probable; an error when each lock has one candidate
// holder, a warning when another thread stands after an acquire() of one
// too; none when a probable hold rests on something else than a bare
// acquire() (a semaphore's with block, a reused RLock ident).
func TestProbableDeadlock(t *testing.T) {
	check := func(name string, s *snapshot.Snapshot, a *locks.Analysis, want Severity) {
		t.Helper()
		fs := deadlocks(s, a, waitgraph.Build(s, a))
		if want == "" {
			if len(fs) != 0 {
				t.Errorf("%s: %d findings, want none: %+v", name, len(fs), fs)
			}
			return
		}
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings, want one deadlock: %+v", name, len(fs), fs)
		}
		f := fs[0]
		d := f.Details.(*DeadlockDetails)
		if f.Severity != want || !d.Probable || len(d.Cycle) != 2 {
			t.Fatalf("%s: %s, probable %v, %d steps; want %s, probable, 2 steps", name, f.Severity, d.Probable, len(d.Cycle), want)
		}
		for _, st := range d.Cycle {
			if len(st.HeldBy) == 0 || st.HeldBy[0].Thread == st.Thread || !st.HeldBy[0].Probable || len(st.HeldBy[0].Evidence) == 0 {
				t.Errorf("%s: thread %d's lock held by %+v: want the other thread, probably, with its acquire()", name, st.Thread, st.HeldBy)
			}
		}
	}
	s, a := probableFixture()
	check("one holder each", s, a, Error)

	s, a = probableFixture()
	bareHold(a, 3, lockRef(0x2), locks.BasisBareAcquire) // thread 3 stands after an acquire() of b too
	check("two candidates for b", s, a, Warning)

	for _, basis := range []locks.Basis{locks.BasisWith, locks.BasisIdentReused} {
		s, a = probableFixture()
		a.Holds[2], a.ProbableHolders[lockRef(0x2).ID] = nil, nil
		bareHold(a, 2, lockRef(0x2), basis)
		check(string(basis), s, a, "")
	}

	// A one-unit semaphore held by a with block (it has no owner, and
	// other units may be elsewhere): a warning.
	s, a = probableFixture()
	sem := locks.Ref{Kind: snapshot.KindSemaphore, ID: "semaphore@0x2"}
	a.Holds[2], a.ProbableHolders[lockRef(0x2).ID] = nil, nil
	wait(a, 1, sem)
	bareHold(a, 2, sem, locks.BasisWith)
	check("semaphore's with block", s, a, Warning)

	// Proven holds: the deadlock is not probable (and is found once).
	s, a = probableFixture()
	for tid, id := range map[int]string{1: lockRef(0x1).ID, 2: lockRef(0x2).ID} {
		a.Holds[tid] = []locks.Hold{{Ref: lockRef(map[int]uint64{1: 1, 2: 2}[tid]), Evidence: []locks.Evidence{{Basis: locks.BasisWith}}}}
		a.Holders[id], a.ProbableHolders[id] = []int{tid}, nil
	}
	fs := deadlocks(s, a, waitgraph.Build(s, a))
	if len(fs) != 1 || fs[0].Details.(*DeadlockDetails).Probable || fs[0].Severity != Error {
		t.Errorf("proven cycle: %+v, want one deadlock, not probable", fs)
	}
}
