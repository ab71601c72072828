package heuristics

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// multiprocessing waits whose other party is a process that died. A Pool
// job's task was taken by a worker that was then killed (the OOM killer, a
// crash): the pool replaces the worker but not the task, and the result
// never arrives. A multiprocessing queue's producers have all exited (one
// killed before it put its result): nothing can ever put to it. Both need
// the kernel's view of the children (live targets); a core shows only the
// processes the target had already reaped.

// What an abandoned wait waits for (multiprocessing).
const (
	// WhatLostTask: a Pool result whose task no worker has: every worker
	// is idle, and no task is queued or in flight.
	WhatLostTask = "lost-task"
	// WhatMPQueue: a multiprocessing queue no living process can put to.
	WhatMPQueue = "mp-queue"
	// WhatMPQueueJoin: a JoinableQueue's join() with tasks unfinished,
	// while the queue is empty and every process that takes from it waits
	// in get() for the next item: they are past every item they took, and
	// task_done() was not called for some.
	WhatMPQueueJoin = "mp-queue-join"
)

// ReasonTaskLost: the pool's workers all wait for new tasks, its task queue
// is empty and its result pipe too: the job's remaining tasks went with a
// worker that died.
const ReasonTaskLost = "task-lost"

// ProcessFate is what became of a worker process.
type ProcessFate struct {
	PID int `json:"pid"`
	// Object is its multiprocessing.Process object, Name that object's name.
	Object string `json:"object,omitempty"`
	Name   string `json:"name,omitempty"`
	// State is "idle" (waiting for a task), "dead" (exited, not reaped:
	// the kernel keeps its status), "ended" (reaped, or no longer a child).
	State string `json:"state"`
	// Signal killed it; Status is its exit status.
	Signal int  `json:"signal,omitempty"`
	Status *int `json:"status,omitempty"`
}

// Process fates.
const (
	FateIdle  = "idle"
	FateDead  = "dead"
	FateEnded = "ended"
)

// PoolTask says which pool job waits and what its workers do.
type PoolTask struct {
	Pool      locks.Ref `json:"pool"`
	Job       int       `json:"job"`
	Left      *int      `json:"left,omitempty"`
	Processes int       `json:"processes"`
}

func mpAbandoned(s *snapshot.Snapshot, a *locks.Analysis, live map[int]bool) []Finding {
	byObject := map[string][]int{}
	for i := range s.Threads {
		t := &s.Threads[i]
		w := a.Waits[t.TID]
		if w == nil || w.Object == "" || w.Timed() || (t.Kernel != nil && t.Kernel.Timed) {
			continue
		}
		ob := s.Objects[w.Object]
		if ob == nil || (ob.Kind != snapshot.KindMPResult && ob.Kind != snapshot.KindMPQueue) {
			continue
		}
		byObject[ob.ID] = append(byObject[ob.ID], t.TID)
	}
	return eachObject(s, byObject, func(ob *snapshot.Object, waiters []int) (Finding, bool) {
		if ob.Kind == snapshot.KindMPResult {
			return lostTask(s, a, ob, waiters)
		}
		if a.Waits[waiters[0]].Call == "join" {
			return unfinishedForever(s, a, live, ob, waiters)
		}
		return deadProducers(s, a, live, ob, waiters)
	})
}

// unfinishedForever: the waiters wait in a JoinableQueue's join() with
// tasks unfinished (live: the semaphore's value); this process's feeder
// buffer is empty, and every child process waits in get() on the queue,
// one reading its pipe (so the pipe holds nothing), the others for its read
// lock; no other thread of the target can run to put. Every item put was
// taken, and the takers are past them without task_done() for each: join()
// never returns.
func unfinishedForever(s *snapshot.Snapshot, a *locks.Analysis, live map[int]bool, q *snapshot.Object, waiters []int) (Finding, bool) {
	if s.Target.Kind != "pid" || q.MPQueue == nil || q.MPQueue.ReaderFD == nil || q.Unfinished == nil || *q.Unfinished == 0 {
		return Finding{}, false
	}
	if buf := s.Objects[q.Attrs["_buffer"]]; buf == nil || buf.Len == nil || *buf.Len != 0 {
		return Finding{}, false // items still to be written to the pipe
	}
	for _, tid := range waiters {
		if a.Waits[tid].Call != "join" {
			return Finding{}, false
		}
	}
	isWaiter := map[int]bool{}
	for _, tid := range waiters {
		isWaiter[tid] = true
	}
	d := &AbandonedWaitDetails{What: WhatMPQueueJoin, Object: locks.RefOf(q), Unfinished: q.Unfinished}
	for i := range s.Threads {
		t := &s.Threads[i]
		if isWaiter[t.TID] {
			continue
		}
		if live[t.TID] && !feederIdle(a, t, q) {
			return Finding{}, false // it may put to the queue
		}
		d.Others = append(d.Others, Producer{Thread: t.TID, Refers: refersTo(s, t, q.ID), Waits: foreverWait(a, t)})
	}
	var severity Severity
	d.Reason, severity = noEnder(s, 0, d.Others)
	if d.Reason == ReasonMainSleeps {
		return Finding{}, false
	}
	reading := false
	for i := range s.Target.Children {
		c := &s.Target.Children[i]
		if c.State == "Z" || c.Helper == "resource_tracker" {
			continue // multiprocessing's resource tracker takes no item
		}
		if !idleWorker(c, q.MPQueue) {
			return Finding{}, false // a child that may be working on an item
		}
		reading = reading || c.Syscall == "read"
		d.Processes = append(d.Processes, fateOf(processObject(s, c.PID), c))
	}
	if !reading {
		return Finding{}, false // the pipe may hold an item no child reads yet
	}
	f := abandonedFinding(a, d, q, waiters)
	f.Severity = severity
	return f, true
}

// feederIdle says whether thread t is the queue's own feeder thread waiting
// for items to write (its buffer is empty): it puts nothing of its own.
func feederIdle(a *locks.Analysis, t *snapshot.Thread, q *snapshot.Object) bool {
	w := a.Waits[t.TID]
	if w == nil || w.Object == "" || w.Object != q.Attrs["_notempty"] {
		return false
	}
	for i := range t.Frames {
		f := &t.Frames[i]
		if f.Function == "_feed" && filepath.Base(f.File) == "queues.py" && strings.Contains(f.File, "multiprocessing") {
			return true
		}
	}
	return false
}

// lostTask: the waiters wait for a Pool result; every worker of the pool
// is idle (reading the task pipe, or waiting for its read lock), its task
// queue is empty, its task thread waits for tasks and its result thread
// reads the result pipe: no task of the job is anywhere.
func lostTask(s *snapshot.Snapshot, a *locks.Analysis, r *snapshot.Object, waiters []int) (Finding, bool) {
	if s.Target.Kind != "pid" || r.MPResult == nil {
		return Finding{}, false
	}
	if ev := s.Objects[r.Attrs["_event"]]; ev == nil || ev.Value != "False" {
		return Finding{}, false
	}
	pool := s.Objects[r.Attrs["_pool"]]
	if pool == nil || pool.MPPool == nil || len(pool.MPPool.Workers) == 0 {
		return Finding{}, false
	}
	inq, outq, taskq := s.Objects[pool.Attrs["_inqueue"]], s.Objects[pool.Attrs["_outqueue"]], s.Objects[pool.Attrs["_taskqueue"]]
	if inq == nil || inq.MPQueue == nil || inq.MPQueue.ReaderFD == nil || outq == nil || outq.MPQueue == nil || outq.MPQueue.ReaderFD == nil ||
		taskq == nil || taskq.Len == nil || *taskq.Len != 0 {
		return Finding{}, false
	}
	children := childrenByPID(s)
	d := &AbandonedWaitDetails{What: WhatLostTask, Object: locks.RefOf(r), Reason: ReasonTaskLost,
		Task: &PoolTask{Pool: locks.RefOf(pool), Job: r.MPResult.Job, Left: r.MPResult.Left, Processes: pool.MPPool.Processes}}
	for _, id := range pool.MPPool.Workers {
		w := s.Objects[id]
		if w == nil || w.MPProcess == nil {
			return Finding{}, false
		}
		c := children[w.MPProcess.PID]
		if c == nil {
			return Finding{}, false // not a child of the target (forkserver): not seen
		}
		pf := fateOf(w, c)
		if pf.State == FateIdle && !idleWorker(c, inq.MPQueue) {
			return Finding{}, false // it may be running the task
		}
		d.Processes = append(d.Processes, pf)
	}
	for i := range s.Target.Children {
		c := &s.Target.Children[i]
		if c.State == "Z" && !hasPID(d.Processes, c.PID) {
			d.Processes = append(d.Processes, fateOf(processObject(s, c.PID), c))
		}
	}
	// The pool's own threads: the task thread waits for tasks (none is
	// being handed over), the result thread reads the result pipe (no
	// result is being delivered).
	tasks, results := false, false
	for i := range s.Threads {
		t := &s.Threads[i]
		switch {
		case inFunction(t, "_handle_tasks"):
			w := a.Waits[t.TID]
			tasks = w != nil && w.Object == taskq.ID && t.State == snapshot.StateBlocked
		case inFunction(t, "_handle_results"):
			k := t.Kernel
			results = t.State == snapshot.StateIO && k != nil && k.FD != nil && *k.FD == *outq.MPQueue.ReaderFD
		}
	}
	if !tasks || !results {
		return Finding{}, false
	}
	return abandonedFinding(a, d, r, waiters), true
}

// deadProducers: the waiters take from a multiprocessing queue; every
// process that was given the queue has died or ended, no other child is
// alive, and no other thread of the target can run to put to it.
func deadProducers(s *snapshot.Snapshot, a *locks.Analysis, live map[int]bool, q *snapshot.Object, waiters []int) (Finding, bool) {
	isWaiter := map[int]bool{}
	for _, tid := range waiters {
		isWaiter[tid] = true
	}
	d := &AbandonedWaitDetails{What: WhatMPQueue, Object: locks.RefOf(q)}
	for i := range s.Threads {
		t := &s.Threads[i]
		if isWaiter[t.TID] {
			continue
		}
		if live[t.TID] {
			return Finding{}, false // it may put to the queue
		}
		p := Producer{Thread: t.TID, Refers: refersTo(s, t, q.ID), Waits: foreverWait(a, t)}
		if loop, ok := a.SleepLoop(t.TID); ok {
			p.Sleeps = &loop
		}
		d.Others = append(d.Others, p)
	}
	var severity Severity
	d.Reason, severity = noEnder(s, 0, d.Others)
	if d.Reason == ReasonMainSleeps && mainMayAct(a, s) {
		return Finding{}, false
	}
	isLive := s.Target.Kind == "pid"
	children := childrenByPID(s)
	seen := map[int]bool{}
	for _, ob := range sortedObjects(s, snapshot.KindMPProcess) {
		if !contains(ob.MPProcess.Args, q.ID) {
			continue
		}
		seen[ob.MPProcess.PID] = true
		c := children[ob.MPProcess.PID]
		switch {
		case c != nil && c.State != "Z":
			return Finding{}, false // a producer is alive
		case c == nil && !isLive && ob.MPProcess.ExitCode == nil:
			return Finding{}, false // a core: whether it still runs is not known
		}
		d.Processes = append(d.Processes, fateOf(ob, c))
	}
	for i := range s.Target.Children {
		c := &s.Target.Children[i]
		if seen[c.PID] {
			continue
		}
		if c.State != "Z" {
			return Finding{}, false // a child that may have the queue
		}
		d.Processes = append(d.Processes, fateOf(processObject(s, c.PID), c))
	}
	if len(d.Processes) == 0 {
		return Finding{}, false // nothing says who was to put
	}
	f := abandonedFinding(a, d, q, waiters)
	f.Severity = severity
	return f, true
}

// abandonedFinding is the error that the waiters wait on ob for good, as d
// says why.
func abandonedFinding(a *locks.Analysis, d *AbandonedWaitDetails, ob *snapshot.Object, waiters []int) Finding {
	sort.Ints(waiters)
	f := Finding{Kind: AbandonedWait, Severity: Error, Threads: slices.Clone(waiters), Objects: []string{ob.ID}, Details: d}
	d.Waiters = threadWaits(a, waiters)
	if d.Task != nil {
		f.Objects = append(f.Objects, d.Task.Pool.ID)
	}
	for _, p := range d.Processes {
		if p.Object != "" {
			f.Objects = append(f.Objects, p.Object)
		}
	}
	f.gather(d.Others, d.Ended)
	return f
}

// fateOf says what became of a worker process (w may be nil, c too).
func fateOf(w *snapshot.Object, c *snapshot.ChildProcess) ProcessFate {
	var pf ProcessFate
	if w != nil && w.MPProcess != nil {
		pf.PID, pf.Object, pf.Name = w.MPProcess.PID, w.ID, w.Value
	}
	switch {
	case c != nil && c.State == "Z":
		pf.PID, pf.State, pf.Signal, pf.Status = c.PID, FateDead, c.ExitSignal, c.ExitStatus
	case c != nil:
		pf.PID, pf.State = c.PID, FateIdle
	default:
		pf.State = FateEnded
		if w != nil && w.MPProcess != nil && w.MPProcess.ExitCode != nil {
			if ec := *w.MPProcess.ExitCode; ec < 0 {
				pf.Signal = -ec
			} else {
				pf.Status = &ec
			}
		}
	}
	return pf
}

// idleWorker: the child reads the pool's task pipe, or waits for its read
// lock.
func idleWorker(c *snapshot.ChildProcess, inq *snapshot.MPQueueInfo) bool {
	switch c.Syscall {
	case "read":
		if c.Pipe == nil {
			return false
		}
		for _, e := range c.Pipe.Ends {
			if !e.Write && e.FD == *inq.ReaderFD {
				return true
			}
		}
	case "futex":
		return inq.ReadLock != 0 && c.FutexHere() == inq.ReadLock
	}
	return false
}

func childrenByPID(s *snapshot.Snapshot) map[int]*snapshot.ChildProcess {
	out := map[int]*snapshot.ChildProcess{}
	for i := range s.Target.Children {
		out[s.Target.Children[i].PID] = &s.Target.Children[i]
	}
	return out
}

// processObject is the multiprocessing.Process object of a pid, if any.
func processObject(s *snapshot.Snapshot, pid int) *snapshot.Object {
	for _, ob := range sortedObjects(s, snapshot.KindMPProcess) {
		if ob.MPProcess.PID == pid {
			return ob
		}
	}
	return nil
}

// sortedObjects lists the objects of a kind that carry their decoded
// details, by id.
func sortedObjects(s *snapshot.Snapshot, kind string) []*snapshot.Object {
	var out []*snapshot.Object
	for _, ob := range s.Objects {
		if ob.Kind == kind && (kind != snapshot.KindMPProcess || ob.MPProcess != nil) {
			out = append(out, ob)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func hasPID(ps []ProcessFate, pid int) bool {
	for _, p := range ps {
		if p.PID == pid {
			return true
		}
	}
	return false
}

// inFunction: a frame of the thread runs multiprocessing.pool's function.
func inFunction(t *snapshot.Thread, fn string) bool {
	for i := range t.Frames {
		f := &t.Frames[i]
		if f.Function == fn && filepath.Base(f.File) == "pool.py" && strings.Contains(f.File, "multiprocessing") {
			return true
		}
	}
	return false
}
