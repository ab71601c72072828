package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
)

// generatorName is "cached_rows()", the generator's function, or its id.
func (w *words) generatorName(id string) string {
	ob := w.snap.Objects[id]
	if ob == nil || ob.Generator == nil || len(ob.Generator.Frames) == 0 {
		return id
	}
	return w.esc(ob.Generator.Frames[0].Qualname) + "()"
}

// generatorAt is where a suspended generator stands: its own frame's line,
// and the innermost one's when it delegates with yield from.
func (w *words) generatorAt(id string) string {
	ob := w.snap.Objects[id]
	if ob == nil || ob.Generator == nil || len(ob.Generator.Frames) == 0 {
		return "?"
	}
	fs := ob.Generator.Frames
	at := w.esc(filepath.Base(fs[0].File)) + ":" + strconv.Itoa(fs[0].Line)
	if n := len(fs); n > 1 {
		at += fmt.Sprintf(" (in yield from, down to %s at %s:%d)", w.esc(fs[n-1].Qualname), w.esc(filepath.Base(fs[n-1].File)), fs[n-1].Line)
	}
	return at
}

// generatorFact is the evidence of a lock held through a generator that
// only the thread can resume (locks.BasisGeneratorFrame).
func (w *words) generatorFact(e locks.Evidence) string {
	return fmt.Sprintf("in the generator %s (%s) that its local %s holds, suspended at %s inside the %s; the generator's reference count, %d, is that of the locals of this thread holding it, so nothing else can resume or close it",
		w.generatorName(e.Generator), e.Generator, w.esc(e.Local), w.generatorAt(e.Generator),
		w.fact(locks.Evidence{Basis: locks.BasisWith, At: e.At, Enclosing: e.Enclosing}), e.Refcount)
}

// generatorDeadlock is the summary of a thread waiting for a lock that its
// own suspended generator holds.
func (w *words) generatorDeadlock(d *heuristics.DeadlockDetails) (string, bool) {
	if len(d.Cycle) != 1 {
		return "", false
	}
	st := d.Cycle[0]
	for _, h := range st.HeldBy {
		for _, e := range h.Evidence {
			if e.Basis == locks.BasisGeneratorFrame && h.Thread == st.Thread {
				return fmt.Sprintf("deadlock: %s waits for %s, which its own generator %s holds, suspended inside a with block of it — exhaust or close() the generator before taking the lock again, or do not yield while holding the lock",
					w.threadName(st.Thread), w.shortRef(st.Waits), w.generatorName(e.Generator)), true
			}
		}
	}
	return "", false
}

// generatorOrphanSummary: a lock held by a suspended generator no thread
// runs (heuristics.CauseSuspendedGenerator).
func (w *words) generatorOrphanSummary(d *heuristics.OrphanedLockDetails) string {
	var gens []string
	for _, g := range d.Generators {
		gens = append(gens, "the generator "+w.generatorName(g.Generator.ID))
	}
	return fmt.Sprintf("lock held by a suspended generator: %s is held by %s, which no thread is running, and %d thread(s) wait for it — it is released only when the generator is resumed to the end of its with block or closed: close() it when done with it (or iterate it in a with contextlib.closing()), and do not yield while holding a lock other threads take",
		w.shortRef(d.Lock), strings.Join(gens, " and "), len(d.Waiters))
}

// generatorOrphanEvidence says where each generator stands and who can
// reach it.
func (w *words) generatorOrphanEvidence(d *heuristics.OrphanedLockDetails) []string {
	var out []string
	for _, g := range d.Generators {
		line := fmt.Sprintf("the generator %s (%s) is suspended at %s, %s", w.generatorName(g.Generator.ID), g.Generator.ID,
			w.generatorAt(g.Generator.ID), w.evidence(g.Evidence))
		var refs []string
		if g.Global != "" {
			refs = append(refs, "the global "+w.esc(g.Global))
		}
		found := 0
		for _, r := range g.Refs {
			if r.Stack {
				refs = append(refs, fmt.Sprintf("the value stack of %s in %s (a for loop's iterator, or a value left from an earlier instruction)", w.threadLabel(r.Thread), w.frameFunc(r.Thread, r.Frame)))
				continue
			}
			found++
			refs = append(refs, fmt.Sprintf("the local %s of %s in %s", w.esc(r.Local), w.threadLabel(r.Thread), w.frameFunc(r.Thread, r.Frame)))
		}
		if len(refs) > 0 {
			line += "; it is held by " + strings.Join(refs, " and ")
		}
		if g.Global != "" {
			found++
		}
		if g.Refcount != nil && *g.Refcount > int64(found) {
			line += fmt.Sprintf("; its reference count is %d, of which %d are locals and globals named here (the others may be on a value stack, in an object's attribute or in a container)", *g.Refcount, found)
		}
		out = append(out, line)
		for _, r := range g.Refs {
			if r.Stack && slices.ContainsFunc(d.Waiters, func(tw heuristics.ThreadWait) bool { return tw.Thread == r.Thread }) {
				out = append(out, fmt.Sprintf("%s waits for the lock with the generator on its own value stack, most likely as the iterator of a for loop whose body takes the lock: it cannot resume the generator while it waits", w.threadLabel(r.Thread)))
				break
			}
		}
	}
	return out
}
