package heuristics

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// A multiprocessing ThreadPool (multiprocessing.dummy.Pool) deadlocks
// itself as a ThreadPoolExecutor does: a task calls apply(), or waits on a
// result, of its own pool, and every worker thread is such a task. The
// work they wait for sits in the pool's queue, and no worker is free to
// take it. (A process pool's workers are processes: a task there cannot
// reach the parent's pool.)

// mpWorkerQueue is the inqueue local of a multiprocessing pool worker
// thread's worker() frame, or "".
func mpWorkerQueue(t *snapshot.Thread) string {
	for i := len(t.Frames) - 1; i >= 0; i-- {
		f := &t.Frames[i]
		if f.Function == "worker" && filepath.Base(f.File) == "pool.py" && strings.Contains(f.File, "multiprocessing") {
			return f.Refs["inqueue"]
		}
	}
	return ""
}

func mpPoolDeadlocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	var pools []*snapshot.Object
	for _, ob := range s.Objects {
		if ob.Kind == snapshot.KindMPPool && ob.MPPool != nil && ob.Attrs["_inqueue"] != "" {
			pools = append(pools, ob)
		}
	}
	sort.Slice(pools, func(i, j int) bool { return pools[i].ID < pools[j].ID })
	var out []Finding
	for _, pool := range pools {
		if f, ok := mpPoolDeadlock(s, a, pool); ok {
			out = append(out, f)
		}
	}
	return out
}

// mpPoolDeadlock: every worker thread of the pool waits, for ever, for a
// result of the same pool, and the pool has all its workers.
func mpPoolDeadlock(s *snapshot.Snapshot, a *locks.Analysis, pool *snapshot.Object) (Finding, bool) {
	inq := pool.Attrs["_inqueue"]
	var workers []int
	awaited := map[string]bool{}
	for i := range s.Threads {
		t := &s.Threads[i]
		if mpWorkerQueue(t) != inq {
			continue
		}
		w := a.Waits[t.TID]
		if w == nil || w.Kind != snapshot.KindMPResult || w.Timed() || t.State != snapshot.StateBlocked || (t.Kernel != nil && t.Kernel.Timed) {
			return Finding{}, false // a worker that can still run a task
		}
		res := s.Objects[w.Object]
		if res == nil || res.Attrs["_pool"] != pool.ID {
			return Finding{}, false // waits on another pool, which may run it
		}
		workers = append(workers, t.TID)
		awaited[res.ID] = true
	}
	// A pool short of workers starts one for the next task.
	if len(workers) == 0 || len(workers) < pool.MPPool.Processes {
		return Finding{}, false
	}
	r := locks.RefOf(pool)
	d := &PoolDeadlock{Executor: &r, MaxWorkers: pool.MPPool.Processes, Started: len(workers), Workers: workers}
	if q := s.Objects[inq]; q != nil {
		d.WorkQueue = locks.RefOf(q)
		if q.Len != nil {
			d.Queued += *q.Len
		}
	}
	if q := s.Objects[pool.Attrs["_taskqueue"]]; q != nil && q.Len != nil {
		d.Queued += *q.Len
	}
	for id := range awaited {
		d.Awaited = append(d.Awaited, id)
	}
	sort.Strings(d.Awaited)
	dd := &DeadlockDetails{Pool: d}
	f := Finding{Kind: Deadlock, Severity: Error, Threads: workers, Objects: []string{pool.ID}, Details: dd}
	for _, tid := range workers {
		dd.Cycle = append(dd.Cycle, CycleStep{ThreadWait: threadWait(a, tid)})
		if id := a.Waits[tid].Object; !contains(f.Objects, id) {
			f.Objects = append(f.Objects, id)
		}
	}
	return f, true
}
