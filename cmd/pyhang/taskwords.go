package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Words for asyncio: tasks are named the way asyncio names them ("Task-3",
// or the name given to create_task()), their frames as threads' are.

func (w *words) task(id string) *snapshot.Task {
	for i := range w.snap.Tasks {
		if w.snap.Tasks[i].ID == id {
			return &w.snap.Tasks[i]
		}
	}
	return nil
}

func (w *words) loop(id string) *snapshot.Loop {
	for i := range w.snap.Loops {
		if w.snap.Loops[i].ID == id {
			return &w.snap.Loops[i]
		}
	}
	return nil
}

// taskLabel is `task "worker-a"`, or the task's id when it has no name.
func (w *words) taskLabel(id string) string {
	if t := w.task(id); t != nil && t.Name != "" {
		return fmt.Sprintf("task \"%s\"", w.esc(t.Name))
	}
	return "task " + w.esc(id)
}

// taskName is "worker-a", or the task's id.
func (w *words) taskName(id string) string {
	if t := w.task(id); t != nil {
		return w.esc(t.Handle())
	}
	return w.esc(id)
}

// taskFrameAt is "x.py:17 in locker" for a task's frame.
func (w *words) taskFrameAt(id string, i int) string {
	t := w.task(id)
	if t == nil || i < 0 || i >= len(t.Frames) {
		return "?"
	}
	return w.esc(t.Frames[i].Where())
}

// actorName names a cycle step's actor for a summary.
func (w *words) actorName(st heuristics.ThreadWait) string {
	if st.Task != "" {
		return "task " + w.taskName(st.Task)
	}
	return w.threadName(st.Thread)
}

// actorLabel names a cycle step's actor for an evidence sentence.
func (w *words) actorLabel(st heuristics.ThreadWait) string {
	if st.Task != "" {
		return w.taskLabel(st.Task)
	}
	return w.threadLabel(st.Thread)
}

// actorFrameAt is the step's waiting frame.
func (w *words) actorFrameAt(st heuristics.ThreadWait) string {
	if st.Task != "" {
		return w.taskFrameAt(st.Task, st.Frame)
	}
	return w.frameAt(st.Thread, st.Frame)
}

// holderWords says who holds, or alone can end, a step's wait.
func (w *words) holderWords(h heuristics.Holder) string {
	switch {
	case h.RunsLoop:
		return fmt.Sprintf("which only %s can run, as it runs that loop", w.threadLabel(h.Thread))
	case h.Task != "" && h.Joined:
		return fmt.Sprintf("which can only end when %s finishes", w.taskLabel(h.Task))
	case h.Task != "" && h.Probable:
		return fmt.Sprintf("probably held by %s (%s)", w.taskLabel(h.Task), w.evidence(h.Evidence))
	case h.Task != "":
		return fmt.Sprintf("held by %s (%s)", w.taskLabel(h.Task), w.evidence(h.Evidence))
	case h.Joined:
		return fmt.Sprintf("which can only end when %s finishes", w.threadLabel(h.Thread))
	case h.Runs:
		return fmt.Sprintf("which only %s can end, as it runs that work item", w.threadLabel(h.Thread))
	case h.Probable && len(h.Evidence) > 0 && h.Evidence[0].Basis == locks.BasisFeedSite:
		return fmt.Sprintf("which probably only %s would end, with its %s", w.threadLabel(h.Thread), w.evidence(h.Evidence))
	case h.Probable:
		return fmt.Sprintf("probably held by %s (%s)", w.threadLabel(h.Thread), w.evidence(h.Evidence))
	}
	return fmt.Sprintf("held by %s (%s)", w.threadLabel(h.Thread), w.evidence(h.Evidence))
}

// loopWords is "event loop loop@0x7f… (_UnixSelectorEventLoop)".
func (w *words) loopWords(r locks.Ref) string {
	s := "event loop "
	if r.Name != nil {
		s += w.esc(*r.Name) + " (" + r.ID + ")"
	} else {
		s += r.ID
	}
	if lp := w.loop(r.ID); lp != nil && lp.Type != "" {
		s += " (" + w.esc(lp.Type) + ")"
	}
	return s
}

// taskDeadlockSummary is the summary of a deadlock that involves tasks.
func (w *words) taskDeadlockSummary(d *heuristics.DeadlockDetails) string {
	if st := d.Loop; st != nil {
		var parts []string
		for _, tw := range st.Waits {
			parts = append(parts, fmt.Sprintf("%s waits for %s", w.actorName(tw), w.shortRef(tw.Waits)))
		}
		all := fmt.Sprintf("all %d of its tasks", len(st.Waits))
		if n := len(st.InDeadlock); n > 0 {
			all = fmt.Sprintf("all %d of its tasks outside the deadlocks and orphaned locks above (%d are in them)", len(st.Waits), n)
		}
		return fmt.Sprintf("deadlock on %s: %s wait (%s), and nothing else can wake the loop — %s",
			w.loopWords(st.Loop), all, strings.Join(parts, "; "), w.loopStallFix(st))
	}
	var parts []string
	throughLoop := false
	for _, st := range d.Cycle {
		if st.Task != "" && st.Waits.Kind == snapshot.KindLoop {
			throughLoop = true
			parts = append(parts, fmt.Sprintf("task %s can only run when %s runs its loop", w.taskName(st.Task), w.threadName(st.Thread)))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s waits for %s", w.actorName(st.ThreadWait), w.distinctRef(st.Waits, d.Cycle)))
	}
	switch {
	case throughLoop:
		return fmt.Sprintf("deadlock through an event loop: %s — do not hold a threading lock across an await (use an asyncio.Lock), and do not block the loop's thread",
			strings.Join(parts, "; "))
	case len(d.Cycle) == 1 && d.Probable:
		return fmt.Sprintf("probable deadlock: %s, which it already took with acquire() and has not released (inferred: %s) — asyncio.Lock is not reentrant: do not take it again while holding it",
			parts[0], strings.Join(w.inferredBases(d), "; "))
	case len(d.Cycle) == 1:
		return fmt.Sprintf("deadlock: %s, which it already holds — asyncio.Lock is not reentrant: do not take it again while holding it", parts[0])
	}
	tasks := 0
	for _, st := range d.Cycle {
		if st.Task != "" {
			tasks++
		}
	}
	who := plural(tasks, "task")
	if threads := len(d.Cycle) - tasks; threads > 0 {
		who = plural(threads, "thread") + " and " + who
	}
	fix := "take these locks in one order everywhere, or give the waits a timeout (asyncio.timeout())"
	for _, st := range d.Cycle {
		switch {
		case st.Waits.Kind == snapshot.KindTask:
			fix = "a task must not await a task that awaits it (directly or through a lock it holds)"
		case st.Task != "" && st.Waits.Kind == snapshot.KindFuture && slices.ContainsFunc(st.HeldBy, func(h heuristics.Holder) bool { return h.Runs }):
			fix = "do not hold a threading lock across an await of work run in another thread (run_in_executor(), to_thread()) that takes it: release it before the await, or use an asyncio.Lock the work does not need"
		}
	}
	if d.Probable {
		return fmt.Sprintf("probable deadlock between %s: %s (inferred: %s) — %s", who, strings.Join(parts, "; "), strings.Join(w.inferredBases(d), "; "), fix)
	}
	return fmt.Sprintf("deadlock between %s: %s — %s", who, strings.Join(parts, "; "), fix)
}

// loopStallFix is the advice for a stalled loop, fitted to what its tasks
// wait on. Tasks that wait to take from a queue are starved consumers: what
// would have put to it has ended or waits too, as nothing else can wake the
// loop. Otherwise a task waits for what only a task waiting itself would
// give.
func (w *words) loopStallFix(st *heuristics.LoopStall) string {
	// A task in a queue's join() waits for task_done() calls, not puts:
	// the consumers took the items and never marked them done.
	for _, tw := range st.Waits {
		if tw.Waits.Kind != snapshot.KindQueue || !w.taskJoins(tw.Task) {
			continue
		}
		if q := w.snap.Objects[tw.Waits.ID]; q != nil && q.Unfinished != nil && *q.Unfinished > 0 {
			return fmt.Sprintf("%s has %s never marked done: call task_done() once for each item a consumer gets (in a finally: block), so that join() can return",
				w.shortRef(tw.Waits), plural(*q.Unfinished, "task"))
		}
	}
	// Tasks that wait for a semaphore with no unit left, which no task
	// holds: a task that took a unit ended (cancelled, failed) before its
	// release().
	for _, tw := range st.Waits {
		if tw.Waits.Kind != snapshot.KindSemaphore {
			continue
		}
		id := tw.Waits.ID
		if ob := w.snap.Objects[id]; ob != nil && ob.Value == "0" && len(w.locks.TaskHolders[id]) == 0 && len(w.locks.TaskProbableHolders[id]) == 0 &&
			len(w.locks.Holders[id]) == 0 && len(w.locks.ProbableHolders[id]) == 0 {
			return fmt.Sprintf("%s has no unit left and no task holds one, so a task that took one ended (cancelled or failed) before its release(): take it with async with, or release it in a finally: block", w.shortRef(tw.Waits))
		}
	}
	var queues []string
	for _, tw := range st.Waits {
		if tw.Waits.Kind != snapshot.KindQueue || !w.taskTakes(tw.Task) {
			continue
		}
		if q := w.shortRef(tw.Waits); !slices.Contains(queues, q) {
			queues = append(queues, q)
		}
	}
	if len(queues) > 0 {
		return fmt.Sprintf("no task or thread is left to put to %s: have a producer put a stop mark for its consumers when it ends (in a finally: block), or give get() a timeout (asyncio.wait_for)",
			strings.Join(queues, ", "))
	}
	// Tasks that wait to put to a full bounded queue: its consumers have
	// ended (failed, cancelled) or wait themselves.
	for _, tw := range st.Waits {
		if tw.Waits.Kind != snapshot.KindQueue || !w.taskPuts(tw.Task) {
			continue
		}
		full := ""
		if q := w.snap.Objects[tw.Waits.ID]; q != nil && q.Len != nil && q.Maxsize != nil {
			full = fmt.Sprintf(" (%d of maxsize %d)", *q.Len, *q.Maxsize)
		}
		return fmt.Sprintf("%s is full%s and no task or thread is left to take from it: a consumer task ended (failed or cancelled) or waits itself — keep the consumers running until the producers are done (catch a consumer's errors, or await it with the producers so that its failure is seen), or give put() a timeout (asyncio.wait_for)",
			w.shortRef(tw.Waits), full)
	}
	return "a task must not wait for what only a task waiting on it would give: set the event or the future from elsewhere, or give the wait a timeout"
}

// taskJoins says whether the task is suspended in a queue's join().
func (w *words) taskJoins(id string) bool {
	t := w.task(id)
	return t != nil && slices.ContainsFunc(t.Frames, func(f snapshot.Frame) bool {
		return f.Function == "join" && strings.HasSuffix(f.File, "queues.py")
	})
}

// taskPuts says whether the task is suspended in a queue's put().
func (w *words) taskPuts(id string) bool {
	t := w.task(id)
	return t != nil && len(t.Frames) > 0 && t.Frames[0].Function == "put" && strings.HasSuffix(t.Frames[0].File, "queues.py")
}

// taskTakes says whether the task is suspended in a queue's get(), as
// opposed to its put() or join().
func (w *words) taskTakes(id string) bool {
	t := w.task(id)
	return t != nil && len(t.Frames) > 0 && t.Frames[0].Function == "get"
}

// taskDeadlockEvidence lists a task deadlock's facts.
func (w *words) taskDeadlockEvidence(d *heuristics.DeadlockDetails) []string {
	var out []string
	if st := d.Loop; st != nil {
		out = append(out, fmt.Sprintf("%s has no callback ready, no timer, no file descriptor watched but its own self-pipe and no signal handler; %s sits in its select() with nothing to wait for",
			w.loopWords(st.Loop), w.threadLabel(st.Thread)))
		if len(st.Others) == 0 {
			out = append(out, "no other thread exists that could call into the loop")
		} else {
			others := "the other thread waits"
			if len(st.Others) > 1 {
				others = fmt.Sprintf("each of the %d other threads waits", len(st.Others))
			}
			out = append(out, fmt.Sprintf("no other thread can call into the loop: %s without a timeout for what another thread or a task holds", others))
			for _, tid := range st.Others {
				out = append(out, w.otherWait(tid))
			}
		}
		for _, tw := range st.Waits {
			out = append(out, fmt.Sprintf("%s waits for %s at %s", w.actorLabel(tw), w.ref(tw.Waits), w.actorFrameAt(tw)))
		}
		return out
	}
	for _, st := range d.Cycle {
		var hs []string
		for _, h := range st.HeldBy {
			hs = append(hs, w.holderWords(h))
		}
		if st.Task != "" && st.Waits.Kind == snapshot.KindLoop {
			at := ""
			if t := w.task(st.Task); t != nil && len(t.Frames) > 0 {
				at = " (suspended at " + w.esc(t.Frames[0].Where()) + ")"
			}
			out = append(out, fmt.Sprintf("%s%s can only go on when %s runs it, %s", w.taskLabel(st.Task), at, w.loopWords(st.Waits), strings.Join(hs, ", ")))
			continue
		}
		out = append(out, fmt.Sprintf("%s waits for %s at %s, %s", w.actorLabel(st.ThreadWait), w.ref(st.Waits),
			w.actorFrameAt(st.ThreadWait), strings.Join(hs, ", ")))
	}
	return out
}

// otherWait says what a thread beside a stalled loop waits for, and who
// holds it: a task of the loop may (a lock taken in an async function
// across an await of the thread's work).
func (w *words) otherWait(tid int) string {
	wt := w.locks.Waits[tid]
	if wt == nil {
		return w.threadLabel(tid) + " waits"
	}
	line := fmt.Sprintf("%s waits for %s at %s", w.threadLabel(tid), w.ref(wt.Ref), w.frameAt(tid, wt.Frame))
	var by []string
	for _, h := range w.locks.Holders[wt.ID] {
		if h != tid {
			by = append(by, w.threadLabel(h))
		}
	}
	for _, t := range w.locks.TaskHolders[wt.ID] {
		by = append(by, w.taskLabel(t))
	}
	if len(by) > 0 {
		line += ", held by " + strings.Join(by, " and ")
	}
	return line
}

// blockedLoopSummary is the summary of a blocked-event-loop finding.
func (w *words) blockedLoopSummary(d *heuristics.BlockedLoopDetails) string {
	call := "a blocking call"
	switch {
	case d.Waits != nil:
		call = "waiting for " + w.ref(*d.Waits)
	case d.Syscall != "":
		call = "in " + w.esc(d.Syscall)
	}
	how := "runs no task"
	if d.Timed {
		how = "runs no task until it returns"
	}
	others := "no other task waits"
	switch {
	case d.Starved == 1:
		others = "1 other task waits"
	case d.Starved > 1:
		others = fmt.Sprintf("%d other tasks wait", d.Starved)
	}
	return fmt.Sprintf("blocked event loop: %s is %s, called by %s (coroutine %s) at %s, so the loop %s (%s) — "+
		"await an asyncio equivalent instead, or move the call to a thread with asyncio.to_thread() or loop.run_in_executor()",
		w.threadName(d.Thread), call, w.taskLabel(d.Task), w.esc(d.Coro), w.frameAt(d.Thread, d.Frame), how, others)
}

// blockedLoopEvidence lists its facts.
func (w *words) blockedLoopEvidence(d *heuristics.BlockedLoopDetails) []string {
	out := []string{fmt.Sprintf("%s runs %s, and %s is its current task: the coroutine's frames are on the thread's stack",
		w.threadLabel(d.Thread), w.loopWords(d.Loop), w.taskLabel(d.Task))}
	if wt := w.locks.Waits[d.Thread]; wt != nil {
		out = append(out, fmt.Sprintf("the thread waits for %s (%s)%s", w.ref(wt.Ref), w.waitEvidence(wt), w.heldBy(wt.Ref)))
		// A task of this loop, suspended inside a bare acquire() region of
		// the lock, holds it, probably: it can release it only when the
		// loop runs it, and the loop waits for the lock.
		for _, task := range w.locks.TaskProbableHolders[wt.ID] {
			out = append(out, fmt.Sprintf("%s probably holds it: it stands after a bare acquire() of it, suspended before its release(), and only this loop can run it on — a deadlock, unless another thread releases it", w.taskLabel(task)))
		}
	} else if d.Syscall != "" {
		out = append(out, "the thread sits in the system call "+w.esc(d.Syscall))
	}
	if d.Timed {
		out = append(out, "the call has a timeout: the loop runs again when it ends")
	}
	return out
}
