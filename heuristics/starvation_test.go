package heuristics

import (
	"slices"
	"testing"
	"time"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/motion"
	"github.com/pyhang/pyhang/snapshot"
)

// starvationCase is a writer (tid 1) waiting for lock@0x10 and readers 2, 3, 4.
type starvationCase struct {
	timed      bool           // the writer's wait has a timeout
	holders    [][]int        // per look, the threads holding the lock
	motion     map[int]string // class of each thread over the looks
	writerFor  motion.Seconds
	wantRunner []int // the running threads the finding names; nil: no finding
}

func (c starvationCase) run(t *testing.T) []Finding {
	t.Helper()
	const lock = "lock@0x10"
	s := &snapshot.Snapshot{Threads: []snapshot.Thread{{TID: 1}, {TID: 2}, {TID: 3}, {TID: 4}}}
	w := &locks.Wait{Ref: locks.Ref{Kind: snapshot.KindLock, ID: lock}, Object: lock,
		Evidence: []locks.Evidence{{Basis: locks.BasisFutex}}}
	if c.timed {
		w.Evidence = append(w.Evidence, locks.Evidence{Basis: locks.BasisTimeout})
	}
	a := &locks.Analysis{Snap: s, Waits: map[int]*locks.Wait{1: w}, Holds: map[int][]locks.Hold{}, Holders: map[string][]int{}}
	var looks []motion.Look
	for i, hs := range c.holders {
		la := &locks.Analysis{Holds: map[int][]locks.Hold{}}
		for _, tid := range hs {
			la.Holds[tid] = []locks.Hold{{Ref: locks.Ref{Kind: snapshot.KindLock, ID: lock}, Probable: true}}
		}
		looks = append(looks, motion.Look{At: time.Unix(int64(i), 0), Locks: la,
			Threads: map[int]motion.ThreadLook{1: {}, 2: {}, 3: {}, 4: {}}})
	}
	m := map[int]motion.Thread{}
	for tid, class := range c.motion {
		m[tid] = motion.Thread{Class: class}
	}
	wt := m[1]
	wt.SameFor = c.writerFor
	m[1] = wt
	return Starved(s, a, looks, m, time.Second)
}

func TestStarved(t *testing.T) {
	readersMove := map[int]string{1: motion.Stuck, 2: motion.Moving, 3: motion.Moving, 4: motion.Stuck}
	turns := [][]int{{2}, {2, 3}, {3}, {3, 4}}
	for _, c := range []struct {
		name string
		c    starvationCase
	}{
		{"readers take turns", starvationCase{holders: turns, motion: readersMove, writerFor: 3, wantRunner: []int{2, 3}}},
		{"one holder all along (slow, not starving)", starvationCase{holders: [][]int{{2}, {2}, {2}}, motion: readersMove, writerFor: 3}},
		{"the holders stand still too (a deadlock's business)", starvationCase{holders: turns,
			motion: map[int]string{1: motion.Stuck, 2: motion.Stuck, 3: motion.Stuck, 4: motion.Stuck}, writerFor: 3}},
		{"the writer moves", starvationCase{holders: turns, motion: map[int]string{1: motion.Moving, 2: motion.Moving, 3: motion.Moving}, writerFor: 3}},
		{"the writer waits with a timeout", starvationCase{timed: true, holders: turns, motion: readersMove, writerFor: 3}},
		{"not stuck long enough", starvationCase{holders: turns, motion: readersMove, writerFor: 0.5}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := c.c.run(t)
			if c.c.wantRunner == nil {
				if len(fs) != 0 {
					t.Errorf("findings %+v, want none", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Kind != LockStarvation || fs[0].Severity != Warning {
				t.Fatalf("findings %+v, want one lock-starvation warning", fs)
			}
			d := fs[0].Details.(*StarvationDetails)
			if d.Thread != 1 || !slices.Equal(d.Running, c.c.wantRunner) || !slices.Equal(d.Holders, []int{2, 3, 4}) || d.For != 3 {
				t.Errorf("details %+v", d)
			}
			if !slices.Equal(fs[0].Threads, []int{1, 2, 3}) || !slices.Equal(fs[0].Objects, []string{"lock@0x10"}) {
				t.Errorf("finding threads %v objects %v", fs[0].Threads, fs[0].Objects)
			}
		})
	}
}
