package waitgraph

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// BuildAll makes one wait-for graph of a family of processes: each
// process's analysis (its resources named "pid N/…", since forked processes
// share addresses), joined by the waits of threads on other processes: a
// thread waiting for a child, or reading a pipe, → that process (or pipe) →
// the main threads of the processes that alone can end the wait. Thread ids
// are the kernel's, unique across the processes.
func BuildAll(parts []*locks.Analysis, cross []locks.CrossWait) *Graph {
	return BuildAllInferred(parts, nil, cross)
}

// BuildAllInferred is BuildAll with each process's inferred edges (inf,
// by the index of its part) added.
func BuildAllInferred(parts []*locks.Analysis, inf [][]Inferred, cross []locks.CrossWait) *Graph {
	inferredOf := func(i int) []Inferred {
		if i < len(inf) {
			return inf[i]
		}
		return nil
	}
	if len(parts) == 1 && len(cross) == 0 {
		return BuildInferred(nil, parts[0], inferredOf(0))
	}
	b := newBuilder(nil)
	b.objects = map[string]*snapshot.Object{}
	var names []string
	for i, a := range parts {
		if a == nil || a.Snap == nil {
			continue
		}
		s := a.Snap
		b.prefix = fmt.Sprintf("pid %d/", s.Target.PID)
		b.index(s)
		b.snap = s
		for id, ob := range s.Objects {
			b.objects[b.prefix+id] = ob
		}
		for id, ob := range a.Extra {
			b.objects[b.prefix+id] = ob
		}
		b.collect(a)
		b.inferred(inferredOf(i))
		names = append(names, targetName(s.Target))
	}
	b.prefix = ""
	for _, w := range cross {
		id := b.addRes(w.Waits)
		if id == "" {
			continue
		}
		waiter := actor{tid: w.Thread}
		b.add(waiter)
		b.edges = append(b.edges, pendingEdge{from: waiter, to: id, kind: EdgeWaits, label: EdgeWaits.String()})
		for _, on := range w.On {
			by := actor{tid: on}
			b.add(by)
			b.edges = append(b.edges, pendingEdge{from: by, to: id, kind: EdgeEndedBy, label: EdgeEndedBy.String(), reverse: true})
		}
	}
	if len(names) > 0 {
		b.target = clean(strings.Join(names, "; "), 4*maxName)
	}
	return b.finish()
}
