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
// Nodes: every thread and asyncio task that waits on or holds something,
// every thread or task named in a Wait.On, Wait.OnTasks or in Holders, and
// every resource waited on or held. Edges: actor → resource for each wait;
// resource → actor for each hold (proven or probable); resource → each
// Wait.On thread or OnTasks task for joins and awaited tasks, and for waits
// on a resource that has no proven holder (the actors that alone can end
// them); task → loop → thread when the thread running the tasks' loop is
// itself blocked (see loops).
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

// Inferred is an edge no lock analysis holds, which a finding inferred: the
// thread whose code would end a wait on the resource (a put(), notify() or
// set() ahead of it, basis feed-site). It is drawn as a probable hold.
type Inferred struct {
	Resource string // the resource's id
	Thread   int
	Evidence []locks.Evidence
}

// BuildInferred is Build with the inferred edges added: the graph a
// picture draws once the findings are known.
func BuildInferred(s *snapshot.Snapshot, a *locks.Analysis, inf []Inferred) *Graph {
	if s == nil && a != nil {
		s = a.Snap
	}
	b := newBuilder(s)
	if a != nil {
		b.collect(a)
		b.inferred(inf)
	}
	return b.finish()
}

// inferred adds each inferred edge whose resource the graph has.
func (b *builder) inferred(inf []Inferred) {
	for _, e := range inf {
		id := b.prefix + e.Resource
		if _, ok := b.res[id]; !ok {
			continue
		}
		who := actor{tid: e.Thread}
		b.add(who)
		b.edges = append(b.edges, pendingEdge{from: who, to: id, kind: EdgeProbable, label: holdLabel(EdgeProbable, e.Evidence), reverse: true})
	}
}

// actor is a thread (tid) or an asyncio task (its id): what waits and holds.
type actor struct {
	tid  int
	task string
}

type pendingEdge struct {
	from    actor
	to      string
	kind    EdgeKind
	label   string
	reverse bool // resource(to) → actor(from) instead of actor → resource
}

type builder struct {
	snap    *snapshot.Snapshot
	threads map[int]*snapshot.Thread // from the snapshot
	tasks   map[string]*snapshot.Task
	tids    map[int]bool    // threads in the graph
	taskIDs map[string]bool // tasks in the graph
	waitFr  map[int]int     // tid → Wait.Frame, for the label
	taskFr  map[string]int  // task id → Wait.Frame
	res     map[string]locks.Ref
	objects map[string]*snapshot.Object
	edges   []pendingEdge
	target  string
	// prefix makes resource ids unique when the graph joins the analyses of
	// several processes (BuildAll), whose objects may share addresses.
	prefix string
}

func newBuilder(s *snapshot.Snapshot) *builder {
	b := &builder{
		snap:    s,
		threads: map[int]*snapshot.Thread{},
		tasks:   map[string]*snapshot.Task{},
		tids:    map[int]bool{},
		taskIDs: map[string]bool{},
		waitFr:  map[int]int{},
		taskFr:  map[string]int{},
		res:     map[string]locks.Ref{},
	}
	if s != nil {
		b.index(s)
		b.objects = s.Objects
		b.target = targetName(s.Target)
	}
	return b
}

// index makes the snapshot's threads and tasks known by id, for the labels;
// a thread id seen twice keeps its first thread.
func (b *builder) index(s *snapshot.Snapshot) {
	for i := range s.Threads {
		t := &s.Threads[i]
		if _, dup := b.threads[t.TID]; !dup {
			b.threads[t.TID] = t
		}
	}
	for i := range s.Tasks {
		b.tasks[s.Tasks[i].ID] = &s.Tasks[i]
	}
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
	id = b.prefix + id
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

// collect walks the analysis in tid order (then task id order) so that the
// first-seen choices (resource names, edge labels) do not depend on map order.
func (b *builder) collect(a *locks.Analysis) {
	proven := map[string]bool{} // resources with a proven holder
	hold := func(who actor, h locks.Hold) {
		id := b.addRes(h.Ref)
		if id == "" {
			return
		}
		b.add(who)
		kind := EdgeHeld
		if h.Probable {
			kind = EdgeProbable
		} else {
			proven[id] = true
		}
		b.edges = append(b.edges, pendingEdge{from: who, to: id, kind: kind, label: holdLabel(kind, h.Evidence), reverse: true})
	}
	for _, tid := range sortedTIDs(a.Holds) {
		for _, h := range a.Holds[tid] {
			hold(actor{tid: tid}, h)
		}
	}
	for _, id := range sortedKeys(a.TaskHolds) {
		for _, h := range a.TaskHolds[id] {
			hold(actor{task: id}, h)
		}
	}
	for _, id := range sortedKeys(a.Holders) {
		if len(a.Holders[id]) == 0 {
			continue
		}
		rid := b.addRes(locks.Ref{ID: id}) // with the process's prefix in a family's graph
		if rid == "" {
			continue
		}
		proven[rid] = true
		for _, tid := range a.Holders[id] {
			b.tids[tid] = true
			b.edges = append(b.edges, pendingEdge{from: actor{tid: tid}, to: rid, kind: EdgeHeld, label: EdgeHeld.String(), reverse: true})
		}
	}
	wait := func(who actor, w *locks.Wait) {
		id := b.addRes(w.Ref)
		if id == "" {
			return
		}
		b.add(who)
		if who.task != "" {
			b.taskFr[who.task] = w.Frame
		} else {
			b.waitFr[who.tid] = w.Frame
		}
		b.edges = append(b.edges, pendingEdge{from: who, to: id, kind: EdgeWaits, label: waitLabel(w.Evidence)})
	}
	for _, tid := range sortedTIDs(a.Waits) {
		if w := a.Waits[tid]; w != nil {
			wait(actor{tid: tid}, w)
		}
	}
	for _, id := range sortedKeys(a.TaskWaits) {
		if w := a.TaskWaits[id]; w != nil {
			wait(actor{task: id}, w)
		}
	}
	// On edges come last: they need to know every proven holder.
	endedBy := func(w *locks.Wait) {
		if w == nil || (len(w.On) == 0 && len(w.OnTasks) == 0) {
			return
		}
		var by []actor
		for _, on := range w.On {
			by = append(by, actor{tid: on})
		}
		for _, on := range w.OnTasks {
			by = append(by, actor{task: on})
		}
		for _, on := range by {
			b.add(on)
		}
		id := refID(w.Ref)
		if id == "" {
			return
		}
		if id = b.prefix + id; w.Kind != snapshot.KindThread && w.Kind != snapshot.KindTask && proven[id] {
			return
		}
		for _, on := range by {
			b.edges = append(b.edges, pendingEdge{from: on, to: id, kind: EdgeEndedBy, label: EdgeEndedBy.String(), reverse: true})
		}
	}
	for _, tid := range sortedTIDs(a.Waits) {
		endedBy(a.Waits[tid])
	}
	for _, id := range sortedKeys(a.TaskWaits) {
		endedBy(a.TaskWaits[id])
	}
	b.loops(a)
}

// add puts an actor in the graph.
func (b *builder) add(who actor) {
	if who.task != "" {
		b.taskIDs[who.task] = true
	} else {
		b.tids[who.tid] = true
	}
}

// loops draws, for an event loop whose thread is blocked, that each of its
// suspended tasks in the graph can only run when that thread runs it: a
// thread blocked on what such a task holds is then a cycle.
func (b *builder) loops(a *locks.Analysis) {
	if b.snap == nil {
		return
	}
	for _, lp := range b.snap.Loops {
		if lp.Thread == 0 || a.Waits[lp.Thread] == nil {
			continue
		}
		var on []string
		for _, id := range sortedKeys(b.taskIDs) {
			t := b.tasks[id]
			if t != nil && t.Loop == lp.ID && !t.Done && !t.Running {
				on = append(on, id)
			}
		}
		if len(on) == 0 {
			continue
		}
		r := locks.Ref{Kind: snapshot.KindLoop, ID: lp.ID}
		if ob := b.objects[lp.ID]; ob != nil {
			r = locks.RefOf(ob)
		}
		id := b.addRes(r)
		for _, task := range on {
			b.edges = append(b.edges, pendingEdge{from: actor{task: task}, to: id, kind: EdgeRunsOn, label: EdgeRunsOn.String()})
		}
		b.edges = append(b.edges, pendingEdge{from: actor{tid: lp.Thread}, to: id, kind: EdgeRunBy, label: EdgeRunBy.String(), reverse: true})
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
		byTask:   map[string]int64{},
		byRes:    map[string]int64{},
		target:   b.target,
	}
	for _, tid := range sortedTIDs(b.tids) {
		id := int64(len(g.nodes))
		g.byTID[tid] = id
		g.nodes = append(g.nodes, Node{ID: id, Kind: ThreadNode, TID: tid})
	}
	for _, task := range sortedKeys(b.taskIDs) {
		id := int64(len(g.nodes))
		g.byTask[task] = id
		g.nodes = append(g.nodes, Node{ID: id, Kind: TaskNode, Task: task})
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
		t, r := g.byTID[pe.from.tid], g.byRes[pe.to]
		if pe.from.task != "" {
			t = g.byTask[pe.from.task]
		}
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
		switch n.Kind {
		case ThreadNode:
			n.Label = threadLabel(n.TID, b.threads[n.TID], b.waitFr)
		case TaskNode:
			n.Label = taskLabel(n.Task, b.tasks[n.Task], b.taskFr)
		default:
			n.Label = resourceLabel(n.Resource, b.objects[n.Resource.ID], out[i] == 0)
		}
	}
	return g
}
