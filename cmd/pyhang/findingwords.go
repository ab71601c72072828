package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// distinctRef is shortRef, told apart from another object of the cycle with
// the same name (two instances' Account.lock): by another name of the
// object that none of the others has ("alice.lock", an attribute of a
// module global), else by its id.
func (w *words) distinctRef(r locks.Ref, cycle []heuristics.CycleStep) string {
	if !nameClash(r, cycle) {
		return w.shortRef(r)
	}
	if n, ok := w.otherName(r, cycle); ok {
		return w.esc(n)
	}
	return w.shortRef(r) + " (" + r.ID + ")"
}

// otherName is a name of r's object, other than its own, that no other
// object of the cycle has.
func (w *words) otherName(r locks.Ref, cycle []heuristics.CycleStep) (string, bool) {
	ob := w.snap.Objects[r.ID]
	if ob == nil || r.Name == nil {
		return "", false
	}
	for _, n := range slices.Sorted(slices.Values(ob.Names)) {
		if n != *r.Name && !strings.HasPrefix(n, "self.") && w.nameUnique(n, r.ID, cycle) {
			return n, true
		}
	}
	return "", false
}

// cycleRef is ref, with the name distinctRef would find when another object
// of the cycle has the same one.
func (w *words) cycleRef(r locks.Ref, cycle []heuristics.CycleStep) string {
	if nameClash(r, cycle) {
		if n, ok := w.otherName(r, cycle); ok {
			r.Name = &n
		}
	}
	return w.ref(r)
}

// nameClash reports whether another object of the cycle has r's name.
func nameClash(r locks.Ref, cycle []heuristics.CycleStep) bool {
	for _, st := range cycle {
		if st.Waits.ID != r.ID && st.Waits.Name != nil && r.Name != nil && *st.Waits.Name == *r.Name {
			return true
		}
	}
	return false
}

// nameUnique reports whether no other object of the cycle has the name.
func (w *words) nameUnique(n, id string, cycle []heuristics.CycleStep) bool {
	for _, st := range cycle {
		if st.Waits.ID == id {
			continue
		}
		if ob := w.snap.Objects[st.Waits.ID]; ob != nil && slices.Contains(ob.Names, n) {
			return false
		}
	}
	return true
}

// loopFutureAdvice is how a coroutine waits for another loop's coroutine
// without stopping its own loop.
const loopFutureAdvice = "in a coroutine, await asyncio.wrap_future(fut) instead of calling fut.result(): the loop then keeps running while it waits (and a coroutine for the same loop is simply awaited)"

// loopFutureSummary words a cycle in which every thread runs an event loop
// and waits on the result() of a coroutine it handed to a loop (its own,
// or the next one's) with run_coroutine_threadsafe().
func (w *words) loopFutureSummary(d *heuristics.DeadlockDetails) (string, bool) {
	var parts []string
	for _, st := range d.Cycle {
		if len(st.HeldBy) != 1 || !st.HeldBy[0].RunsLoop || st.Waits.Kind != snapshot.KindFuture {
			return "", false
		}
		parts = append(parts, fmt.Sprintf("%s waits for the result of %s, a coroutine handed to the event loop that %s runs", w.threadName(st.Thread), w.distinctRef(st.Waits, d.Cycle), w.threadName(st.HeldBy[0].Thread)))
	}
	if len(d.Cycle) == 1 {
		st := d.Cycle[0]
		return fmt.Sprintf("deadlock: %s waits for the result of %s, a coroutine it handed to its own event loop with run_coroutine_threadsafe(), which cannot start it while its one thread waits — %s",
			w.threadName(st.Thread), w.distinctRef(st.Waits, d.Cycle), loopFutureAdvice), true
	}
	return fmt.Sprintf("deadlock between %d event loops: %s (run_coroutine_threadsafe()); no loop can start another's coroutine while its thread waits — %s",
		len(d.Cycle), strings.Join(parts, "; "), loopFutureAdvice), true
}

// cycleAdviceFor is cycleAdvice, for a cycle through the result() of a
// coroutine handed to an event loop: a loop's thread calling it should
// await instead; a plain thread calling it must not hold what the loop's
// thread needs, and a coroutine must not block that thread on it.
func (w *words) cycleAdviceFor(d *heuristics.DeadlockDetails) string {
	for _, st := range d.Cycle {
		if len(st.HeldBy) != 1 || !st.HeldBy[0].RunsLoop || st.Waits.Kind != snapshot.KindFuture {
			continue
		}
		if slices.ContainsFunc(w.snap.Loops, func(lp snapshot.Loop) bool { return lp.Thread == st.Thread }) {
			return "an event loop's thread must not block on a coroutine's result(): " + loopFutureAdvice
		}
		return fmt.Sprintf("%s waits for a coroutine's result() while it holds what the loop's thread needs: release it before calling result(), and do not block the loop's thread in a coroutine (take a threading lock through asyncio.to_thread())",
			w.threadName(st.Thread))
	}
	return cycleAdvice(d)
}

// cycleAdvice says what would break a cycle of threads, by what they wait
// for: locks, joins of threads, futures.
func cycleAdvice(d *heuristics.DeadlockDetails) string {
	if fedWait(d) {
		if len(d.Retries) > 0 {
			return "do not hold a lock while waiting for a queue, condition, event or barrier that a thread needing that lock has to feed: release it before the wait (a timeout does not help while the loop around the wait keeps the lock)"
		}
		return lockoutAdvice
	}
	locked, joins := false, false
	for _, st := range d.Cycle {
		switch st.Waits.Kind {
		case snapshot.KindThread:
			joins = true
		case snapshot.KindLock, snapshot.KindRLock, snapshot.KindSemaphore, snapshot.KindCondition:
			locked = true
		default:
			locked, joins = true, true // a future, a queue: the mixed advice
		}
	}
	switch {
	case !locked:
		return "a thread must not join a thread that waits for it: join from one side only, or give join() a timeout"
	case !joins:
		return "take these locks in one order everywhere, or give acquire() a timeout"
	}
	return "do not join a thread, or wait for its work, while holding a lock it needs: release the lock first, or give the waits a timeout"
}

// retryDeadlockSummary words a cycle whose waits have timeouts that are
// retried in place, the holds kept.
func (w *words) retryDeadlockSummary(d *heuristics.DeadlockDetails) string {
	var parts []string
	for _, st := range d.Cycle {
		parts = append(parts, fmt.Sprintf("%s waits for %s", w.threadName(st.Thread), w.distinctRef(st.Waits, d.Cycle)))
	}
	return fmt.Sprintf("deadlock that its timeouts do not end, unless a loop gives up: %s; the waits with a timeout are retried in a while loop that keeps holding what the others wait for — on a timeout, release what is held and back off before trying again, or take these locks in one order everywhere",
		strings.Join(parts, "; "))
}

// fedWait tells a cycle that closes through a wait that a feeding call
// (put, notify, set) of another thread ends.
func fedWait(d *heuristics.DeadlockDetails) bool {
	for _, st := range d.Cycle {
		for _, h := range st.HeldBy {
			if h.Probable && len(h.Evidence) > 0 && h.Evidence[0].Basis == locks.BasisFeedSite {
				return true
			}
		}
	}
	return false
}

// probableDeadlockSummary words a cycle that closes through locks taken by
// a bare acquire(): who holds them is inferred, and the sentence says so.
func (w *words) probableDeadlockSummary(d *heuristics.DeadlockDetails) string {
	var parts []string
	for _, st := range d.Cycle {
		parts = append(parts, fmt.Sprintf("%s waits for %s", w.threadName(st.Thread), w.distinctRef(st.Waits, d.Cycle)))
	}
	basis := "inferred: " + strings.Join(w.inferredBases(d), "; ")
	if len(d.Cycle) == 1 {
		return fmt.Sprintf("probable deadlock: %s, which it already took with acquire() and has not released (%s) — use an RLock, or do not take it again while holding it",
			parts[0], basis)
	}
	return fmt.Sprintf("probable deadlock between %d threads: %s (%s) — %s",
		len(d.Cycle), strings.Join(parts, "; "), basis, cycleAdvice(d))
}

// inferredBases says how the probable holds of a cycle were inferred, once
// for each kind of them.
func (w *words) inferredBases(d *heuristics.DeadlockDetails) []string {
	var bare, bareTask, sem bool
	var fed []string
	for _, st := range d.Cycle {
		for _, h := range st.HeldBy {
			if !h.Probable || len(h.Evidence) == 0 {
				continue
			}
			switch h.Evidence[0].Basis {
			case locks.BasisBareAcquire:
				if h.Task != "" {
					bareTask = true
				} else {
					bare = true
				}
			case locks.BasisWith:
				sem = true
			case locks.BasisFeedSite:
				fed = append(fed, fmt.Sprintf("only stuck threads have code on their stacks that would end the wait for %s (a %s() call still ahead of them), though another thread could still make such a call",
					w.shortRef(st.Waits), w.esc(h.Evidence[0].At.Call)))
			}
		}
	}
	var out []string
	if bare {
		out = append(out, "a thread that stands after a bare acquire() of a lock and before its release() holds it")
	}
	if bareTask {
		out = append(out, "a task suspended after a bare acquire() of a lock and before its release() holds it")
	}
	if sem {
		out = append(out, "a thread inside a with block of a semaphore holds one of its units, and others may be held elsewhere")
	}
	out = append(out, fed...)
	return out
}

// summary says in one sentence what is wrong and what would fix it.
func (w *words) summary(f *heuristics.Finding) string {
	switch d := f.Details.(type) {
	case *heuristics.DeadlockDetails:
		if len(f.Tasks) > 0 {
			return w.taskDeadlockSummary(d)
		}
		if d.Probable && d.ChildLock == nil && d.Handler == nil {
			return w.probableDeadlockSummary(d)
		}
		if len(d.Retries) > 0 {
			return w.retryDeadlockSummary(d)
		}
		if s, ok := w.deadlockSummary(d); ok {
			return s
		}
		if s, ok := w.loopFutureSummary(d); ok {
			return s
		}
		var parts []string
		for _, st := range d.Cycle {
			parts = append(parts, fmt.Sprintf("%s waits for %s", w.threadName(st.Thread), w.distinctRef(st.Waits, d.Cycle)))
		}
		if len(d.OtherHolders) > 0 {
			var others []string
			for _, tid := range d.OtherHolders {
				others = append(others, w.threadName(tid))
			}
			keep := "keeps"
			if len(others) > 1 {
				keep = "keep"
			}
			return fmt.Sprintf("deadlock for as long as %s, outside the cycle, %s the other units of the semaphore it waits for: %s — %s",
				strings.Join(others, " and "), keep, strings.Join(parts, "; "), w.cycleAdviceFor(d))
		}
		if len(d.Cycle) == 1 {
			return fmt.Sprintf("deadlock: %s, which it already holds — use an RLock, or do not take it again while holding it", parts[0])
		}
		return fmt.Sprintf("deadlock between %d threads: %s — %s",
			len(d.Cycle), strings.Join(parts, "; "), w.cycleAdviceFor(d))
	case *heuristics.OrphanedLockDetails:
		if d.Fork != nil {
			return w.forkSummary(d)
		}
		name := w.shortRef(d.Lock)
		switch d.Cause {
		case heuristics.CauseSuspendedGenerator:
			return w.generatorOrphanSummary(d)
		case heuristics.CauseUnknown:
			return fmt.Sprintf("possibly orphaned lock: %s is locked and %s wait for it; no thread holds it in a with block, and pyhang found no acquire() of it to tell whether a live thread took it",
				name, w.orphanWaiters(d.Waiters))
		case heuristics.CauseContextManager:
			return fmt.Sprintf("possibly orphaned lock: %s is locked and %s wait for it; it is taken in a context manager's __enter__, and the thread inside that manager's with block holds it, which pyhang cannot see",
				name, w.orphanWaiters(d.Waiters))
		case heuristics.CauseOwnerGone:
			return fmt.Sprintf("orphaned lock: %s is owned by a thread that no longer exists, and %s wait for it — release it in a finally: block, or take it with a with statement",
				name, w.orphanWaiters(d.Waiters))
		case heuristics.CauseLeftByOwner:
			probably := ""
			if d.StackLost {
				probably = "probably "
			}
			return fmt.Sprintf("%sorphaned lock: %s is owned by %s, which holds it in no frame: code it ran took it and returned without releasing it, and %s wait for it — release it in a finally: block, or take it with a with statement",
				probably, name, w.threadName(d.Holder), w.orphanWaiters(d.Waiters))
		case heuristics.CauseUnitsLeaked:
			left := "no unit left"
			if d.Units != nil {
				left = fmt.Sprintf("none of its %d units left", *d.Units)
			}
			if d.StackLost {
				return fmt.Sprintf("probably orphaned semaphore: %s has %s, %s wait in acquire(), and no thread seen holds a unit to give back, but a thread's stack is lost in part and may — release in a finally: block, or take it with a with statement",
					name, left, w.orphanWaiters(d.Waiters))
			}
			return fmt.Sprintf("orphaned semaphore: %s has %s, %s wait in acquire(), and no live thread holds a unit to give back: units were taken by acquire() calls whose release() never ran — release in a finally: block, or take it with a with statement",
				name, left, w.orphanWaiters(d.Waiters))
		case heuristics.CauseIdentReused:
			return fmt.Sprintf("probably orphaned lock: %s is owned by the ident that the ended thread %s had and %s has now, no frame of %s holds it, and %s wait for it — release it in a finally: block, or take it with a with statement",
				name, w.endedThread(d.Ended), w.threadName(d.ReusedBy), w.threadName(d.ReusedBy), w.orphanWaiters(d.Waiters))
		}
		if d.StackLost {
			return fmt.Sprintf("probably orphaned lock: %s is locked, %s wait for it, and no thread seen holds it, but a thread's stack is lost in part and may — release it in a finally: block, or take it with a with statement",
				name, w.orphanWaiters(d.Waiters))
		}
		return fmt.Sprintf("orphaned lock: %s is locked, %s wait for it, and no live %s holds it — release it in a finally: block, or take it with %s statement",
			name, w.orphanWaiters(d.Waiters), holderKind(d.Waiters), withKind(d.Waiters))
	case *heuristics.AbandonedWaitDetails:
		return w.abandonedSummary(d)
	case *heuristics.StarvedConsumersDetails:
		return w.starvedSummary(d)
	case *heuristics.StuckIODetails:
		return w.stuckIOSummary(d)
	case *heuristics.StuckPipeDetails:
		return w.stuckPipeSummary(d)
	case *heuristics.GILHeldDetails:
		return w.gilHeldSummary(d)
	case *heuristics.CrashDetails:
		return w.crashSummary(d)
	case *heuristics.AllBlockedDetails:
		if d.Consequence {
			if len(f.Threads) == 1 {
				return "the process's only thread is blocked as a result: the process can never make progress"
			}
			return fmt.Sprintf("every one of the %d threads is blocked as a result: the process can never make progress", len(f.Threads))
		}
		return w.allBlockedSummary(f, d)
	case *heuristics.BlockedLoopDetails:
		return w.blockedLoopSummary(d)
	case *heuristics.StarvationDetails:
		return w.lockStarvationSummary(d)
	case *heuristics.HangAtExitDetails:
		return w.exitSummary(d)
	case *heuristics.HangInGCDetails:
		return w.gcSummary(d)
	}
	return string(f.Kind)
}

// findingEvidence lists the facts behind a finding, one sentence each.
func (w *words) findingEvidence(f *heuristics.Finding) []string {
	var out []string
	switch d := f.Details.(type) {
	case *heuristics.DeadlockDetails:
		if len(f.Tasks) > 0 {
			return w.taskDeadlockEvidence(d)
		}
		if d.Pool != nil {
			return w.poolEvidence(d)
		}
		if d.Pipe != nil {
			return w.pipeEvidence(d)
		}
		if d.ParentPipe != nil {
			return w.parentPipeEvidence(d)
		}
		if d.ChildLock != nil {
			return w.childLockEvidence(d)
		}
		for _, st := range d.Cycle {
			line := fmt.Sprintf("%s waits for %s at %s", w.threadLabel(st.Thread), w.cycleRef(st.Waits, d.Cycle), w.waitsAt(st.ThreadWait))
			for _, h := range st.HeldBy {
				line += ", " + w.holderWords(h)
			}
			out = append(out, line)
		}
		if s := w.signalEvidence(d); s != "" {
			out = append(out, s)
		}
		for _, r := range d.Retries {
			if r.Hold.File == "" {
				// A feeder retrying to take what the waiter holds.
				out = append(out, fmt.Sprintf("%s makes its wait again after each timeout, in the while loop at %s in %s: it never gets past it to the call that would end the other wait",
					w.threadLabel(r.Thread), w.site(&r.Loop), w.esc(r.Loop.Function)))
				continue
			}
			out = append(out, fmt.Sprintf("%s makes its wait again after each timeout, in the while loop at %s in %s, inside the with block at %s that keeps what the other threads wait for",
				w.threadLabel(r.Thread), w.site(&r.Loop), w.esc(r.Loop.Function), w.site(&r.Hold)))
		}
	case *heuristics.OrphanedLockDetails:
		if d.Fork != nil {
			out = append(out, w.forkEvidence(d)...)
		}
		switch d.Cause {
		case heuristics.CauseForkInherited:
		case heuristics.CauseSuspendedGenerator:
			out = append(out, w.generatorOrphanEvidence(d)...)
		case heuristics.CauseOwnerGone:
			out = append(out, fmt.Sprintf("its RLock owner field names thread ident %d, which is no longer running", d.Owner))
		case heuristics.CauseIdentReused:
			out = append(out, fmt.Sprintf("its RLock owner field names thread ident %d: that of %s, which ended, and now of %s, which got the ended thread's stack, and so its ident, from the C library", d.Owner, w.endedThread(d.Ended), w.threadLabel(d.ReusedBy)),
				fmt.Sprintf("no with block or frame of %s holds it: most likely the ended thread took it and never released it (%s could still re-enter and release it, as the RLock takes it for its owner)", w.threadName(d.ReusedBy), w.threadName(d.ReusedBy)))
		case heuristics.CauseBareAcquire:
			var acq []string
			for _, st := range d.Acquires {
				acq = append(acq, fmt.Sprintf("%s in %s", w.site(&st), w.esc(st.Function)))
			}
			if taskWaiters(d.Waiters) {
				out = append(out, fmt.Sprintf("it was taken by a bare acquire() at %s whose release() never ran (no pending task holds it in an async with block, and no task or thread stands between that acquire() and its release())", strings.Join(acq, ", ")))
				break
			}
			out = append(out, fmt.Sprintf("it was taken by a bare acquire() at %s whose release() never ran (no thread holds it in a with block, and none stands between that acquire() and its release())", strings.Join(acq, ", ")))
		case heuristics.CauseLeftByOwner:
			out = append(out, fmt.Sprintf("its RLock owner field names %s, ident %d, count %s, and no frame of it holds it: no with block of it, and no frame between an acquire() of it and its release()",
				w.threadLabel(d.Holder), d.Owner, w.ownerCount(d.Lock.ID)),
				fmt.Sprintf("it is taken by acquire() at %s; no release() of it gives it back without taking it first, and only its owner may release it", w.sitesIn(d.Acquires)))
			if d.StackLost {
				out = append(out, "a thread's stack is lost in part: the owner's lost frames may hold it")
			}
		case heuristics.CauseUnitsLeaked:
			out = append(out, fmt.Sprintf("its units are taken by acquire() at %s, and every release() of it, at %s, follows an acquire() in the same function: only a thread that took a unit gives one back",
				w.sitesIn(d.Acquires), w.sitesIn(d.Releases)),
				"no thread holds a unit: none is inside a with block of it, and none stands between an acquire() of it and its release()")
		case heuristics.CauseContextManager:
			var acq []string
			for _, st := range d.Acquires {
				acq = append(acq, fmt.Sprintf("%s in %s", w.site(&st), w.esc(st.Function)))
			}
			out = append(out, fmt.Sprintf("it is taken by acquire() at %s: a with block of that context manager holds it until its __exit__ runs, so a live thread may hold it", strings.Join(acq, ", ")))
		default:
			out = append(out, "no acquire() of it was found in the source files of the stacks; the thread that took it may still be running")
		}
		for _, wt := range d.Waiters {
			if wt.Task != "" {
				out = append(out, fmt.Sprintf("%s waits for it at %s", w.actorLabel(wt), w.actorFrameAt(wt)))
				continue
			}
			out = append(out, fmt.Sprintf("%s waits for it at %s", w.threadLabel(wt.Thread), w.waitsAt(wt)))
		}
	case *heuristics.AbandonedWaitDetails:
		out = w.abandonedEvidence(d)
	case *heuristics.StarvedConsumersDetails:
		out = w.starvedEvidence(d)
	case *heuristics.StuckIODetails:
		out = w.stuckIOEvidence(d)
	case *heuristics.StuckPipeDetails:
		out = w.stuckPipeEvidence(d)
	case *heuristics.GILHeldDetails:
		out = w.gilHeldEvidence(d)
	case *heuristics.CrashDetails:
		out = w.crashEvidence(d)
	case *heuristics.AllBlockedDetails:
		for _, wt := range d.Waits {
			out = append(out, fmt.Sprintf("%s waits for %s at %s", w.threadLabel(wt.Thread), w.ref(wt.Waits), w.waitsAt(wt)))
		}
	case *heuristics.BlockedLoopDetails:
		out = w.blockedLoopEvidence(d)
	case *heuristics.StarvationDetails:
		out = w.lockStarvationEvidence(d)
	case *heuristics.HangAtExitDetails:
		out = w.exitEvidence(d)
	case *heuristics.HangInGCDetails:
		out = w.gcEvidence(d)
	}
	return out
}

// waitsAt is where a thread waits: its frame, marked when only that frame
// names what it waits for.
func (w *words) waitsAt(tw heuristics.ThreadWait) string {
	return w.frameAt(tw.Thread, tw.Frame) + w.indirect(tw.Evidence)
}

// indirect marks a wait known only from the Python frame (the kernel's
// evidence named nothing): the finding rests on it, so it says so.
func (w *words) indirect(evs []locks.Evidence) string {
	for _, e := range evs {
		if e.Basis == locks.BasisPythonFrame {
			return " (named from its Python frame, which is calling " + w.esc(e.Method) + "(): the futex matched no lock)"
		}
	}
	return ""
}

// allBlockedSummary says that no thread can run again; pipes are named when
// a thread waits on one only the process holds.
func (w *words) allBlockedSummary(f *heuristics.Finding, d *heuristics.AllBlockedDetails) string {
	pipes := slices.ContainsFunc(d.Waits, func(wt heuristics.ThreadWait) bool { return wt.Waits.Kind == locks.KindPipe })
	if len(d.Waits) == 1 {
		wt := d.Waits[0]
		if pipes {
			return fmt.Sprintf("the process's only thread, %s, waits without a timeout on %s, whose other end no other process holds, and no other thread is left to use or close it: the process can never make progress — close a pipe's unused ends, or wait on it with a timeout (select() or poll())",
				w.threadName(wt.Thread), w.ref(wt.Waits))
		}
		return fmt.Sprintf("the process's only thread, %s, waits without a timeout for %s, and no other thread is left to release or set it: the process can never make progress — end such a wait from a finally: block of the thread meant to, or give the wait a timeout",
			w.threadName(wt.Thread), w.shortRef(wt.Waits))
	}
	if pipes {
		return fmt.Sprintf("all %d threads are blocked, without a timeout, on locks, conditions, queues, joins or pipes whose other end no other process holds, that only another of these threads could release or use: the process can never make progress", len(f.Threads))
	}
	return fmt.Sprintf("all %d threads are blocked, without a timeout, on locks, conditions, queues or joins that only another of these threads could release: the process can never make progress", len(f.Threads))
}

// sitesIn is "f.py:4 in handler, f.py:9 in serve".
func (w *words) sitesIn(sites []locks.Site) string {
	var out []string
	for _, st := range sites {
		out = append(out, fmt.Sprintf("%s in %s", w.site(&st), w.esc(st.Function)))
	}
	return strings.Join(out, ", ")
}

// ownerCount is an RLock's recursion count as the snapshot holds it, "?"
// when not known.
func (w *words) ownerCount(id string) string {
	if ob := w.snap.Objects[id]; ob != nil && ob.Count > 0 {
		return fmt.Sprint(ob.Count)
	}
	return "?"
}

// orphanWaiters counts an orphaned lock's waiters: threads, and the
// asyncio tasks that wait for an asyncio.Lock.
func (w *words) orphanWaiters(ws []heuristics.ThreadWait) string {
	tasks := 0
	for _, tw := range ws {
		if tw.Task != "" {
			tasks++
		}
	}
	threads := len(ws) - tasks
	switch {
	case tasks == 0:
		return fmt.Sprintf("%d thread(s)", threads)
	case threads == 0:
		return fmt.Sprintf("%d task(s)", tasks)
	}
	return fmt.Sprintf("%d thread(s) and %d task(s)", threads, tasks)
}

// taskWaiters reports whether asyncio tasks wait for the lock.
func taskWaiters(ws []heuristics.ThreadWait) bool {
	return slices.ContainsFunc(ws, func(tw heuristics.ThreadWait) bool { return tw.Task != "" })
}

// withKind is the statement that takes a lock for a block: async with for
// an asyncio.Lock.
func withKind(ws []heuristics.ThreadWait) string {
	if taskWaiters(ws) {
		return "an async with"
	}
	return "a with"
}

// holderKind is what could hold a lock its waiters wait for: a thread, or,
// for an asyncio.Lock, a task.
func holderKind(ws []heuristics.ThreadWait) string {
	if taskWaiters(ws) {
		return "task or thread"
	}
	return "thread"
}
