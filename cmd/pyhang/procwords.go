package main

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/snapshot"
)

// deadlockSummary words the deadlocks whose cure is not lock order: a cycle
// through a module's import lock.
func (w *words) deadlockSummary(d *heuristics.DeadlockDetails) (string, bool) {
	if p := d.Pool; p != nil {
		var names []string
		for _, tid := range p.Workers {
			names = append(names, w.threadName(tid))
		}
		size := ""
		if p.MaxWorkers > 0 {
			size = fmt.Sprintf(" (max_workers=%d, all started)", p.MaxWorkers)
		}
		return fmt.Sprintf("deadlock in a thread pool: every worker of %s (%s) waits for a task queued on that same pool, which has no free worker to run it%s — do not wait inside a task for another task of its own pool: submit it to another pool, or wait for it outside the pool",
			w.poolName(p), strings.Join(names, ", "), size), true
	}
	var parts []string
	imports := false
	for _, st := range d.Cycle {
		if st.Waits.Kind == snapshot.KindModuleLock {
			imports = true
			parts = append(parts, fmt.Sprintf("%s waits to import %s, which %s is importing", w.threadName(st.Thread), w.shortRef(st.Waits), w.holders(st.HeldBy)))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s waits for %s", w.threadName(st.Thread), w.shortRef(st.Waits)))
	}
	if imports {
		return fmt.Sprintf("deadlock through an import lock: %s — do not wait, at import time, for a thread that imports the module: start the thread after the import, from a function the importer calls",
			strings.Join(parts, "; ")), true
	}
	return "", false
}

// holders is "MainThread", "MainThread and worker".
func (w *words) holders(hs []heuristics.Holder) string {
	var names []string
	for _, h := range hs {
		names = append(names, w.threadName(h.Thread))
	}
	if len(names) == 0 {
		return "a thread pyhang does not see"
	}
	return strings.Join(names, " and ")
}

// poolName is the executor's name, else its work queue's.
func (w *words) poolName(p *heuristics.PoolDeadlock) string {
	if p.Executor != nil && p.Executor.Name != nil {
		return "executor " + w.esc(*p.Executor.Name)
	}
	if p.Executor != nil {
		return "executor " + p.Executor.ID
	}
	return "the executor of work queue " + p.WorkQueue.ID
}

// poolEvidence lists the facts of an executor's self-deadlock.
func (w *words) poolEvidence(d *heuristics.DeadlockDetails) []string {
	p := d.Pool
	var out []string
	for _, st := range d.Cycle {
		out = append(out, fmt.Sprintf("%s waits for %s at %s; it is queued on its own pool, not running", w.threadLabel(st.Thread), w.ref(st.Waits), w.frameAt(st.Thread, st.Frame)))
	}
	s := fmt.Sprintf("%d work item(s) wait in the pool's queue %s", p.Queued, p.WorkQueue.ID)
	if p.MaxWorkers > 0 {
		s += fmt.Sprintf("; the executor has max_workers=%d and has started %d worker(s), all of them waiting above", p.MaxWorkers, p.Started)
	} else {
		s += "; the executor was not found, but no thread outside the pool can run to submit more work"
	}
	return append(out, s)
}
