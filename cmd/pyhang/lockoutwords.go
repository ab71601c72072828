package main

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
)

// lockoutAdvice is what fixes a wait whose feeder needs what the waiter
// holds.
const lockoutAdvice = "do not hold a lock while waiting for a queue, condition, event or barrier that a thread needing that lock has to feed: release it before the wait, or give the wait a timeout"

// lockoutClause is ", and the thread that would put to it waits for what
// the consumer holds while it waits: a lockout", for a finding's summary,
// with the advice that fixes it. When the feeder's chain closes through a
// third thread (it holds what the feeder waits for while it joins the
// waiter), that thread is named, and the advice is about it.
func (w *words) lockoutClause(ls []heuristics.Lockout, feed, waiter string) (clause, advice string) {
	who := "the thread that would " + feed + " waits"
	if feeders(ls) > 1 {
		who = "the threads that would " + feed + " wait"
	}
	if mid, ok := throughOther(ls); ok {
		return fmt.Sprintf("%s for %s, which %s holds while it waits for %s: a lockout",
				who, w.shortRef(mid.Waits), w.threadName(mid.Thread), w.shortRef(ls[0].Chain[len(ls[0].Chain)-1].Waits)),
			"do not wait for threads, or for their work, while holding a lock that what they wait on needs: release it before the wait, or give the wait a timeout"
	}
	if len(ls) > 1 {
		waiter += "s"
	}
	verb := "holds"
	if len(ls) > 1 {
		verb = "hold"
	}
	return fmt.Sprintf("%s for what the %s %s while waiting: a lockout", who, waiter, verb), lockoutAdvice
}

// throughOther finds, in the first lockout, the step whose wait a thread
// other than the waiter holds up: the feeder's chain ends not at a hold of
// the waiter's but at a thread that waits for it (a join, a future). mid
// is the step whose resource that thread holds; ok is false for a chain
// that ends at the waiter's own hold.
func throughOther(ls []heuristics.Lockout) (mid heuristics.CycleStep, ok bool) {
	if len(ls) == 0 || len(ls[0].Chain) < 2 {
		return heuristics.CycleStep{}, false
	}
	l := ls[0]
	first := l.Chain[0]
	for _, h := range first.HeldBy {
		if h.Thread == l.Waiter {
			return heuristics.CycleStep{}, false
		}
	}
	return heuristics.CycleStep{ThreadWait: heuristics.ThreadWait{Thread: l.Chain[1].Thread, Waits: first.Waits}}, true
}

// feeders counts the distinct feeders of the lockouts.
func feeders(ls []heuristics.Lockout) int {
	seen := map[int]bool{}
	for _, l := range ls {
		seen[l.Feeder] = true
	}
	return len(seen)
}

// lockoutEvidence says, of each lockout, which call of the feeder would end
// the wait and what it waits for instead, down to the waiter's hold.
func (w *words) lockoutEvidence(ls []heuristics.Lockout) []string {
	var out []string
	for _, l := range ls {
		var chain []string
		for _, st := range l.Chain {
			chain = append(chain, fmt.Sprintf("%s waits for %s at %s%s", w.threadName(st.Thread), w.ref(st.Waits), w.waitsAt(st.ThreadWait), w.heldBy(st.Waits)))
		}
		in := w.esc(l.At.Function)
		if !w.onOwnStack(l.Feeder, l.At) {
			in += ", a task of the event loop it runs"
		}
		out = append(out, fmt.Sprintf("%s would end the wait of %s with %s() at %s in %s, still ahead of it, but %s, forever",
			w.threadLabel(l.Feeder), w.threadName(l.Waiter), w.esc(l.At.Call), w.site(&l.At), in, strings.Join(chain, "; ")))
	}
	return out
}

// lockedOut reports whether the thread is the feeder of one of the lockouts
// (their evidence tells its wait).
func lockedOut(ls []heuristics.Lockout, tid int) bool {
	for _, l := range ls {
		if l.Feeder == tid {
			return true
		}
	}
	return false
}

// onOwnStack says whether a frame of thread tid runs the function of site
// st; a site the thread would reach only by resuming a task of its loop is
// not on its stack.
func (w *words) onOwnStack(tid int, st locks.Site) bool {
	t := w.thread(tid)
	if t == nil {
		return true
	}
	for i := range t.Frames {
		if f := &t.Frames[i]; f.File == st.File && f.Qualname == st.Function {
			return true
		}
	}
	return false
}
