// Package heuristics turns waits, holds and the wait-for graph into findings:
// what is wrong, with the threads and objects involved and the evidence.
package heuristics

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// Finding kinds.
const (
	Deadlock     = "deadlock"
	OrphanedLock = "orphaned-lock"
	AllBlocked   = "all-blocked"
)

// Finding is one problem, as in the JSON contract.
type Finding struct {
	Kind     string   `json:"kind"`
	Severity string   `json:"severity"` // error|warning|info
	Summary  string   `json:"summary"`
	Threads  []int    `json:"threads"`
	Objects  []string `json:"objects"`
	// Details are the evidence, one sentence each.
	Details []string `json:"details,omitempty"`
}

// Find runs every heuristic.
func Find(s *snapshot.Snapshot, a *locks.Analysis, g *waitgraph.Graph) []Finding {
	var out []Finding
	out = append(out, deadlocks(s, a, g)...)
	out = append(out, orphanedLocks(s, a)...)
	if f, ok := allBlocked(s, a); ok {
		if len(out) > 0 {
			// The deadlock or orphaned lock above is the cause; this only
			// adds that nothing else can run either.
			f.Severity = "info"
			f.Summary = fmt.Sprintf("every one of the %d threads is blocked as a result: the process can never make progress", len(f.Threads))
		}
		out = append(out, f)
	}
	return out
}

func threadByTID(s *snapshot.Snapshot, tid int) *snapshot.Thread {
	for i := range s.Threads {
		if s.Threads[i].TID == tid {
			return &s.Threads[i]
		}
	}
	return nil
}

// ThreadLabel names a thread the way reports do: "posting" (tid 4355).
func ThreadLabel(t *snapshot.Thread) string {
	if t == nil {
		return "?"
	}
	if t.Name != "" {
		return fmt.Sprintf("%q (tid %d)", t.Name, t.TID)
	}
	return fmt.Sprintf("tid %d", t.TID)
}

// RefLabel names a resource: "lock ledger (lock@0x7f…)".
func RefLabel(r locks.Ref) string {
	if r.Name != nil {
		return fmt.Sprintf("%s %s (%s)", r.Kind, *r.Name, r.ID)
	}
	return fmt.Sprintf("%s %s", r.Kind, r.ID)
}

func frameAt(t *snapshot.Thread, i int) string {
	if t == nil || i < 0 || i >= len(t.Frames) {
		return ""
	}
	f := &t.Frames[i]
	return fmt.Sprintf("%s:%d in %s", filepath.Base(f.File), f.Line, f.Qualname)
}

func deadlocks(s *snapshot.Snapshot, a *locks.Analysis, g *waitgraph.Graph) []Finding {
	var out []Finding
	for _, c := range g.Cycles() {
		f := Finding{Kind: Deadlock, Severity: "error", Threads: append([]int(nil), c.Threads...),
			Objects: append([]string(nil), c.Resources...)}
		var parts []string
		for _, tid := range c.Threads {
			t := threadByTID(s, tid)
			w := a.Waits[tid]
			if w == nil {
				continue
			}
			holders := a.Holders[w.ID]
			var hs []string
			for _, h := range holders {
				ht := threadByTID(s, h)
				ev := ""
				for _, hold := range a.Holds[h] {
					if hold.ID == w.ID {
						ev = hold.Evidence
					}
				}
				if w.Kind == snapshot.KindThread {
					hs = append(hs, fmt.Sprintf("which can only end when %s finishes", ThreadLabel(ht)))
				} else {
					hs = append(hs, fmt.Sprintf("held by %s (%s)", ThreadLabel(ht), ev))
				}
			}
			f.Details = append(f.Details, fmt.Sprintf("%s waits for %s at %s, %s",
				ThreadLabel(t), RefLabel(w.Ref), frameAt(t, w.Frame), strings.Join(hs, ", ")))
			parts = append(parts, fmt.Sprintf("%s waits for %s", shortThread(t), shortRef(w.Ref)))
		}
		if len(c.Threads) == 1 {
			f.Summary = fmt.Sprintf("deadlock: %s, which it already holds", parts[0])
		} else {
			f.Summary = fmt.Sprintf("deadlock between %d threads: %s", len(c.Threads), strings.Join(parts, "; "))
		}
		out = append(out, f)
	}
	return out
}

func shortThread(t *snapshot.Thread) string {
	if t == nil {
		return "?"
	}
	if t.Name != "" {
		return t.Name
	}
	return fmt.Sprintf("tid %d", t.TID)
}

func shortRef(r locks.Ref) string {
	if r.Name != nil {
		return *r.Name
	}
	return r.ID
}

// waitersOn returns the tids waiting on an object, sorted.
func waitersOn(a *locks.Analysis, id string) []int {
	var out []int
	for tid, w := range a.Waits {
		if w.Object == id || w.ID == id {
			out = append(out, tid)
		}
	}
	sort.Ints(out)
	return out
}

func orphanedLocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	ids := make([]string, 0)
	for id := range s.Objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Finding
	for _, id := range ids {
		ob := s.Objects[id]
		waiters := waitersOn(a, id)
		if len(waiters) == 0 || ob.Locked == nil || !*ob.Locked || len(a.Holders[id]) > 0 {
			continue
		}
		switch ob.Kind {
		case snapshot.KindLock:
			if probable := probableHolders(a, id); len(probable) > 0 {
				continue // a live thread may still release it: slow, not orphaned
			}
		case snapshot.KindRLock:
			// The owner field names a thread that no longer exists.
		default:
			continue
		}
		r := locks.Ref{Kind: ob.Kind, ID: id}
		name := id
		if n := nameOf(ob); n != "" {
			r.Name, name = &n, n
		}
		f := Finding{Kind: OrphanedLock, Severity: "error", Threads: waiters, Objects: []string{id}}
		f.Summary = fmt.Sprintf("orphaned lock: %s is locked, %d thread(s) wait for it, and no live thread holds it", name, len(waiters))
		var acq []string
		for _, st := range a.BareSites[id] {
			if st.Call == "acquire" {
				acq = append(acq, fmt.Sprintf("%s:%d in %s", filepath.Base(st.File), st.Line, st.Function))
			}
		}
		switch {
		case ob.Kind == snapshot.KindRLock:
			f.Details = append(f.Details, fmt.Sprintf("its RLock owner field names thread ident %#x, which is no longer running", ob.Owner))
		case len(acq) > 0:
			f.Details = append(f.Details, fmt.Sprintf("it was taken by a bare acquire() at %s whose release() never ran (no thread holds it in a with block, and none stands between that acquire() and its release())", strings.Join(acq, ", ")))
		default:
			// Without an acquire() site there is no code position to judge
			// a live holder by: say what is known, as a warning.
			f.Severity = "warning"
			f.Summary = fmt.Sprintf("possibly orphaned lock: %s is locked and %d thread(s) wait for it; no thread holds it in a with block, and pyhang found no acquire() of it to tell whether a live thread took it", name, len(waiters))
			f.Details = append(f.Details, "no acquire() of it was found in the source files of the stacks; the thread that took it may still be running")
		}
		for _, tid := range waiters {
			t := threadByTID(s, tid)
			f.Details = append(f.Details, fmt.Sprintf("%s waits for it at %s", ThreadLabel(t), frameAt(t, a.Waits[tid].Frame)))
		}
		out = append(out, f)
	}
	return out
}

func nameOf(ob *snapshot.Object) string {
	r := locksRef(ob)
	if r.Name != nil {
		return *r.Name
	}
	return ""
}

func locksRef(ob *snapshot.Object) locks.Ref { return locks.RefOf(ob) }

func probableHolders(a *locks.Analysis, id string) []int {
	var out []int
	for tid, hs := range a.Holds {
		for _, h := range hs {
			if h.ID == id && h.Probable {
				out = append(out, tid)
			}
		}
	}
	sort.Ints(out)
	return out
}

// inProcess are the wait kinds only another thread of the process can end.
var inProcess = map[string]bool{
	snapshot.KindLock: true, snapshot.KindRLock: true, snapshot.KindCondition: true, snapshot.KindQueue: true,
	snapshot.KindEvent: true, snapshot.KindSemaphore: true, snapshot.KindThread: true, snapshot.KindFuture: true,
}

// allBlocked: every thread waits, without a timeout, on something only
// another thread of the process could release — and every one of them is
// waiting too. Nothing can ever run again.
func allBlocked(s *snapshot.Snapshot, a *locks.Analysis) (Finding, bool) {
	if len(s.Threads) == 0 {
		return Finding{}, false
	}
	var tids []int
	for i := range s.Threads {
		t := &s.Threads[i]
		w := a.Waits[t.TID]
		if w == nil || !inProcess[w.Kind] || t.State != snapshot.StateBlocked || (t.Kernel != nil && t.Kernel.Timed) {
			return Finding{}, false
		}
		tids = append(tids, t.TID)
	}
	sort.Ints(tids)
	f := Finding{Kind: AllBlocked, Severity: "error", Threads: tids, Objects: []string{},
		Summary: fmt.Sprintf("all %d threads are blocked, without a timeout, on locks, conditions, queues or joins that only another of these threads could release: the process can never make progress", len(tids))}
	seen := map[string]bool{}
	for i := range s.Threads {
		t := &s.Threads[i]
		w := a.Waits[t.TID]
		if !seen[w.ID] {
			seen[w.ID] = true
			f.Objects = append(f.Objects, w.ID)
		}
		f.Details = append(f.Details, fmt.Sprintf("%s waits for %s at %s", ThreadLabel(t), RefLabel(w.Ref), frameAt(t, w.Frame)))
	}
	sort.Strings(f.Objects)
	return f, true
}
