package heuristics

import (
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// A timeout in a cycle of waits ends the deadlock only if the thread lets
// go of what it holds when the wait times out. Code that retries in place,
//
//	with a:
//	    while not b.acquire(timeout=1):
//	        pass
//
// keeps a while it tries for b again, forever, and so does a thread with
// the same loop that holds b and wants a. From the source: the timed wait
// stands in a while loop, and the with block that holds the other lock
// opens before that loop (or in a frame outside it). The loop may still
// give up after a while (a counter, a deadline), which the source does not
// show plainly: a warning.

// RetryLoop is a thread of a cycle whose wait has a timeout and stands in a
// while loop inside the with block of its hold.
type RetryLoop struct {
	Thread int        `json:"thread"`
	Loop   locks.Site `json:"loop"`
	// Hold is the with statement of what the thread keeps holding; empty
	// for a feeder that retries to take what the waiter holds, and holds
	// nothing the others need (feeddeadlock.go).
	Hold locks.Site `json:"hold"`
}

// retriedHolding says whether each timed wait of the cycle is retried with
// the thread's hold of the cycle kept, and notes the loops in d.
func retriedHolding(s *snapshot.Snapshot, a *locks.Analysis, c waitgraph.Cycle, d *DeadlockDetails) bool {
	n := len(c.Threads)
	if n == 0 || len(c.Resources) != n {
		return false
	}
	for i, tid := range c.Threads {
		w := a.Waits[tid]
		if w == nil || !w.Timed() {
			continue
		}
		loop, frame, ok := a.RetryLoop(tid)
		if !ok {
			return false
		}
		hold, ok := heldAround(s, a, tid, c.Resources[(i+n-1)%n], loop, frame)
		if !ok {
			return false
		}
		d.Retries = append(d.Retries, RetryLoop{Thread: tid, Loop: loop, Hold: hold})
	}
	return len(d.Retries) > 0
}

// heldAround finds the with block by which thread tid holds res, and says
// whether it encloses the loop, which stands in frame index frame: it opens
// before the loop in the same frame, or in a frame further out.
func heldAround(s *snapshot.Snapshot, a *locks.Analysis, tid int, res string, loop locks.Site, frame int) (locks.Site, bool) {
	t := threadOf(s, tid)
	if t == nil {
		return locks.Site{}, false
	}
	for _, h := range a.Holds[tid] {
		if h.ID != res || h.Probable {
			continue
		}
		for _, e := range h.Evidence {
			if e.Basis != locks.BasisWith || e.At == nil || e.Enclosing {
				continue
			}
			for k := frame; k < len(t.Frames); k++ {
				f := &t.Frames[k]
				if f.File != e.At.File || f.Qualname != e.At.Function {
					continue
				}
				if k > frame || e.At.Line < loop.Line {
					return *e.At, true
				}
			}
		}
	}
	return locks.Site{}, false
}
