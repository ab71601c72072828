// Package waitgraph turns what locks found (who waits on what, who holds what)
// into a directed wait-for graph: thread → resource ("waits for") and
// resource → thread ("held by", "can only be ended by"). A cycle in that graph
// is a set of threads none of which can ever proceed. The package finds those
// cycles and writes the graph in DOT (waitgraph/render draws that as SVG or
// PNG, in a program of its own) so that a person can see the deadlock without
// reading the text report.
package waitgraph

import (
	"sort"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"

	"github.com/pyhang/pyhang/locks"
)

// NodeKind tells threads from resources.
type NodeKind int

// Node kinds.
const (
	ThreadNode NodeKind = iota
	ResourceNode
	TaskNode // an asyncio task: it waits and holds like a thread
)

func (k NodeKind) String() string {
	switch k {
	case ThreadNode:
		return "thread"
	case TaskNode:
		return "task"
	}
	return "resource"
}

// Actor reports whether the node waits and holds (a thread or a task).
func (k NodeKind) Actor() bool { return k == ThreadNode || k == TaskNode }

// Node is one vertex of the wait-for graph.
type Node struct {
	// ID is the gonum node id: dense, 0..n-1, threads first (by tid), then
	// tasks (by id), then resources (by id), so that every ordering by ID is
	// stable.
	ID       int64
	Kind     NodeKind
	TID      int       // ThreadNode only
	Task     string    // TaskNode only: the task's id
	Resource locks.Ref // ResourceNode only
	// Label is what the picture shows, lines separated by "\n".
	Label string
}

// EdgeKind says what an edge means.
type EdgeKind int

// Edge kinds. Only EdgeProbable does not count for cycles: a hold inferred
// from code position is a hint, not a proof of deadlock.
const (
	EdgeWaits    EdgeKind = iota // thread → resource
	EdgeHeld                     // resource → thread, proven hold
	EdgeEndedBy                  // resource → thread that alone can end the wait (a joined thread, a future's worker)
	EdgeProbable                 // resource → thread, probable hold (bare acquire())
	// A suspended task runs only when its loop's thread runs it: task →
	// loop and loop → thread. Drawn only when that thread is blocked itself.
	EdgeRunsOn // task → its event loop
	EdgeRunBy  // event loop → the thread running it
)

func (k EdgeKind) String() string {
	switch k {
	case EdgeWaits:
		return "waits for"
	case EdgeHeld:
		return "held by"
	case EdgeEndedBy:
		return "can only be ended by"
	case EdgeProbable:
		return "probably held by"
	case EdgeRunsOn:
		return "runs only on"
	case EdgeRunBy:
		return "run by"
	}
	return "?"
}

// Blocking reports whether the edge counts for cycles.
func (k EdgeKind) Blocking() bool { return k != EdgeProbable }

// Edge is one arc of the wait-for graph.
type Edge struct {
	From, To int64
	Kind     EdgeKind
	// Label is what the picture shows on the arc ("held by\nwith block at h.py:14").
	Label string
}

// Graph is the wait-for graph of one snapshot. It is immutable once built.
type Graph struct {
	nodes []Node // indexed by Node.ID
	edges []Edge // sorted by (From, To)
	// all holds every edge; blocking only those that count for cycles.
	all      *simple.DirectedGraph
	blocking *simple.DirectedGraph
	byTID    map[int]int64
	byTask   map[string]int64
	byRes    map[string]int64
	target   string // "pid 4321, Python 3.12.1", for the picture's title
}

// gedge is the graph.Edge stored in the gonum graphs; it points back at the
// Edge by index so that callers walking the gonum graph can get the kind.
type gedge struct {
	from, to simple.Node
	index    int
}

func (e gedge) From() graph.Node         { return e.from }
func (e gedge) To() graph.Node           { return e.to }
func (e gedge) ReversedEdge() graph.Edge { e.from, e.to = e.to, e.from; return e }

// Nodes returns all nodes ordered by ID (threads by tid, then resources by id).
func (g *Graph) Nodes() []Node {
	return append([]Node(nil), g.nodes...)
}

// Node returns the node with the given ID.
func (g *Graph) Node(id int64) (Node, bool) {
	if id < 0 || id >= int64(len(g.nodes)) {
		return Node{}, false
	}
	return g.nodes[id], true
}

// Thread returns the node of a thread.
func (g *Graph) Thread(tid int) (Node, bool) {
	id, ok := g.byTID[tid]
	if !ok {
		return Node{}, false
	}
	return g.nodes[id], true
}

// Task returns the node of an asyncio task by its id ("task@0x7f…").
func (g *Graph) Task(id string) (Node, bool) {
	n, ok := g.byTask[id]
	if !ok {
		return Node{}, false
	}
	return g.nodes[n], true
}

// Resource returns the node of a resource by its id ("lock@0x7f…").
func (g *Graph) Resource(id string) (Node, bool) {
	n, ok := g.byRes[id]
	if !ok {
		return Node{}, false
	}
	return g.nodes[n], true
}

// EdgeBetween returns the edge from → to.
func (g *Graph) EdgeBetween(from, to int64) (Edge, bool) {
	e := g.all.Edge(from, to)
	if e == nil {
		return Edge{}, false
	}
	return g.edges[e.(gedge).index], true
}

// Len is the number of nodes.
func (g *Graph) Len() int { return len(g.nodes) }

func sortEdges(es []Edge) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].From != es[j].From {
			return es[i].From < es[j].From
		}
		return es[i].To < es[j].To
	})
}
