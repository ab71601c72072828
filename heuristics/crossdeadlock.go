package heuristics

import (
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/waitgraph"
)

// SharedLockDeadlock is a deadlock across processes of a family: threads
// of different processes wait for each other through locks the processes
// share (multiprocessing locks), which no one process's report can show.
// Each step's thread waits for what the next step's thread holds.
type SharedLockDeadlock struct {
	Cycle []SharedLockStep `json:"cycle"`
}

// SharedLockStep is one thread of such a deadlock.
type SharedLockStep struct {
	PID    int       `json:"pid"`
	Thread int       `json:"thread"`
	Waits  locks.Ref `json:"waits_for"`
	// Shared is set when what it waits for is a lock shared between
	// processes that a thread of another process holds (the next step's).
	Shared bool `json:"shared,omitempty"`
}

// SharedLockDeadlocks finds the cycles of a family's wait-for graph g (built
// from each process's analysis, parts, and the waits across them, cross)
// that pass a lock shared between processes (locks.KindSharedLock) and no
// wait for a child's exit: those with a process's exit in them are the
// parent's own findings (a pipe or a shared lock its child waits for).
func SharedLockDeadlocks(g *waitgraph.Graph, parts []*locks.Analysis, cross []locks.CrossWait) []SharedLockDeadlock {
	pidOf := map[int]int{}
	waits := map[int]*locks.Wait{}
	for _, a := range parts {
		for tid, w := range a.Waits {
			pidOf[tid], waits[tid] = a.Snap.Target.PID, w
		}
	}
	type key struct {
		tid int
		res string
	}
	crossOf := map[key]locks.CrossWait{} // a thread's wait across processes, by what it waits for
	for _, c := range cross {
		crossOf[key{c.Thread, c.Waits.ID}] = c
	}
	var out []SharedLockDeadlock
	for _, c := range g.Cycles() {
		if len(c.Tasks) > 0 {
			continue
		}
		shared, ok := false, true
		var d SharedLockDeadlock
		for i, tid := range c.Threads {
			res := c.Resources[i]
			st := SharedLockStep{PID: pidOf[tid], Thread: tid}
			if w := waits[tid]; w != nil && w.Timed() {
				ok = false // a timeout in the cycle ends it
				break
			}
			if cw, found := crossOf[key{tid, res}]; found {
				if cw.Waits.Kind != locks.KindSharedLock {
					ok = false
					break
				}
				st.Waits, st.Shared, shared = cw.Waits, true, true
				if w := waits[tid]; w != nil {
					st.Waits = w.Ref // the lock as the waiter's process names it
				}
			} else if w := waits[tid]; w != nil && strings.HasSuffix(res, "/"+w.ID) {
				st.Waits = w.Ref
			} else {
				ok = false
				break
			}
			d.Cycle = append(d.Cycle, st)
		}
		if ok && shared {
			out = append(out, d)
		}
	}
	return out
}
