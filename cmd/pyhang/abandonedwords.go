package main

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
)

// endedNames is `"consumer-0" and "consumer-1"` for the ended threads.
func (w *words) endedNames(es []heuristics.EndedThread) string {
	var names []string
	for _, e := range es {
		if e.Name != "" {
			names = append(names, fmt.Sprintf("%q", w.esc(e.Name)))
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func (w *words) abandonedSummary(d *heuristics.AbandonedWaitDetails) string {
	if d.What == heuristics.WhatLostTask || d.What == heuristics.WhatMPQueue || d.What == heuristics.WhatMPQueueJoin {
		return w.mpSummary(d)
	}
	if d.What == heuristics.WhatLoopAsleep {
		return w.loopAsleepSummary(d)
	}
	obj := w.shortRef(d.Object)
	who := w.waitersWait(d.Waiters)
	gone := "no thread left can end it"
	switch d.Reason {
	case heuristics.ReasonNoReference:
		gone = "no thread that refers to it can run"
	case heuristics.ReasonMainSleeps:
		gone = "no thread left can end it but a signal handler (the main thread only sleeps)"
	}
	if ended := w.endedNames(d.Ended); ended != "" {
		gone += fmt.Sprintf(" (%s ended)", ended)
	}
	if d.Consequence {
		return fmt.Sprintf("as a result, %s on %s %s forever: the threads that would end the wait are stuck themselves", who, d.Object.Kind, obj)
	}
	if len(d.Lockouts) > 0 {
		return w.lockedOutSummary(d)
	}
	if len(d.OwnLoop) > 0 {
		return fmt.Sprintf("%s: %s on %s %s, which only a suspended task of the event loop that this same thread runs would end (%s); the blocking wait stops the loop, so that task never runs — await an asyncio primitive instead, or make the blocking wait in asyncio.to_thread()",
			abandonedHead(d.Reason), who, d.Object.Kind, obj, w.sitesIn(d.OwnLoop))
	}
	switch d.What {
	case heuristics.WhatQueueJoin:
		unfinished := 0
		if d.Unfinished != nil {
			unfinished = *d.Unfinished
		}
		head := abandonedHead(d.Reason)
		return fmt.Sprintf("%s: %s in join() on queue %s for %s never marked done, and %s — call task_done() in a finally: block, so that a task that fails still counts, and keep a consumer alive while tasks remain",
			head, who, obj, plural(unfinished, "task"), gone)
	case heuristics.WhatQueuePut:
		head := abandonedHead(d.Reason)
		return fmt.Sprintf("%s: %s in put() on queue %s, which is full, and %s — keep a consumer alive while producers put (stop the producers when the consumers fail), or put with a timeout and handle queue.Full",
			head, who, obj, strings.Replace(gone, "can end it", "will take from it", 1))
	case heuristics.WhatEvent:
		head := abandonedHead(d.Reason)
		return fmt.Sprintf("%s: %s on event %s, which is not set, and %s — set it in a finally: block, so that a setter that fails still releases the waiters (with a flag saying it failed), or wait with a timeout",
			head, who, obj, strings.Replace(gone, "can end it", "will set it", 1))
	case heuristics.WhatBarrier:
		missing := "the missing one"
		if d.Missing > 1 {
			missing = fmt.Sprintf("the %d missing", d.Missing)
		}
		return fmt.Sprintf("abandoned wait: %d of the %d parties of barrier %s wait, and %s can never come: %s — give wait() a timeout, or call abort() on the barrier when a party fails",
			d.Waiting, d.Parties, obj, missing, gone)
	}
	return fmt.Sprintf("%s: %s on %s, and %s", abandonedHead(d.Reason), who, obj, gone)
}

func (w *words) abandonedEvidence(d *heuristics.AbandonedWaitDetails) []string {
	if d.What == heuristics.WhatLostTask || d.What == heuristics.WhatMPQueue || d.What == heuristics.WhatMPQueueJoin {
		return w.mpEvidence(d)
	}
	if d.What == heuristics.WhatLoopAsleep {
		return w.loopAsleepEvidence(d)
	}
	var out []string
	switch d.What {
	case heuristics.WhatQueueJoin:
		var facts []string
		if d.Unfinished != nil {
			facts = append(facts, fmt.Sprintf("%s never marked done (unfinished_tasks)", plural(*d.Unfinished, "task")))
		}
		if d.Queued != nil {
			facts = append(facts, fmt.Sprintf("%s still in it", plural(*d.Queued, "item")))
		}
		out = append(out, fmt.Sprintf("%s has %s", w.ref(d.Object), strings.Join(facts, ", ")))
	case heuristics.WhatQueuePut:
		if d.Queued != nil && d.Maxsize != nil {
			out = append(out, fmt.Sprintf("%s is full: it holds %s, its maxsize", w.ref(d.Object), plural(*d.Queued, "item")))
		}
	case heuristics.WhatEvent:
		out = append(out, fmt.Sprintf("%s is not set", w.ref(d.Object)))
	case heuristics.WhatBarrier:
		out = append(out, fmt.Sprintf("%s needs %d parties; %d wait at it", w.ref(d.Object), d.Parties, d.Waiting))
	}
	for _, g := range w.groupWaits(d.Waiters) {
		out = append(out, fmt.Sprintf("%s at %s, without a timeout", w.whoWait(g.tids), g.at))
	}
	switch d.Reason {
	case heuristics.ReasonNoOtherThread:
		out = append(out, "no other thread is left")
	case heuristics.ReasonOthersBlocked, heuristics.ReasonMainSleeps:
		out = append(out, othersIdle(d.Others))
	case heuristics.ReasonNoReference:
		out = append(out, fmt.Sprintf("only %s can still run, and no frame of theirs refers to it and it is no module global: they could end the wait only through a reference pyhang does not see", w.threadList(unseen(d.Others))))
	}
	out = append(out, w.lockoutEvidence(d.Lockouts)...)
	out = append(out, w.sleepers(d.Others)...)
	for _, e := range d.Ended {
		out = append(out, fmt.Sprintf("thread %q (%s) has ended: if it was meant to end the wait, it is gone", w.esc(e.Name), e.Object))
	}
	var rest []heuristics.ThreadWait
	for _, p := range d.Others {
		if p.Waits != nil && !lockedOut(d.Lockouts, p.Thread) {
			rest = append(rest, *p.Waits)
		}
	}
	out = append(out, w.othersWait(rest, ", forever")...)
	if d.StackLost && len(d.Lockouts) == 0 {
		out = append(out, lostFeedNote)
	}
	return out
}

// lostFeedNote qualifies a wait found never to end from a core that lost
// some threads' outer frames: why it never ends is then less sure.
const lostFeedNote = "the core lost the outer frames of some threads: the call that would end the wait may stand in them, behind something a waiter holds (a lockout this answer cannot see); that no thread will end it stands"

// linuxSignals names the signals that end processes (x86-64 Linux numbers).
var linuxSignals = map[int]string{
	1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
	8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
	14: "SIGALRM", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ", 31: "SIGSYS",
}

// fate is "killed by SIGKILL", "exited with status 1", "idle".
func fate(p heuristics.ProcessFate) string {
	switch {
	case p.Signal != 0:
		name := linuxSignals[p.Signal]
		if name == "" {
			name = fmt.Sprintf("signal %d", p.Signal)
		}
		return "killed by " + name
	case p.Status != nil:
		return fmt.Sprintf("exited with status %d", *p.Status)
	case p.State == heuristics.FateIdle:
		return "idle, waiting for a task"
	}
	return "ended"
}

// processName is `worker-2 (pid 4711)`.
func (w *words) processName(p heuristics.ProcessFate) string {
	if p.Name != "" {
		return fmt.Sprintf("%s (pid %d)", w.esc(p.Name), p.PID)
	}
	return fmt.Sprintf("pid %d", p.PID)
}

// deadOnes lists the processes known to have died, with how.
func (w *words) deadOnes(ps []heuristics.ProcessFate) string {
	var parts []string
	for _, p := range ps {
		if p.State != heuristics.FateIdle && (p.Signal != 0 || (p.Status != nil && *p.Status != 0)) {
			parts = append(parts, w.processName(p)+" was "+fate(p))
		}
	}
	return strings.Join(parts, "; ")
}

func (w *words) mpSummary(d *heuristics.AbandonedWaitDetails) string {
	who := w.waitersWait(d.Waiters)
	dead := w.deadOnes(d.Processes)
	if d.What == heuristics.WhatLostTask {
		t := d.Task
		left := ""
		if t.Left != nil {
			left = fmt.Sprintf(", %s of which will never report", plural(*t.Left, "task"))
		}
		cause := "a worker process that had a task died (killed, or crashed) and the pool replaced it without the task"
		if dead != "" {
			cause = "a worker process that had a task died: " + dead
		}
		return fmt.Sprintf("abandoned wait: %s for the result of job %d of pool %s%s, but no worker has its tasks: every worker is idle and none is queued or in flight — %s; multiprocessing.Pool does not notice a lost task: use concurrent.futures.ProcessPoolExecutor (it raises BrokenProcessPool) or get() with a timeout",
			who, t.Job, w.shortRef(t.Pool), left, cause)
	}
	if d.What == heuristics.WhatMPQueueJoin {
		n := 0
		if d.Unfinished != nil {
			n = *d.Unfinished
		}
		var workers []string
		for _, p := range d.Processes {
			workers = append(workers, w.processName(p))
		}
		return fmt.Sprintf("%s: %s in join() on JoinableQueue %s, which counts %s never marked done: the queue is empty and every worker process (%s) waits in get() for the next item, past the items it took — call task_done() once for each item taken, after its work (in a finally: block)",
			abandonedHead(d.Reason), who, w.shortRef(d.Object), plural(n, "task"), strings.Join(workers, ", "))
	}
	cause := "the processes that were to put to it have ended"
	if dead != "" {
		cause = dead
	}
	return fmt.Sprintf("%s: %s in get() on multiprocessing queue %s, and no living process can put to it: %s — check the workers' exit codes (join() them, or wait on their sentinels) instead of waiting on the queue alone, or get() with a timeout",
		abandonedHead(d.Reason), who, w.shortRef(d.Object), cause)
}

func (w *words) mpEvidence(d *heuristics.AbandonedWaitDetails) []string {
	var out []string
	for _, g := range w.groupWaits(d.Waiters) {
		out = append(out, fmt.Sprintf("%s for %s at %s, without a timeout", w.whoWait(g.tids), w.ref(g.waits), g.at))
	}
	if t := d.Task; t != nil {
		out = append(out, fmt.Sprintf("%s has %d worker process(es); its task queue is empty, its task thread waits for tasks and its result thread reads the result pipe: no task or result is on its way", w.ref(t.Pool), t.Processes))
	}
	for _, p := range d.Processes {
		s := fmt.Sprintf("worker %s: %s", w.processName(p), fate(p))
		switch {
		case p.State == heuristics.FateIdle && d.What == heuristics.WhatMPQueueJoin:
			s += " (the kernel shows it reading the queue's pipe, which holds nothing, or waiting for the queue's read lock)"
		case p.State == heuristics.FateIdle:
			s += " (the kernel shows it reading the task pipe, or waiting for its lock)"
		case p.State == heuristics.FateDead:
			s += " (a zombie: the kernel still holds its status)"
		}
		out = append(out, s)
	}
	switch d.Reason {
	case heuristics.ReasonNoOtherThread:
		out = append(out, "no other thread of this process is left to put to it")
	case heuristics.ReasonOthersBlocked:
		out = append(out, "no other thread of this process can run: each waits forever itself")
	case heuristics.ReasonMainSleeps:
		out = append(out, othersIdle(d.Others))
		out = append(out, w.sleepers(d.Others)...)
	}
	return out
}

// lockedOutSummary words an abandoned wait whose ender is stuck behind the
// waiter: not gone, locked out.
func (w *words) lockedOutSummary(d *heuristics.AbandonedWaitDetails) string {
	obj := w.shortRef(d.Object)
	who := w.waitersWait(d.Waiters)
	var what string
	switch d.What {
	case heuristics.WhatQueueJoin:
		what = fmt.Sprintf("%s in join() on queue %s", who, obj)
	case heuristics.WhatQueuePut:
		what = fmt.Sprintf("%s in put() on queue %s, which is full,", who, obj)
	case heuristics.WhatEvent:
		what = fmt.Sprintf("%s on event %s, which is not set,", who, obj)
	default:
		what = fmt.Sprintf("%s on %s", who, obj)
	}
	head := "wait that never ends"
	if d.Reason == heuristics.ReasonMainSleeps || d.Reason == heuristics.ReasonNoReference {
		head = "wait that probably never ends"
	}
	clause, advice := w.lockoutClause(d.Lockouts, "end it", "waiter")
	return fmt.Sprintf("%s: %s and %s — %s", head, what, clause, advice)
}

// abandonedHead is "abandoned wait", or "probably abandoned wait" where the
// reason leaves a way out unseen.
func abandonedHead(reason string) string {
	if reason == heuristics.ReasonNoReference || reason == heuristics.ReasonMainSleeps {
		return "probably abandoned wait"
	}
	return "abandoned wait"
}

// loopAsleepSummary is the summary of an event loop asleep with callbacks
// ready (heuristics.WhatLoopAsleep).
func (w *words) loopAsleepSummary(d *heuristics.AbandonedWaitDetails) string {
	n := 0
	if d.Ready != nil {
		n = *d.Ready
	}
	which := ""
	if len(d.ReadyCallbacks) > 0 {
		var names []string
		for _, c := range d.ReadyCallbacks {
			names = append(names, w.esc(c))
		}
		which = " (" + strings.Join(names, ", ") + ")"
	}
	tasks := ""
	if len(d.Waiters) > 0 {
		var parts []string
		for _, tw := range d.Waiters {
			parts = append(parts, fmt.Sprintf("%s waits for %s", w.actorName(tw), w.shortRef(tw.Waits)))
		}
		tasks = "; its tasks wait meanwhile: " + strings.Join(parts, "; ")
	}
	never := "nothing will wake it"
	if d.Reason == "" {
		never = "only another thread could wake it"
	}
	return fmt.Sprintf("%s sleeps in select() with no timeout while %d callback(s) are ready to run%s, and %s: a callback added from another thread with call_soon() does not wake the loop%s — use loop.call_soon_threadsafe() (or asyncio.run_coroutine_threadsafe()) from other threads",
		w.loopWords(d.Object), n, which, never, tasks)
}

// loopAsleepEvidence lists the facts of an asleep event loop.
func (w *words) loopAsleepEvidence(d *heuristics.AbandonedWaitDetails) []string {
	var out []string
	n := 0
	if d.Ready != nil {
		n = *d.Ready
	}
	out = append(out, fmt.Sprintf("%s has %d callback(s) in its ready queue, no timer, no file descriptor watched but its own self-pipe and no signal handler", w.loopWords(d.Object), n))
	switch d.Reason {
	case heuristics.ReasonNoOtherThread:
		out = append(out, "no other thread exists that could call into the loop")
	case heuristics.ReasonOthersBlocked:
		out = append(out, "every other thread waits, without a timeout, on something only another of these threads could end: none can call into the loop")
	default:
		var may []string
		for _, o := range d.Others {
			if o.CanRun {
				may = append(may, w.threadName(o.Thread))
			}
		}
		if len(may) > 0 {
			out = append(out, fmt.Sprintf("%s may still run, and wake the loop with call_soon_threadsafe()", strings.Join(may, ", ")))
		}
	}
	for _, tw := range d.Waiters {
		out = append(out, fmt.Sprintf("%s waits for %s at %s", w.actorLabel(tw), w.ref(tw.Waits), w.actorFrameAt(tw)))
	}
	return out
}
