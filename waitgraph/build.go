package waitgraph

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/gonum/graph/simple"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Build makes the wait-for graph of an analysis. s supplies thread names and
// frames for the labels; when nil, a.Snap is used; both may be nil (labels then
// carry tids only). A nil analysis gives an empty graph.
//
// Nodes: every thread that waits on or holds something, every thread named in
// a Wait.On or in Holders, and every resource waited on or held. Edges:
// thread → resource for each wait; resource → thread for each hold (proven or
// probable); resource → each Wait.On thread for joins, and for waits on a
// resource that has no proven holder (the threads that alone can end them).
func Build(s *snapshot.Snapshot, a *locks.Analysis) *Graph {
	if s == nil && a != nil {
		s = a.Snap
	}
	b := newBuilder(s)
	if a != nil {
		b.collect(a)
	}
	return b.finish()
}

type pendingEdge struct {
	from    int // thread tid
	to      string
	kind    EdgeKind
	label   string
	reverse bool // resource(to) → thread(from) instead of thread → resource
}

type builder struct {
	threads map[int]*snapshot.Thread // from the snapshot
	tids    map[int]bool             // threads in the graph
	waitFr  map[int]int              // tid → Wait.Frame, for the label
	res     map[string]locks.Ref
	objects map[string]*snapshot.Object
	edges   []pendingEdge
	target  string
}

func newBuilder(s *snapshot.Snapshot) *builder {
	b := &builder{
		threads: map[int]*snapshot.Thread{},
		tids:    map[int]bool{},
		waitFr:  map[int]int{},
		res:     map[string]locks.Ref{},
	}
	if s != nil {
		for i := range s.Threads {
			t := &s.Threads[i]
			if _, dup := b.threads[t.TID]; !dup {
				b.threads[t.TID] = t
			}
		}
		b.objects = s.Objects
		b.target = targetName(s.Target)
	}
	return b
}

// targetName is "pid 4321, Python 3.12.1" or "core.4321, Python 3.12.1".
func targetName(t snapshot.TargetInfo) string {
	var name string
	switch {
	case t.Core != nil && *t.Core != "":
		name = clean(filepath.Base(*t.Core), maxName)
	case t.PID > 0:
		name = fmt.Sprintf("pid %d", t.PID)
	}
	if t.Python != "" {
		if name != "" {
			name += ", "
		}
		name += "Python " + clean(t.Python, 16)
	}
	return name
}

// refID is the node key of a resource; a Ref without an id falls back on its
// kind ("gil"), and one with neither is dropped.
func refID(r locks.Ref) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Kind
}

// addRes records a resource, keeping the first non-empty kind and name seen.
func (b *builder) addRes(r locks.Ref) string {
	id := refID(r)
	if id == "" {
		return ""
	}
	old, ok := b.res[id]
	if !ok {
		r.ID = id
		b.res[id] = r
		return id
	}
	if old.Name == nil {
		old.Name = r.Name
	}
	if old.Kind == "" {
		old.Kind = r.Kind
	}
	b.res[id] = old
	return id
}

func sortedTIDs[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// collect walks the analysis in tid order so that the first-seen choices
// (resource names, edge labels) do not depend on map order.
func (b *builder) collect(a *locks.Analysis) {
	proven := map[string]bool{} // resources with a proven holder
	for _, tid := range sortedTIDs(a.Holds) {
		for _, h := range a.Holds[tid] {
			id := b.addRes(h.Ref)
			if id == "" {
				continue
			}
			b.tids[tid] = true
			kind := EdgeHeld
			if h.Probable {
				kind = EdgeProbable
			} else {
				proven[id] = true
			}
			b.edges = append(b.edges, pendingEdge{from: tid, to: id, kind: kind, label: holdLabel(kind, h.Evidence), reverse: true})
		}
	}
	for _, id := range sortedKeys(a.Holders) {
		if len(a.Holders[id]) == 0 {
			continue
		}
		if b.addRes(locks.Ref{ID: id}) == "" {
			continue
		}
		proven[id] = true
		for _, tid := range a.Holders[id] {
			b.tids[tid] = true
			b.edges = append(b.edges, pendingEdge{from: tid, to: id, kind: EdgeHeld, label: EdgeHeld.String(), reverse: true})
		}
	}
	for _, tid := range sortedTIDs(a.Waits) {
		w := a.Waits[tid]
		if w == nil {
			continue
		}
		id := b.addRes(w.Ref)
		if id == "" {
			continue
		}
		b.tids[tid] = true
		b.waitFr[tid] = w.Frame
		b.edges = append(b.edges, pendingEdge{from: tid, to: id, kind: EdgeWaits, label: waitLabel(w.Evidence)})
	}
	// On edges come last: they need to know every proven holder.
	for _, tid := range sortedTIDs(a.Waits) {
		w := a.Waits[tid]
		if w == nil || len(w.On) == 0 {
			continue
		}
		for _, on := range w.On {
			b.tids[on] = true
		}
		id := refID(w.Ref)
		if id == "" || (w.Kind != snapshot.KindThread && proven[id]) {
			continue
		}
		for _, on := range w.On {
			b.edges = append(b.edges, pendingEdge{from: on, to: id, kind: EdgeEndedBy, label: EdgeEndedBy.String(), reverse: true})
		}
	}
}

// rank orders the kinds of resource → thread edges when several claims name
// the same pair: a proven hold beats "ended by", which beats a probable hold.
func rank(k EdgeKind) int {
	switch k {
	case EdgeHeld:
		return 3
	case EdgeEndedBy:
		return 2
	case EdgeProbable:
		return 1
	}
	return 0
}

func (b *builder) finish() *Graph {
	g := &Graph{
		all:      simple.NewDirectedGraph(),
		blocking: simple.NewDirectedGraph(),
		byTID:    map[int]int64{},
		byRes:    map[string]int64{},
		target:   b.target,
	}
	for _, tid := range sortedTIDs(b.tids) {
		id := int64(len(g.nodes))
		g.byTID[tid] = id
		g.nodes = append(g.nodes, Node{ID: id, Kind: ThreadNode, TID: tid})
	}
	for _, rid := range sortedKeys(b.res) {
		id := int64(len(g.nodes))
		g.byRes[rid] = id
		r := b.res[rid]
		if at := strings.LastIndexByte(rid, '@'); r.Kind == "" && at > 0 {
			r.Kind = rid[:at] // known only from Holders: "thread@4356"
		}
		g.nodes = append(g.nodes, Node{ID: id, Kind: ResourceNode, Resource: r})
	}

	merged := map[[2]int64]Edge{}
	for _, pe := range b.edges {
		t, r := g.byTID[pe.from], g.byRes[pe.to]
		e := Edge{From: t, To: r, Kind: pe.kind, Label: pe.label}
		if pe.reverse {
			e.From, e.To = r, t
			// A joined thread does not "hold" its own thread object: the
			// join ends when it exits, and only then.
			if e.Kind == EdgeHeld && g.nodes[r].Resource.Kind == snapshot.KindThread {
				e.Kind, e.Label = EdgeEndedBy, EdgeEndedBy.String()
			}
		}
		key := [2]int64{e.From, e.To}
		if old, ok := merged[key]; ok && rank(old.Kind) >= rank(e.Kind) {
			if old.Kind == e.Kind && old.Label == e.Kind.String() && e.Label != old.Label {
				merged[key] = e // keep the more telling label (with-block line)
			}
			continue
		}
		merged[key] = e
	}
	for _, e := range merged {
		g.edges = append(g.edges, e)
	}
	sortEdges(g.edges)

	for _, n := range g.nodes {
		g.all.AddNode(simple.Node(n.ID))
		g.blocking.AddNode(simple.Node(n.ID))
	}
	out := make([]int, len(g.nodes)) // out-degree, for the "no holder" note
	for i, e := range g.edges {
		ge := gedge{from: simple.Node(e.From), to: simple.Node(e.To), index: i}
		g.all.SetEdge(ge)
		if e.Kind.Blocking() {
			g.blocking.SetEdge(ge)
		}
		out[e.From]++
	}
	for i := range g.nodes {
		n := &g.nodes[i]
		if n.Kind == ThreadNode {
			n.Label = threadLabel(n.TID, b.threads[n.TID], b.waitFr)
		} else {
			n.Label = resourceLabel(n.Resource, b.objects[n.Resource.ID], out[i] == 0)
		}
	}
	return g
}
