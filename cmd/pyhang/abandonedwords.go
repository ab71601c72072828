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
	obj := w.shortRef(d.Object)
	n := len(d.Waiters)
	who := threadsWait(n)
	if n == 1 {
		who = w.threadName(d.Waiters[0].Thread) + " waits"
	}
	gone := "no thread left can end it"
	if d.Reason == heuristics.ReasonNoReference {
		gone = "no thread that refers to it can run"
	}
	if ended := w.endedNames(d.Ended); ended != "" {
		gone += fmt.Sprintf(" (%s ended)", ended)
	}
	switch d.What {
	case heuristics.WhatQueueJoin:
		unfinished := 0
		if d.Unfinished != nil {
			unfinished = *d.Unfinished
		}
		head := "abandoned wait"
		if d.Reason == heuristics.ReasonNoReference {
			head = "probably abandoned wait"
		}
		return fmt.Sprintf("%s: %s in join() on queue %s for %s never marked done, and %s — call task_done() in a finally: block, so that a task that fails still counts, and keep a consumer alive while tasks remain",
			head, who, obj, plural(unfinished, "task"), gone)
	case heuristics.WhatBarrier:
		missing := "the missing one"
		if d.Missing > 1 {
			missing = fmt.Sprintf("the %d missing", d.Missing)
		}
		return fmt.Sprintf("abandoned wait: %d of the %d parties of barrier %s wait, and %s can never come: %s — give wait() a timeout, or call abort() on the barrier when a party fails",
			d.Waiting, d.Parties, obj, missing, gone)
	}
	return fmt.Sprintf("abandoned wait: %s on %s, and %s", who, obj, gone)
}

func (w *words) abandonedEvidence(d *heuristics.AbandonedWaitDetails) []string {
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
	case heuristics.WhatBarrier:
		out = append(out, fmt.Sprintf("%s needs %d parties; %d wait at it", w.ref(d.Object), d.Parties, d.Waiting))
	}
	for _, g := range w.groupWaits(d.Waiters) {
		verb := "waits"
		if len(g.tids) > 1 {
			verb = "wait"
		}
		out = append(out, fmt.Sprintf("%s %s at %s, without a timeout", w.threadList(g.tids), verb, g.at))
	}
	switch d.Reason {
	case heuristics.ReasonNoOtherThread:
		out = append(out, "no other thread is left")
	case heuristics.ReasonOthersBlocked:
		out = append(out, "no other thread can ever run: each waits forever itself")
	case heuristics.ReasonNoReference:
		var tids []int
		for _, p := range d.Others {
			if p.CanRun && !p.Refers {
				tids = append(tids, p.Thread)
			}
		}
		out = append(out, fmt.Sprintf("only %s can still run, and no frame of theirs refers to it and it is no module global: they could end the wait only through a reference pyhang does not see", w.threadList(tids)))
	}
	for _, e := range d.Ended {
		out = append(out, fmt.Sprintf("thread %q (%s) has ended: if it was meant to end the wait, it is gone", w.esc(e.Name), e.Object))
	}
	var rest []heuristics.ThreadWait
	for _, p := range d.Others {
		if p.Waits != nil {
			rest = append(rest, *p.Waits)
		}
	}
	for _, g := range w.groupWaits(rest) {
		verb := "waits"
		if len(g.tids) > 1 {
			verb = "wait"
		}
		out = append(out, fmt.Sprintf("%s %s for %s at %s%s, forever", w.threadList(g.tids), verb, w.ref(g.waits), g.at, w.heldBy(g.waits)))
	}
	return out
}
