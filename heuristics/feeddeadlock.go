package heuristics

import (
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// A thread that waits for a queue, a condition or an event holds, often, a
// lock the thread that would feed it needs first: "nested monitor lockout".
// The waiter holds L and waits in cond.wait(); the notifier blocks on L, a
// few lines before its cond.notify(). Neither lock nor condition closes a
// cycle in the wait-for graph, as a condition has no holder: what ends the
// wait is a call in another thread's code. Here, the threads whose stacks
// run code that feeds the object (put, notify, set: locks.Analysis.CallsIn)
// stand for its holders, and a chain of proven waits from one of them back
// to the waiter is a probable deadlock. Probable, because a thread whose
// stack shows no such call could still make one later: a warning, with the
// feeding call as its evidence. A waiter that waits with a timeout, in a
// while loop inside the with block of the lock the feeder wants, keeps
// that lock through every timeout: the same deadlock.

// feedCalls are, by the kind of object and the call a thread waits in, the
// calls of other threads that end the wait.
var feedCalls = map[string]map[string][]string{
	snapshot.KindQueue: {
		"get":  {"put", "put_nowait"},
		"put":  {"get", "get_nowait"}, // a full bounded queue
		"join": {"task_done"},
	},
	snapshot.KindSimpleQueue: {"get": {"put", "put_nowait"}},
	snapshot.KindCondition: {
		"wait":     {"notify", "notify_all", "notifyAll"},
		"wait_for": {"notify", "notify_all", "notifyAll"},
	},
	snapshot.KindEvent:   {"wait": {"set"}},
	snapshot.KindBarrier: {"wait": {"wait"}}, // the parties still to come
}

// feedDeadlocks finds the waits on a queue, condition or event that only
// threads locked out by the waiter could end. live says which threads can
// still run (proven, mayRun). Cycles already reported are skipped.
func feedDeadlocks(s *snapshot.Snapshot, a *locks.Analysis, live map[int]bool, found []Finding) []Finding {
	seen := map[string]bool{}
	for _, f := range found {
		if f.Kind == Deadlock {
			seen[threadSetKey(f.Threads)] = true
		}
	}
	var out []Finding
	for i := range s.Threads {
		f, ok := feedDeadlock(s, a, live, &s.Threads[i])
		if !ok || seen[threadSetKey(f.Threads)] {
			continue
		}
		seen[threadSetKey(f.Threads)] = true
		out = append(out, f)
	}
	return out
}

// Lockout is a wait no thread left will end whose would-be ender is stuck
// behind the waiter: Feeder runs code that would end it (At: a put(), notify(), set()
// or task_done() still ahead of it), but waits, through Chain (each wait
// from the feeder's on, the last one's held by the waiter), for what the
// waiter holds while it waits. Which thread would end the wait is read from
// the source; that nothing can is proven.
type Lockout struct {
	Waiter int         `json:"waiter"`
	Feeder int         `json:"feeder"`
	At     locks.Site  `json:"at"`
	Chain  []CycleStep `json:"chain"`
}

// lockouts attaches to each starved queue or abandoned wait the probable
// deadlocks in feeds of its waiters, and returns the other ones.
func lockouts(waits, feeds []Finding) []Finding {
	byWaiter := map[int]int{}
	for i, f := range feeds {
		byWaiter[f.Details.(*DeadlockDetails).Cycle[0].Thread] = i
	}
	used := map[int]bool{}
	for _, f := range waits {
		for _, w := range waitersOf(f) {
			i, ok := byWaiter[w.Thread]
			if !ok {
				continue
			}
			used[i] = true
			c := feeds[i].Details.(*DeadlockDetails).Cycle
			l := Lockout{Waiter: w.Thread, Feeder: c[1].Thread, At: *c[0].HeldBy[0].Evidence[0].At, Chain: c[1:]}
			switch d := f.Details.(type) {
			case *StarvedConsumersDetails:
				d.Lockouts = append(d.Lockouts, l)
			case *AbandonedWaitDetails:
				d.Lockouts = append(d.Lockouts, l)
			}
		}
	}
	var out []Finding
	for i, f := range feeds {
		if !used[i] {
			out = append(out, f)
		}
	}
	return out
}

// feedDeadlock is the probable deadlock of waiter t, when its wait is for an
// object that only threads stuck behind t would feed.
func feedDeadlock(s *snapshot.Snapshot, a *locks.Analysis, live map[int]bool, t *snapshot.Thread) (Finding, bool) {
	w := a.Waits[t.TID]
	if w == nil || w.Object == "" || idle(w) {
		return Finding{}, false
	}
	// A wait with a timeout counts when it is made again in a loop that
	// keeps the hold the feeder waits for (checked below, retries.go).
	timed := !stuckForever(t, w)
	if timed && (t.State != snapshot.StateBlocked || !w.Timed()) {
		return Finding{}, false
	}
	ob := s.Objects[w.Object]
	if ob == nil {
		return Finding{}, false
	}
	calls := feedCalls[ob.Kind][w.Call]
	if calls == nil || (w.Call == "get" && ob.Len != nil && *ob.Len != 0) {
		return Finding{}, false
	}
	// Every thread whose stack feeds the object: each must be stuck, and
	// one of them, through proven waits, behind the waiter.
	var cycle []int
	var site locks.Site
	var feederRetries *RetryLoop
	for i := range s.Threads {
		o := &s.Threads[i]
		if o.TID == t.TID || sleepsForever(a, o.TID) {
			continue // a thread that only sleeps, forever, feeds nothing
		}
		sites := a.CallsIn(o.TID, ob, calls...)
		if len(sites) == 0 {
			continue
		}
		retry, retries := retrying(a, o)
		if !stuckForever(o, a.Waits[o.TID]) && !retries {
			return Finding{}, false // it can run, and may feed it
		}
		if cycle != nil {
			if live[o.TID] {
				return Finding{}, false
			}
			continue
		}
		next, ahead := nextSite(a, o, sites)
		if !ahead {
			// Past every such call in its frames (a loop that put the
			// work, then joins): it feeds no more, unless it comes back
			// to one once it runs again.
			if live[o.TID] {
				return Finding{}, false
			}
			continue
		}
		if chain := chainTo(s, a, o.TID, t.TID, retries); chain != nil {
			cycle, site = append([]int{t.TID}, chain...), next
			if retries {
				feederRetries = &retry
			}
		} else if live[o.TID] {
			return Finding{}, false
		}
	}
	if cycle == nil {
		return Finding{}, false
	}
	d := &DeadlockDetails{Probable: true}
	if timed {
		loop, frame, ok := a.RetryLoop(t.TID)
		if !ok {
			return Finding{}, false
		}
		last := a.Waits[cycle[len(cycle)-1]]
		hold, ok := heldAround(s, a, t.TID, last.ID, loop, frame)
		if !ok {
			return Finding{}, false
		}
		d.Retries = []RetryLoop{{Thread: t.TID, Loop: loop, Hold: hold}}
	}
	if feederRetries != nil {
		d.Retries = append(d.Retries, *feederRetries)
	}
	f := Finding{Kind: Deadlock, Severity: Warning, Details: d}
	x := newTaskIndex(s)
	for i, tid := range cycle {
		wt := a.Waits[tid]
		step := CycleStep{ThreadWait: threadWait(a, tid)}
		if i == 0 {
			step.HeldBy = []Holder{{Thread: cycle[1], Probable: true,
				Evidence: []locks.Evidence{{Basis: locks.BasisFeedSite, At: &site}}}}
		} else {
			step.HeldBy = holdersOf(a, x, wt)
		}
		f.Threads = append(f.Threads, tid)
		if !contains(f.Objects, wt.ID) {
			f.Objects = append(f.Objects, wt.ID)
		}
		d.Cycle = append(d.Cycle, step)
	}
	return f, true
}

// chainTo follows proven waits from thread from, each untimed and through
// threads stuck forever, to thread to: the threads on the way, from first,
// or nil when no such chain leads there. fromRetries lets from's own wait
// have a timeout: it makes it again in a while loop (retrying).
func chainTo(s *snapshot.Snapshot, a *locks.Analysis, from, to int, fromRetries bool) []int {
	prev := map[int]int{from: from}
	queue := []int{from}
	for len(queue) > 0 {
		tid := queue[0]
		queue = queue[1:]
		th := threadOf(s, tid)
		w := a.Waits[tid]
		if th == nil || !stuckForever(th, w) && !(tid == from && fromRetries) {
			continue
		}
		next := append([]int(nil), a.Holders[w.ID]...)
		if w.Kind == snapshot.KindThread {
			next = append(next, w.On...)
		}
		sort.Ints(next)
		for _, n := range next {
			if n == to {
				chain := []int{tid}
				for c := tid; c != from; {
					c = prev[c]
					chain = append([]int{c}, chain...)
				}
				return chain
			}
			if _, ok := prev[n]; !ok {
				prev[n] = tid
				queue = append(queue, n)
			}
		}
	}
	return nil
}

// nextSite is the feeding call the thread reaches next: the first one at or
// after its line in the frame that runs the call's function, or one before
// it in the same while loop, which the loop comes back to; false when it
// stands past each of them for good.
func nextSite(a *locks.Analysis, t *snapshot.Thread, sites []locks.Site) (locks.Site, bool) {
	for _, st := range sites {
		for _, f := range a.FramesRunBy(t) {
			if f.File == st.File && f.Qualname == st.Function && (f.Line <= st.Line || a.InSameWhile(f.File, f.Line, st.Line)) {
				return st, true
			}
		}
	}
	return locks.Site{}, false
}

// threadSetKey names a set of threads, whatever their order.
func threadSetKey(tids []int) string {
	s := append([]int(nil), tids...)
	sort.Ints(s)
	b := make([]byte, 0, 8*len(s))
	for _, t := range s {
		b = append(b, byte(t>>24), byte(t>>16), byte(t>>8), byte(t))
	}
	return string(b)
}

// retrying says whether thread o waits with a timeout, blocked, and makes
// the wait again in a while loop of its own code (locks.Analysis.RetryLoop):
// a feeder that retries to take what the waiter holds stays behind it for
// as long as the loop goes on. Its RetryLoop has no hold.
func retrying(a *locks.Analysis, o *snapshot.Thread) (RetryLoop, bool) {
	w := a.Waits[o.TID]
	if w == nil || !w.Timed() || o.State != snapshot.StateBlocked || w.Object == "" {
		return RetryLoop{}, false
	}
	loop, _, ok := a.RetryLoop(o.TID)
	return RetryLoop{Thread: o.TID, Loop: loop}, ok
}
