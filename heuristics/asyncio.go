package heuristics

import (
	"maps"
	"path/filepath"
	"slices"
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// asyncio's tasks wait on each other as threads do, and the wait-for graph
// holds them as it holds threads: a cycle through tasks is a deadlock like
// any other (deadlocks). Two things are particular to an event loop:
//
//   - a loop that has nothing left to do — no callback ready, no timer, no
//     file descriptor or signal watched, and no other thread that could
//     still call into it — while tasks wait on futures, events or queues
//     that only its own tasks could complete: none of them will ever run
//     again (loopStalls);
//   - a loop whose thread sits in a blocking call made by a coroutine: while
//     it does, none of the loop's tasks runs (blockedEventLoops).

// taskIndex finds a task's loop and the thread running it.
type taskIndex struct {
	tasks map[string]*snapshot.Task
	loops map[string]*snapshot.Loop
}

func newTaskIndex(s *snapshot.Snapshot) *taskIndex {
	x := &taskIndex{tasks: map[string]*snapshot.Task{}, loops: map[string]*snapshot.Loop{}}
	for i := range s.Tasks {
		x.tasks[s.Tasks[i].ID] = &s.Tasks[i]
	}
	for i := range s.Loops {
		x.loops[s.Loops[i].ID] = &s.Loops[i]
	}
	return x
}

// loopThread is the tid of the thread running the task's loop, 0 if none.
func (x *taskIndex) loopThread(task string) int {
	if t := x.tasks[task]; t != nil {
		if lp := x.loops[t.Loop]; lp != nil {
			return lp.Thread
		}
	}
	return 0
}

// taskStep is a task's step of a cycle: what it waits for (res), and who
// holds it or alone can end it. A task "waits for" its loop when the cycle
// runs through the loop: it can only go on when the loop's thread runs it.
func taskStep(s *snapshot.Snapshot, a *locks.Analysis, x *taskIndex, task, res string) (CycleStep, bool) {
	tid := x.loopThread(task)
	if t := x.tasks[task]; t != nil && res == t.Loop && res != "" {
		return CycleStep{ThreadWait: ThreadWait{Thread: tid, Task: task, Waits: loopRef(s, res)},
			HeldBy: []Holder{{Thread: tid, RunsLoop: true}}}, true
	}
	w := a.TaskWaits[task]
	if w == nil {
		return CycleStep{}, false
	}
	return CycleStep{ThreadWait: ThreadWait{Thread: tid, Task: task, Waits: w.Ref, Frame: w.Frame},
		HeldBy: holdersOf(a, x, w)}, true
}

// LoopStall is an event loop that can never run again, and its tasks' waits.
type LoopStall struct {
	Loop locks.Ref `json:"loop"`
	// Thread runs the loop; it sits in the loop's select() with nothing to
	// wait for but its own self-pipe.
	Thread int `json:"thread"`
	// Waits are the waits of the loop's pending tasks (Thread is the loop's
	// thread, Task each task), but those of InDeadlock.
	Waits []ThreadWait `json:"waits"`
	// InDeadlock are the loop's tasks in a deadlock cycle of another finding,
	// or waiting for an orphaned asyncio.Lock: that finding says why they
	// wait.
	InDeadlock []string `json:"in_deadlock,omitempty"`
	// Others are the other threads of the process, each blocked without a
	// timeout on something only another thread could end: none can call
	// into the loop.
	Others []int `json:"other_threads"`
}

// loopStalls finds event loops with nothing left to do whose tasks all wait
// on what only those tasks could give: a deadlock of the loop, proven by
// what the loop itself still watches rather than by a cycle. Tasks of a
// cycle among the findings so far, or waiting for an orphaned lock, are
// left to that finding; the stall is reported for
// the loop's other tasks when one of them waits on more than those cycles
// (a future nothing will complete, an event nothing will set), and not when
// they only wait for the tasks of the cycles.
func loopStalls(s *snapshot.Snapshot, a *locks.Analysis, found []Finding) []Finding {
	inCycle := map[string]bool{}
	for _, f := range found {
		if f.Kind != Deadlock && f.Kind != OrphanedLock {
			continue
		}
		for _, t := range f.Tasks {
			inCycle[t] = true
		}
	}
	var out []Finding
	for i := range s.Loops {
		lp := &s.Loops[i]
		if !loopIdle(s, lp) {
			continue
		}
		if _, handler := a.SignalHandlerSite(); handler && loopOnMain(s, lp) {
			// A handler installed with signal.signal() runs on the main
			// thread when a signal interrupts its select(), and may call
			// into the loop (call_soon_threadsafe(event.set)).
			continue
		}
		others, ok := othersBlocked(s, a, lp.Thread)
		if !ok {
			continue
		}
		var tasks []*snapshot.Task
		var inDeadlock []string
		stuck := true
		for j := range s.Tasks {
			t := &s.Tasks[j]
			if t.Loop != lp.ID || t.Done {
				continue
			}
			w := a.TaskWaits[t.ID]
			if t.Running || w == nil || w.Timed() || w.Kind == locks.KindSleep {
				stuck = false
			}
			if inCycle[t.ID] {
				inDeadlock = append(inDeadlock, t.ID)
			} else {
				tasks = append(tasks, t)
			}
		}
		if !stuck || len(tasks) == 0 || onlyOnCycles(a, tasks, inCycle) {
			continue
		}
		st := &LoopStall{Loop: loopRef(s, lp.ID), Thread: lp.Thread, Others: others, InDeadlock: inDeadlock}
		f := Finding{Kind: Deadlock, Severity: Error, Threads: []int{lp.Thread}, Objects: []string{lp.ID},
			Details: &DeadlockDetails{Cycle: []CycleStep{}, Loop: st}}
		seen := map[string]bool{lp.ID: true}
		for _, t := range tasks {
			w := a.TaskWaits[t.ID]
			st.Waits = append(st.Waits, ThreadWait{Thread: lp.Thread, Task: t.ID, Waits: w.Ref, Frame: w.Frame})
			f.Tasks = append(f.Tasks, t.ID)
			if !seen[w.ID] {
				seen[w.ID] = true
				f.Objects = append(f.Objects, w.ID)
			}
		}
		sort.Strings(f.Objects)
		out = append(out, f)
	}
	return out
}

// onlyOnCycles reports whether every one of tasks waits only for tasks of
// the cycles (inCycle), directly or through others of tasks: the cycles
// already say why they never end.
func onlyOnCycles(a *locks.Analysis, tasks []*snapshot.Task, inCycle map[string]bool) bool {
	ended := maps.Clone(inCycle) // tasks whose wait the cycles explain
	for changed := true; changed; {
		changed = false
		for _, t := range tasks {
			if ended[t.ID] {
				continue
			}
			on := a.TaskWaits[t.ID].OnTasks
			if len(on) > 0 && !slices.ContainsFunc(on, func(id string) bool { return !ended[id] }) {
				ended[t.ID], changed = true, true
			}
		}
	}
	return !slices.ContainsFunc(tasks, func(t *snapshot.Task) bool { return !ended[t.ID] })
}

// loopOnMain reports whether the main thread runs the loop.
func loopOnMain(s *snapshot.Snapshot, lp *snapshot.Loop) bool {
	th := threadOf(s, lp.Thread)
	return th != nil && th.Main
}

// loopIdle: the loop's thread sits in the selector's select() and the loop
// has nothing that could wake it but its own self-pipe.
func loopIdle(s *snapshot.Snapshot, lp *snapshot.Loop) bool {
	if lp.Thread == 0 || lp.Ready == nil || *lp.Ready != 0 || lp.Timers == nil || *lp.Timers != 0 ||
		lp.Signals == nil || *lp.Signals != 0 || lp.FDs == nil || len(*lp.FDs) != 0 {
		return false
	}
	th := threadOf(s, lp.Thread)
	if th == nil || th.State != snapshot.StateIO || len(th.Frames) == 0 {
		return false
	}
	f := &th.Frames[0]
	return f.Function == "select" && filepath.Base(f.File) == "selectors.py"
}

// othersBlocked: every thread but the loop's waits, without a timeout, on
// something only another thread of the process could end. It returns them.
func othersBlocked(s *snapshot.Snapshot, a *locks.Analysis, loopTID int) ([]int, bool) {
	var out []int
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.TID == loopTID {
			continue
		}
		if !stuckForever(t, a.Waits[t.TID]) {
			return nil, false
		}
		out = append(out, t.TID)
	}
	sort.Ints(out)
	return out, true
}

// loopRef is the reference to an event loop, named as its object is.
func loopRef(s *snapshot.Snapshot, id string) locks.Ref {
	r := locks.Ref{Kind: snapshot.KindLoop, ID: id}
	if ob := s.Objects[id]; ob != nil {
		r = locks.RefOf(ob)
		r.Kind = snapshot.KindLoop
	}
	return r
}

func threadOf(s *snapshot.Snapshot, tid int) *snapshot.Thread {
	for i := range s.Threads {
		if s.Threads[i].TID == tid {
			return &s.Threads[i]
		}
	}
	return nil
}

// BlockedLoopDetails is an event loop whose thread is blocked in a call a
// coroutine made.
type BlockedLoopDetails struct {
	Loop   locks.Ref `json:"loop"`
	Thread int       `json:"thread"`
	// Task is the task whose coroutine made the call; Coro is its coroutine.
	Task string `json:"task"`
	Coro string `json:"coro,omitempty"`
	// Frame is the index, in the thread's frames, of the frame that made the
	// blocking call.
	Frame int `json:"frame"`
	// Waits is what the call waits for when pyhang knows it (a lock, a
	// socket …); Syscall is the system call the thread sits in.
	Waits   *locks.Ref `json:"waits_for,omitempty"`
	Syscall string     `json:"syscall,omitempty"`
	// Timed is true when the call ends by itself (a sleep, a timeout).
	Timed bool `json:"timed"`
	// Starved counts the loop's other pending tasks, none of which can run.
	Starved int `json:"starved_tasks"`
}

// blockedEventLoops finds loops whose thread is blocked in a synchronous
// call inside a coroutine, unless a deadlock found so far runs through that
// thread already.
func blockedEventLoops(s *snapshot.Snapshot, a *locks.Analysis, found []Finding) []Finding {
	inDeadlock := map[int]bool{}
	for _, f := range found {
		if f.Kind == Deadlock {
			for _, tid := range f.Threads {
				inDeadlock[tid] = true
			}
		}
	}
	tasks := map[string]*snapshot.Task{}
	for i := range s.Tasks {
		tasks[s.Tasks[i].ID] = &s.Tasks[i]
	}
	var out []Finding
	for i := range s.Loops {
		lp := &s.Loops[i]
		cur := tasks[lp.Current]
		th := threadOf(s, lp.Thread)
		if cur == nil || th == nil || inDeadlock[th.TID] || th.Kernel == nil || th.Kernel.Syscall == "" ||
			th.GIL == snapshot.GILWaiting {
			continue // not blocked, or only taking its turn at the GIL
		}
		switch th.State {
		case snapshot.StateBlocked, snapshot.StateSleeping, snapshot.StateIO:
		default:
			continue // running: busy, not blocked
		}
		d := &BlockedLoopDetails{Loop: loopRef(s, lp.ID), Thread: th.TID, Task: cur.ID, Coro: cur.Coro,
			Syscall: th.Kernel.Syscall, Timed: th.Kernel.Timed || th.State == snapshot.StateSleeping}
		objects := []string{lp.ID}
		if w := a.Waits[th.TID]; w != nil {
			r := w.Ref
			d.Waits, d.Frame = &r, w.Frame
			d.Timed = d.Timed || w.Timed()
			objects = append(objects, w.ID)
		}
		for j := range s.Tasks {
			t := &s.Tasks[j]
			if t.Loop == lp.ID && !t.Done && t.ID != cur.ID {
				d.Starved++
			}
		}
		sort.Strings(objects)
		out = append(out, Finding{Kind: BlockedEventLoop, Severity: Warning, Threads: []int{th.TID}, Objects: objects,
			Tasks: []string{cur.ID}, Details: d})
	}
	return out
}

// loopThreadsOnly reports whether every thread of f is an event loop's
// thread blocked in a coroutine: blocked-event-loop says what is wrong
// there (a socket call on the loop's thread, not a socket without a
// timeout), and f would only repeat it.
func loopThreadsOnly(f Finding, blocked []Finding) bool {
	loops := map[int]bool{}
	for _, b := range blocked {
		for _, tid := range b.Threads {
			loops[tid] = true
		}
	}
	for _, tid := range f.Threads {
		if !loops[tid] {
			return false
		}
	}
	return len(f.Threads) > 0
}
