package heuristics

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// An executor deadlocks itself when its tasks wait for futures queued on the
// same executor and every one of its workers is such a task: the queued work
// needs a free worker, and none will ever be free. No lock is involved, so
// the wait-for graph has no cycle: the workers are the cycle's nodes, the
// queued futures its resources.

// PoolDeadlock is the executor part of a deadlock: whose workers, how many
// it may have, and the queued futures they wait for.
type PoolDeadlock struct {
	// WorkQueue is the executor's work queue (a SimpleQueue).
	WorkQueue locks.Ref `json:"work_queue"`
	// Executor is the ThreadPoolExecutor, when pyhang found it.
	Executor *locks.Ref `json:"executor,omitempty"`
	// MaxWorkers and Started are the executor's max_workers and the worker
	// threads it has started (both 0 when the executor was not found).
	MaxWorkers int `json:"max_workers,omitempty"`
	Started    int `json:"started,omitempty"`
	// Workers are the pool's threads, every one of them waiting.
	Workers []int `json:"workers"`
	// Queued is how many work items wait in the queue; Awaited the queued
	// futures the workers wait for.
	Queued  int      `json:"queued"`
	Awaited []string `json:"awaited"`
}

// workQueueOf returns the work queue of a concurrent.futures worker thread:
// the work_queue local of its _worker frame.
func workQueueOf(t *snapshot.Thread) string {
	for i := len(t.Frames) - 1; i >= 0; i-- {
		f := &t.Frames[i]
		if f.Function == "_worker" && filepath.Base(f.File) == "thread.py" && strings.Contains(f.File, "concurrent") {
			return f.Refs["work_queue"]
		}
	}
	return ""
}

func poolDeadlocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	pools := map[string][]int{} // work queue → worker tids
	var queues []string
	for i := range s.Threads {
		t := &s.Threads[i]
		q := workQueueOf(t)
		if q == "" || s.Objects[q] == nil {
			continue
		}
		if pools[q] == nil {
			queues = append(queues, q)
		}
		pools[q] = append(pools[q], t.TID)
	}
	sort.Strings(queues)
	var out []Finding
	for _, q := range queues {
		if f, ok := poolDeadlock(s, a, q, pools[q]); ok {
			out = append(out, f)
		}
	}
	return out
}

// poolDeadlock: every worker of the pool whose queue is q waits, forever, for
// a future that is queued on q or that only such a worker runs.
func poolDeadlock(s *snapshot.Snapshot, a *locks.Analysis, q string, workers []int) (Finding, bool) {
	queue := s.Objects[q]
	queued := map[string]bool{}
	for _, id := range queue.Queued {
		queued[id] = true
	}
	if len(queued) == 0 {
		return Finding{}, false
	}
	inPool := map[int]bool{}
	for _, tid := range workers {
		inPool[tid] = true
	}
	stuck := map[int]bool{}
	awaited := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, tid := range workers {
			if stuck[tid] {
				continue
			}
			w := a.Waits[tid]
			t := threadOf(s, tid)
			if w == nil || t == nil || w.Kind != snapshot.KindFuture || w.Object == "" || !stuckForever(t, w) {
				continue
			}
			switch {
			case queued[w.Object]:
				awaited[w.Object] = true
			case len(w.On) > 0 && allIn(w.On, stuck):
			default:
				continue
			}
			stuck[tid] = true
			changed = true
		}
	}
	if len(stuck) != len(workers) || len(awaited) == 0 {
		return Finding{}, false
	}
	d := &PoolDeadlock{WorkQueue: locks.RefOf(queue), Workers: append([]int(nil), workers...)}
	if queue.Len != nil {
		d.Queued = *queue.Len
	}
	ex := executorOf(s, q)
	if ex != nil {
		r := locks.RefOf(ex)
		d.Executor = &r
		d.MaxWorkers, d.Started = ex.Executor.MaxWorkers, ex.Executor.Threads
	}
	// A pool below its size would start a worker for the next submit(), but
	// only a thread that can still run would submit.
	full := ex != nil && ex.Executor.Threads >= ex.Executor.MaxWorkers && len(workers) >= ex.Executor.Threads
	if !full && !othersStuck(s, a, inPool) {
		return Finding{}, false
	}
	sort.Ints(d.Workers)
	for id := range awaited {
		d.Awaited = append(d.Awaited, id)
	}
	sort.Strings(d.Awaited)
	dd := &DeadlockDetails{Pool: d}
	f := Finding{Kind: Deadlock, Severity: Error, Threads: d.Workers, Details: dd}
	f.Objects = append(f.Objects, q)
	if ex != nil {
		f.Objects = append(f.Objects, ex.ID)
	}
	for _, tid := range d.Workers {
		dd.Cycle = append(dd.Cycle, CycleStep{ThreadWait: threadWait(a, tid)})
		if id := a.Waits[tid].Object; !contains(f.Objects, id) {
			f.Objects = append(f.Objects, id)
		}
	}
	return f, true
}

// executorOf finds the ThreadPoolExecutor whose work queue is q.
func executorOf(s *snapshot.Snapshot, q string) *snapshot.Object {
	ids := make([]string, 0, 4)
	for id, ob := range s.Objects {
		if ob.Kind == snapshot.KindExecutor && ob.Executor != nil && ob.Attrs["_work_queue"] == q {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		return nil
	}
	return s.Objects[ids[0]]
}

// othersStuck: every thread outside the set waits forever too.
func othersStuck(s *snapshot.Snapshot, a *locks.Analysis, set map[int]bool) bool {
	for i := range s.Threads {
		t := &s.Threads[i]
		if !set[t.TID] && !stuckForever(t, a.Waits[t.TID]) {
			return false
		}
	}
	return true
}

func allIn(tids []int, set map[int]bool) bool {
	for _, t := range tids {
		if !set[t] {
			return false
		}
	}
	return true
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
