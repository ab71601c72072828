package heuristics

import (
	"slices"
	"testing"

	"github.com/pyhang/pyhang/locks"
)

// cycleOf is a deadlock finding of steps given as (thread, resource,
// holders).
func cycleOf(steps ...[]any) Finding {
	d := &DeadlockDetails{}
	f := Finding{Kind: Deadlock, Severity: Error, Details: d}
	for _, st := range steps {
		s := CycleStep{ThreadWait: ThreadWait{Thread: st[0].(int), Waits: locks.Ref{ID: st[1].(string)}}}
		for _, h := range st[2].([]int) {
			s.HeldBy = append(s.HeldBy, Holder{Thread: h})
		}
		d.Cycle = append(d.Cycle, s)
		f.Threads = append(f.Threads, s.Thread)
		f.Objects = append(f.Objects, s.Waits.ID)
	}
	return f
}

func TestKnots(t *testing.T) {
	// Threads 1 and 2 hold the semaphore's units and wait for the lock 3
	// holds, which waits for the semaphore: one deadlock of all three.
	both := []Finding{
		cycleOf([]any{1, "lock", []int{3}}, []any{3, "sem", []int{1, 2}}),
		cycleOf([]any{2, "lock", []int{3}}, []any{3, "sem", []int{1, 2}}),
	}
	got := knots(both)
	if len(got) != 1 || got[0].Severity != Error || !slices.Equal(got[0].Threads, []int{1, 3, 2}) {
		t.Fatalf("knot: %+v, want one error of threads 1, 3, 2", got)
	}
	// Thread 2 holds a unit and is in no cycle: it may give it back.
	one := []Finding{cycleOf([]any{1, "lock", []int{3}}, []any{3, "sem", []int{1, 2}})}
	got = knots(one)
	if len(got) != 1 || got[0].Severity != Warning || !slices.Equal(got[0].Details.(*DeadlockDetails).OtherHolders, []int{2}) {
		t.Fatalf("a cycle beside a free holder: %+v, want a warning naming thread 2", got)
	}
	// A cycle whose waits each have one holder is left as it is.
	plain := []Finding{cycleOf([]any{1, "a", []int{2}}, []any{2, "b", []int{1}})}
	if got := knots(plain); len(got) != 1 || got[0].Severity != Error {
		t.Fatalf("a plain cycle: %+v", got)
	}
}
