package heuristics

import (
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// AbandonedWait is a wait whose other party is gone: the threads that were
// to end it have ended (or, for a process, died), and no thread left can
// end it. No lock is involved and nothing is held: the waiters simply wait
// for someone who will never come.
const AbandonedWait Kind = "abandoned-wait"

// What an abandoned wait waits for.
const (
	// WhatQueueJoin: Queue.join() with unfinished tasks that no living
	// thread will mark done.
	WhatQueueJoin = "queue-join"
	// WhatBarrier: Barrier.wait() with parties missing that no living
	// thread can make up.
	WhatBarrier = "barrier"
	// WhatQueuePut: put() on a full bounded queue that no living thread
	// will take from.
	WhatQueuePut = "queue-put"
	// WhatEvent: Event.wait() on an event that is not set, and that no
	// living thread will set.
	WhatEvent = "event"
)

// AbandonedWaitDetails says what the waiters wait for and who is missing.
type AbandonedWaitDetails struct {
	// StackLost is set when a core lost some threads' outer frames: the
	// call that would end the wait may stand in them, behind what a
	// waiter holds (a lockout pyhang cannot see). The wait still never
	// ends; why is less sure.
	StackLost bool         `json:"stack_lost,omitempty"`
	What      string       `json:"what"`
	Object    locks.Ref    `json:"object"`
	Waiters   []ThreadWait `json:"waiters"`
	// Unfinished and Queued: a queue's unfinished tasks and the items still
	// in it (queue-join, queue-put); Maxsize its bound (queue-put).
	Unfinished *int `json:"unfinished_tasks,omitempty"`
	Queued     *int `json:"queued,omitempty"`
	Maxsize    *int `json:"maxsize,omitempty"`
	// Parties, Waiting: a barrier's size and how many wait at it; Missing
	// how many never came (barrier).
	Parties int `json:"parties,omitempty"`
	Waiting int `json:"waiting,omitempty"`
	Missing int `json:"missing,omitempty"`
	// Reason is why no thread can end the wait: no-other-thread,
	// others-blocked, or no-reference (a warning: threads that can run have
	// no visible reference to the object).
	Reason string `json:"reason"`
	// Others are the other threads, with what each waits for.
	Others []Producer `json:"others,omitempty"`
	// Ended are Thread objects the frames refer to whose threads have
	// ended: the threads meant to end the wait are among them.
	Ended []EndedThread `json:"ended,omitempty"`
	// Task is the Pool job whose result waits (lost-task).
	Task *PoolTask `json:"task,omitempty"`
	// Processes are the worker processes that could have ended the wait,
	// and what became of each (lost-task, mp-queue): the dead ones are named
	// where the kernel or the Process object still tells.
	Processes []ProcessFate `json:"processes,omitempty"`
	// Lockouts are waiters whose would-be ender waits for what they hold
	// while they wait (feeddeadlock.go).
	Lockouts []Lockout `json:"lockouts,omitempty"`
	// Ready and ReadyCallbacks are an asleep loop's callbacks ready to run,
	// and the names of the first of them (loop-asleep).
	Ready          *int     `json:"ready,omitempty"`
	ReadyCallbacks []string `json:"ready_callbacks,omitempty"`
	// OwnLoop is set when the one waiter runs an event loop, and a
	// suspended task of that loop would end the wait (these calls): the
	// blocking wait on the loop's thread keeps the task from ever running.
	OwnLoop []locks.Site `json:"own_loop_enders,omitempty"`
	// Consequence is true when a deadlock or orphaned lock found with it
	// keeps the threads that would end the wait blocked (the finding is
	// then info).
	Consequence bool `json:"consequence,omitempty"`
}

// abandonedWaits finds queue joins, puts to full queues, events and
// barriers nobody left can end. live says which threads can run (proven); likely which can
// if only the threads that refer to an object act on it.
func abandonedWaits(s *snapshot.Snapshot, a *locks.Analysis, live, likely map[int]bool) []Finding {
	byObject, puts := map[string][]int{}, map[string][]int{}
	for i := range s.Threads {
		t := &s.Threads[i]
		w := a.Waits[t.TID]
		if !stuckForever(t, w) || w.Object == "" {
			continue
		}
		ob := s.Objects[w.Object]
		if ob == nil {
			continue
		}
		switch {
		case ob.Kind == snapshot.KindQueue && w.Call == "put" && full(ob):
			puts[ob.ID] = append(puts[ob.ID], t.TID)
			continue
		case ob.Kind == snapshot.KindQueue && w.Call == "join" && ob.Unfinished != nil && *ob.Unfinished > 0:
		case ob.Kind == snapshot.KindEvent && w.Call == "wait" && ob.Value == "False":
		case ob.Kind == snapshot.KindBarrier && ob.Barrier != nil && ob.Barrier.State == "filling" && ob.Barrier.Waiting < ob.Barrier.Parties:
		default:
			continue
		}
		byObject[ob.ID] = append(byObject[ob.ID], t.TID)
	}
	out := eachObject(s, byObject, func(ob *snapshot.Object, waiters []int) (Finding, bool) {
		return abandonedOn(s, a, live, likely, ob, waiters, "")
	})
	return append(out, eachObject(s, puts, func(ob *snapshot.Object, waiters []int) (Finding, bool) {
		return abandonedOn(s, a, live, likely, ob, waiters, WhatQueuePut)
	})...)
}

// endCalls are the calls that end a wait in join() on a queue, on an event
// or at a barrier.
var endCalls = map[string][]string{
	snapshot.KindQueue:   {"task_done"},
	snapshot.KindEvent:   {"set"},
	snapshot.KindBarrier: {"wait"},
}

// full reports whether a bounded queue holds as many items as it may.
func full(q *snapshot.Object) bool {
	return q.Maxsize != nil && *q.Maxsize > 0 && q.Len != nil && *q.Len >= *q.Maxsize
}

func abandonedOn(s *snapshot.Snapshot, a *locks.Analysis, live, likely map[int]bool, ob *snapshot.Object, waiters []int, what string) (Finding, bool) {
	sort.Ints(waiters)
	enders := endCalls[ob.Kind]
	if what == WhatQueuePut {
		enders = []string{"get", "get_nowait"}
	}
	others, canRun, ok := othersOf(s, a, live, likely, ob, waiters, func(t *snapshot.Thread, p *Producer) {
		p.Puts = a.CallsIn(t.TID, ob, enders...)
	})
	if !ok {
		return Finding{}, false // a thread that can run may still end it
	}
	d := &AbandonedWaitDetails{Object: locks.RefOf(ob), Others: others, Ended: endedThreads(s)}
	switch {
	case what == WhatQueuePut:
		d.What, d.Queued, d.Maxsize = WhatQueuePut, ob.Len, ob.Maxsize
	case ob.Kind == snapshot.KindQueue:
		d.What, d.Unfinished, d.Queued = WhatQueueJoin, ob.Unfinished, ob.Len
	case ob.Kind == snapshot.KindEvent:
		d.What = WhatEvent
	case ob.Kind == snapshot.KindBarrier:
		d.What, d.Parties, d.Waiting = WhatBarrier, ob.Barrier.Parties, ob.Barrier.Waiting
		d.Missing = d.Parties - d.Waiting
	}
	var severity Severity
	d.Reason, severity = noEnder(s, canRun, others)
	if d.Reason == ReasonMainSleeps && mainMayAct(a, s) {
		return Finding{}, false // a handler on the sleeping main thread may end it
	}
	if handlerMayEnd(s, a, ob, enders) {
		return Finding{}, false // a signal handler the program installs may end it
	}
	if ob.Kind == snapshot.KindEvent && severity != Error {
		// Events are set from what pyhang sees least: timers' callbacks,
		// signal handlers, objects of other modules; a park on an event
		// nobody is meant to set is an idiom. Only a proven one is said.
		return Finding{}, false
	}
	f := abandonedFinding(a, d, ob, waiters)
	f.Severity = severity
	d.StackLost = stackLost(s) && len(d.Lockouts) == 0
	if len(waiters) == 1 && severity == Error {
		d.OwnLoop = a.SuspendedTaskCallsIn(waiters[0], ob, enders...)
	}
	return f, true
}
