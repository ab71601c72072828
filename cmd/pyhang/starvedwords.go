package main

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// maxListed bounds the threads one sentence names; more than two more are
// counted, not named.
const maxListed = 8

// threadList is `"a" (tid 1), "b" (tid 2) and 3 more`.
func (w *words) threadList(tids []int) string {
	var parts []string
	for i, tid := range tids {
		if i == maxListed && len(tids) > maxListed+2 {
			parts = append(parts, fmt.Sprintf("%d more", len(tids)-i))
			break
		}
		parts = append(parts, w.threadLabel(tid))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// whoWait is `"a" (tid 1) waits` or `"a" (tid 1) and "b" (tid 2) wait`.
func (w *words) whoWait(tids []int) string {
	if len(tids) > 1 {
		return w.threadList(tids) + " wait"
	}
	return w.threadList(tids) + " waits"
}

// waitersWait is `posting waits` for one waiter, "3 threads wait" for more.
func (w *words) waitersWait(ws []heuristics.ThreadWait) string {
	if len(ws) == 1 {
		return w.threadName(ws[0].Thread) + " waits"
	}
	return threadsWait(len(ws))
}

// othersWait says, grouped by wait, what the other threads wait for, each
// sentence ending in tail.
func (w *words) othersWait(tws []heuristics.ThreadWait, tail string) []string {
	var out []string
	for _, g := range w.groupWaits(tws) {
		out = append(out, fmt.Sprintf("%s for %s at %s%s%s", w.whoWait(g.tids), w.ref(g.waits), g.at, w.heldBy(g.waits), tail))
	}
	return out
}

// unseen are the threads that can run but show no reference to the object.
func unseen(others []heuristics.Producer) []int {
	var tids []int
	for _, p := range others {
		if p.CanRun && !p.Refers {
			tids = append(tids, p.Thread)
		}
	}
	return tids
}

// othersIdle says why no other thread will act: each waits forever, or
// only sleeps in an endless loop.
func othersIdle(others []heuristics.Producer) string {
	for _, p := range others {
		if p.Sleeps != nil {
			return "no other thread will ever act: each waits forever itself, or only sleeps in an endless loop"
		}
	}
	return "no other thread can ever run: each waits forever itself"
}

// sleepers says, of each thread that only sleeps in an endless loop, where;
// a signal handler is all the main thread may still run there.
func (w *words) sleepers(others []heuristics.Producer) []string {
	var out []string
	for _, p := range others {
		if p.Sleeps == nil {
			continue
		}
		s := fmt.Sprintf("%s only sleeps, in the endless loop at %s in %s, which does nothing else", w.threadLabel(p.Thread), w.site(p.Sleeps), w.esc(p.Sleeps.Function))
		if t := w.thread(p.Thread); t != nil && t.Main {
			s += ": a signal handler is all it may still run"
		}
		out = append(out, s)
	}
	return out
}

// threadsWait is "1 thread waits" or "3 threads wait".
func threadsWait(n int) string {
	if n == 1 {
		return "1 thread waits"
	}
	return fmt.Sprintf("%d threads wait", n)
}

// plural is "1 thread" or "3 threads".
func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

func (w *words) starvedSummary(d *heuristics.StarvedConsumersDetails) string {
	q := w.shortRef(d.Queue)
	n := len(d.Consumers)
	head := "starved consumers"
	if d.Reason == heuristics.ReasonMainSleeps || d.Reason == heuristics.ReasonNoReference {
		head = "probably starved"
	}
	if len(d.Lockouts) > 0 && !d.Consequence {
		if d.Queue.Kind == snapshot.KindCondition {
			clause, advice := w.lockoutClause(d.Lockouts, "notify it", "waiter")
			return fmt.Sprintf("%s: %s on condition %s, and %s — %s", head, threadsWait(n), q, clause, advice)
		}
		clause, advice := w.lockoutClause(d.Lockouts, "put to it", "consumer")
		return fmt.Sprintf("%s: %s in get() on queue %s, which is empty, and %s — %s", head, threadsWait(n), q, clause, advice)
	}
	never := "can ever run"
	if d.Reason == heuristics.ReasonMainSleeps {
		never = "will ever run, unless a signal handler the main thread runs (it only sleeps) does it"
	}
	if d.Queue.Kind == snapshot.KindCondition {
		switch {
		case d.Consequence:
			return fmt.Sprintf("as a result, %s on condition %s forever: no thread that could notify it can run", threadsWait(n), q)
		case d.Reason == heuristics.ReasonNoReference:
			return fmt.Sprintf("probably starved: %s on condition %s, and no thread that refers to it can run — notify the waiters (with a sentinel) when the producer stops, also when it fails (in a finally: block), or wait with a timeout", threadsWait(n), q)
		}
		return fmt.Sprintf("%s: %s on condition %s, and no thread that could notify it %s — notify the waiters (with a sentinel) when the producer stops, also when it fails (in a finally: block), or wait with a timeout", head, threadsWait(n), q, never)
	}
	switch {
	case d.Consequence:
		return fmt.Sprintf("as a result, %s in get() on queue %s forever: no thread that could put to it can run", threadsWait(n), q)
	case d.Reason == heuristics.ReasonNoReference:
		return fmt.Sprintf("probably starved: %s in get() on queue %s, which is empty, and no thread that refers to it can run — put one sentinel per consumer when the work is done, or take with get_nowait() or get(timeout=…)", threadsWait(n), q)
	}
	return fmt.Sprintf("%s: %s in get() on queue %s, which is empty, and no thread that could put to it %s — put one sentinel per consumer when the work is done, or take with get_nowait() or get(timeout=…)", head, threadsWait(n), q, never)
}

func (w *words) starvedEvidence(d *heuristics.StarvedConsumersDetails) []string {
	var out []string
	if d.Queue.Kind == snapshot.KindCondition {
		out = append(out, fmt.Sprintf("%s is a hand-off: its consumers wait in wait() until a producer notifies it", w.ref(d.Queue)))
	} else {
		s := fmt.Sprintf("%s is empty", w.ref(d.Queue))
		var facts []string
		if d.Length != nil {
			facts = append(facts, plural(*d.Length, "item"))
		}
		if d.Unfinished != nil {
			facts = append(facts, fmt.Sprintf("%s never marked done", plural(*d.Unfinished, "task")))
		}
		if len(facts) > 0 {
			s += " (" + strings.Join(facts, ", ") + ")"
		}
		out = append(out, s)
	}
	call := "get()"
	if d.Queue.Kind == snapshot.KindCondition {
		call = "wait()"
	}
	for _, g := range w.groupWaits(d.Consumers) {
		out = append(out, fmt.Sprintf("%s in %s at %s, without a timeout", w.whoWait(g.tids), call, g.at))
	}
	forever := ", forever"
	switch d.Reason {
	case heuristics.ReasonNoOtherThread:
		out = append(out, "no other thread is left: whatever thread fed it is gone")
	case heuristics.ReasonOthersBlocked, heuristics.ReasonMainSleeps:
		out = append(out, othersIdle(d.Others))
	case heuristics.ReasonNoReference:
		what := "queue"
		if d.Queue.Kind == snapshot.KindCondition {
			what = "condition"
		}
		out = append(out, fmt.Sprintf("only %s can still run, and the %s is no module global and no frame of theirs refers to it: they could feed it only through a reference pyhang does not see", w.threadList(unseen(d.Others)), what))
		forever = ""
	}
	out = append(out, w.lockoutEvidence(d.Lockouts)...)
	out = append(out, w.sleepers(d.Others)...)
	for _, e := range d.Ended {
		out = append(out, fmt.Sprintf("thread %q (%s) has ended: if it was the producer, it is gone", w.esc(e.Name), e.Object))
	}
	// Would-be producers first, each on its own; the rest grouped by wait.
	var rest []heuristics.ThreadWait
	for _, p := range d.Others {
		if p.Waits == nil || lockedOut(d.Lockouts, p.Thread) {
			continue
		}
		if len(p.Puts) == 0 && !p.Refers {
			rest = append(rest, *p.Waits)
			continue
		}
		s := w.threadLabel(p.Thread)
		switch {
		case p.PastPuts:
			s += " " + w.feeds(d.Queue, p.Puts, true) + "; it is past its last one and"
		case len(p.Puts) > 0:
			s += " " + w.feeds(d.Queue, p.Puts, false) + ", but"
		default:
			s += " refers to it, but"
		}
		out = append(out, fmt.Sprintf("%s waits for %s at %s%s%s", s, w.ref(p.Waits.Waits), w.waitsAt(*p.Waits), w.heldBy(p.Waits.Waits), forever))
	}
	out = append(out, w.othersWait(rest, forever)...)
	if d.StackLost && len(d.Lockouts) == 0 {
		out = append(out, lostFeedNote)
	}
	return out
}

// feeds is "puts to it at jobs.py:12 in main" from put() call sites; past
// says the thread has gone by them ("put to it").
func (w *words) feeds(q locks.Ref, sites []locks.Site, past bool) string {
	verb := "puts to it"
	switch {
	case q.Kind == snapshot.KindCondition && past:
		verb = "notified it"
	case q.Kind == snapshot.KindCondition:
		verb = "notifies it"
	case past:
		verb = "put to it"
	}
	var at []string
	for i := range sites {
		at = append(at, w.site(&sites[i]))
	}
	return fmt.Sprintf("%s at %s in %s", verb, strings.Join(at, ", "), w.esc(sites[0].Function))
}

// heldBy is ", held by "x" (tid 3)" for a lock someone holds, a joined
// thread's name needs nothing more.
func (w *words) heldBy(r locks.Ref) string {
	if r.Kind != snapshot.KindLock && r.Kind != snapshot.KindRLock {
		return ""
	}
	if hs := w.locks.Holders[r.ID]; len(hs) > 0 {
		return ", held by " + w.threadList(hs)
	}
	// Nobody provably holds it: name who probably does (a thread between a
	// bare acquire() of it and its release()), as the thread's own wait does.
	if probable := w.locks.ProbableHolders[r.ID]; len(probable) > 0 {
		return ", held, probably, by " + w.threadList(probable)
	}
	return ""
}

// waitGroup is threads that wait on one resource at one place.
type waitGroup struct {
	waits locks.Ref
	at    string
	tids  []int
}

// groupWaits groups thread waits by resource and waiting frame, in order.
func (w *words) groupWaits(tws []heuristics.ThreadWait) []waitGroup {
	var out []waitGroup
	index := map[string]int{}
	for _, tw := range tws {
		at := w.waitsAt(tw)
		key := tw.Waits.ID + "\x00" + at
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, waitGroup{waits: tw.Waits, at: at})
		}
		out[i].tids = append(out[i].tids, tw.Thread)
	}
	return out
}
