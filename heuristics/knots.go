package heuristics

import "slices"

// A wait for a semaphore whose units several threads hold ends when any
// one of them lets a unit go. A cycle through one of those holders is then
// no deadlock by itself: the others may still give theirs back. Only when
// every holder is in such a cycle (a knot) can none of them ever move; the
// cycles are then one deadlock, reported once, with all their threads.

// knots merges, among the deadlocks found from the graph's cycles, those
// that pass through the same wait with several holders into one finding
// when every holder is in one of them; otherwise they are warnings.
func knots(fs []Finding) []Finding {
	type stepKey struct {
		thread int
		res    string
	}
	groups := map[stepKey][]int{} // a wait with several holders → findings through it
	var order []stepKey
	for i, f := range fs {
		d, ok := f.Details.(*DeadlockDetails)
		if !ok || len(f.Tasks) > 0 {
			continue
		}
		for _, st := range d.Cycle {
			if len(st.HeldBy) < 2 {
				continue
			}
			k := stepKey{st.Thread, st.Waits.ID}
			if groups[k] == nil {
				order = append(order, k)
			}
			groups[k] = append(groups[k], i)
		}
	}
	if len(order) == 0 {
		return fs
	}
	drop := map[int]bool{}
	var merged []Finding
	for _, k := range order {
		idx := groups[k]
		if drop[idx[0]] {
			continue // merged already, through another such wait
		}
		in := map[int]bool{}
		for _, i := range idx {
			for _, tid := range fs[i].Threads {
				in[tid] = true
			}
		}
		var holders []Holder
		for _, st := range fs[idx[0]].Details.(*DeadlockDetails).Cycle {
			if st.Thread == k.thread && st.Waits.ID == k.res {
				holders = st.HeldBy
			}
		}
		knot := true
		for _, h := range holders {
			if h.Task != "" || !in[h.Thread] {
				knot = false
			}
		}
		if !knot {
			for _, i := range idx {
				fs[i].Severity = Warning
				d := fs[i].Details.(*DeadlockDetails)
				for _, h := range holders {
					if !slices.Contains(fs[i].Threads, h.Thread) && !slices.Contains(d.OtherHolders, h.Thread) {
						d.OtherHolders = append(d.OtherHolders, h.Thread)
					}
				}
			}
			continue
		}
		m := mergeCycles(fs, idx)
		for _, i := range idx {
			drop[i] = true
		}
		merged = append(merged, m)
	}
	var out []Finding
	for i, f := range fs {
		if !drop[i] {
			out = append(out, f)
		}
	}
	return append(out, merged...)
}

// mergeCycles is one finding of the cycles fs[idx]: their threads, objects
// and steps, each once, in the order first seen.
func mergeCycles(fs []Finding, idx []int) Finding {
	first := fs[idx[0]]
	d := &DeadlockDetails{}
	m := Finding{Kind: Deadlock, Severity: first.Severity, Threads: []int{}, Details: d}
	seen := map[int]bool{}
	for _, i := range idx {
		if fs[i].Severity == Warning {
			m.Severity = Warning
		}
		for _, o := range fs[i].Objects {
			if !contains(m.Objects, o) {
				m.Objects = append(m.Objects, o)
			}
		}
		for _, st := range fs[i].Details.(*DeadlockDetails).Cycle {
			if !seen[st.Thread] {
				seen[st.Thread] = true
				m.Threads = append(m.Threads, st.Thread)
				d.Cycle = append(d.Cycle, st)
			}
		}
	}
	return m
}
