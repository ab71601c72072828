package waitgraph

import (
	"fmt"
	"strconv"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/encoding"
	"gonum.org/v1/gonum/graph/encoding/dot"
	"gonum.org/v1/gonum/graph/simple"
)

// The picture: threads are boxes, resources ellipses, the arcs say what they
// mean, a cycle is red and bold, an unproven hold dashed, and a legend says
// so. Everything is ordered by node ID, so identical input gives identical
// DOT (and pictures).

// attrs implements encoding.Attributer over a fixed, ordered list.
type attrs []encoding.Attribute

func (a attrs) Attributes() []encoding.Attribute { return a }

// quote makes a DOT double-quoted string. gonum quotes values that need it,
// but passes through text that merely looks like an HTML label (<…>) or a
// quoted string; target text is quoted here so that it never can.
func quote(s string) string { return strconv.Quote(s) }

type dotNode struct {
	id    int64
	dotID string
	attrs attrs
}

func (n dotNode) ID() int64                        { return n.id }
func (n dotNode) DOTID() string                    { return n.dotID }
func (n dotNode) Attributes() []encoding.Attribute { return n.attrs }

type dotEdge struct {
	from, to dotNode
	attrs    attrs
}

func (e dotEdge) From() graph.Node                 { return e.from }
func (e dotEdge) To() graph.Node                   { return e.to }
func (e dotEdge) ReversedEdge() graph.Edge         { e.from, e.to = e.to, e.from; return e }
func (e dotEdge) Attributes() []encoding.Attribute { return e.attrs }

// dotGraph is a gonum graph that knows its DOT name, its default attributes
// and its subgraphs (the legend).
type dotGraph struct {
	*simple.DirectedGraph
	name       string
	gA, nA, eA attrs
	subgraphs  []dot.Graph
}

func (g *dotGraph) DOTID() string { return g.name }
func (g *dotGraph) DOTAttributers() (graph, node, edge encoding.Attributer) {
	return g.gA, g.nA, g.eA
}
func (g *dotGraph) Structure() []dot.Graph { return g.subgraphs }

var (
	redBold = attrs{{Key: "color", Value: "red"}, {Key: "fontcolor", Value: "red"}, {Key: "penwidth", Value: "2.5"}, {Key: "style", Value: "bold"}}
	dashed  = attrs{{Key: "style", Value: "dashed"}, {Key: "color", Value: "gray40"}, {Key: "fontcolor", Value: "gray40"}}
)

func threadAttrs(label string, red bool) attrs {
	a := attrs{{Key: "shape", Value: "box"}, {Key: "label", Value: quote(label)}}
	if red {
		a = append(a, redBold...)
	}
	return a
}

func resourceAttrs(label string, red bool) attrs {
	a := attrs{{Key: "shape", Value: "ellipse"}, {Key: "label", Value: quote(label)}}
	if red {
		a = append(a, redBold...)
	}
	return a
}

func edgeAttrs(label string, probable, red bool) attrs {
	a := attrs{{Key: "label", Value: quote(label)}}
	switch {
	case red && probable: // a probable deadlock's cycle: red, still dashed
		a = append(a, attrs{{Key: "color", Value: "red"}, {Key: "fontcolor", Value: "red"}, {Key: "penwidth", Value: "2.5"}, {Key: "style", Value: "dashed,bold"}}...)
	case red:
		a = append(a, redBold...)
	case probable:
		a = append(a, dashed...)
	}
	return a
}

// taskAttrs draw a task as a box with rounded corners: it waits and holds
// like a thread, and runs on one.
func taskAttrs(label string, red bool) attrs {
	style := "rounded"
	if red {
		style = `"rounded,bold"`
	}
	a := attrs{{Key: "shape", Value: "box"}, {Key: "style", Value: style}, {Key: "label", Value: quote(label)}}
	if red {
		a = append(a, attrs{{Key: "color", Value: "red"}, {Key: "fontcolor", Value: "red"}, {Key: "penwidth", Value: "2.5"}}...)
	}
	return a
}

func dotNodeID(n *Node) string {
	switch n.Kind {
	case ThreadNode:
		return fmt.Sprintf("tid:%d", n.TID)
	case TaskNode:
		return "task:" + n.Task
	}
	return "res:" + n.Resource.ID
}

// DOT returns the graph in the DOT language, the nodes and edges of the
// highlight cycles in red.
func (g *Graph) DOT(highlight []Cycle) ([]byte, error) {
	redNode, redEdge := g.highlightSets(highlight)
	dg := &dotGraph{
		DirectedGraph: simple.NewDirectedGraph(),
		name:          "waitgraph",
		gA: attrs{
			{Key: "rankdir", Value: "LR"},
			{Key: "fontname", Value: "Helvetica"},
			{Key: "labelloc", Value: "t"},
			{Key: "label", Value: quote(g.title(len(highlight)))},
		},
		nA:        attrs{{Key: "fontname", Value: "Helvetica"}, {Key: "fontsize", Value: "11"}},
		eA:        attrs{{Key: "fontname", Value: "Helvetica"}, {Key: "fontsize", Value: "9"}},
		subgraphs: []dot.Graph{legend()},
	}
	dn := make([]dotNode, len(g.nodes))
	for i := range g.nodes {
		n := &g.nodes[i]
		d := dotNode{id: n.ID, dotID: dotNodeID(n)}
		switch n.Kind {
		case ThreadNode:
			d.attrs = threadAttrs(n.Label, redNode[n.ID])
		case TaskNode:
			d.attrs = taskAttrs(n.Label, redNode[n.ID])
		default:
			d.attrs = resourceAttrs(n.Label, redNode[n.ID])
		}
		dn[i] = d
		dg.AddNode(d)
	}
	for _, e := range g.edges {
		red := redEdge[[2]int64{e.From, e.To}]
		dg.SetEdge(dotEdge{from: dn[e.From], to: dn[e.To], attrs: edgeAttrs(e.Label, e.Kind == EdgeProbable, red)})
	}
	b, err := dot.Marshal(dg, "", "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the wait-for graph as DOT: %w", err)
	}
	return append(b, '\n'), nil
}

// highlightSets turns cycles into the node IDs and (from, to) pairs to paint.
// Cycles naming nodes or arcs the graph does not have paint what exists.
func (g *Graph) highlightSets(cycles []Cycle) (map[int64]bool, map[[2]int64]bool) {
	nodes, edges := map[int64]bool{}, map[[2]int64]bool{}
	for _, c := range cycles {
		n := len(c.Threads)
		actor := func(i int) (int64, bool) {
			if task := c.Task(i); task != "" {
				id, ok := g.byTask[task]
				return id, ok
			}
			id, ok := g.byTID[c.Threads[i]]
			return id, ok
		}
		for i := range c.Threads {
			t, ok := actor(i)
			if !ok {
				continue
			}
			nodes[t] = true
			if i >= len(c.Resources) {
				continue
			}
			r, ok := g.byRes[c.Resources[i]]
			if !ok {
				continue
			}
			nodes[r] = true
			edges[[2]int64{t, r}] = true
			if next, ok := actor((i + 1) % n); ok {
				edges[[2]int64{r, next}] = true
			}
		}
	}
	return nodes, edges
}

// title names the target and says what red means for this picture.
func (g *Graph) title(cycles int) string {
	t := "wait-for graph"
	if g.target != "" {
		t += " of " + g.target
	}
	switch {
	case len(g.nodes) == 0:
		t += "\nno thread waits on or holds anything"
	case cycles == 1:
		t += "\n1 deadlock cycle (red)"
	case cycles > 1:
		t += fmt.Sprintf("\n%d deadlock cycles (red)", cycles)
	}
	return t
}

// legend is the cluster that explains the picture's conventions.
func legend() *dotGraph {
	lg := &dotGraph{
		DirectedGraph: simple.NewDirectedGraph(),
		name:          "cluster_legend",
		gA: attrs{
			{Key: "label", Value: "Legend"},
			{Key: "fontsize", Value: "10"},
			{Key: "style", Value: "dashed"},
			{Key: "color", Value: "gray50"},
		},
	}
	mk := func(id int64, name string, a attrs) dotNode {
		n := dotNode{id: id, dotID: "legend:" + name, attrs: a}
		lg.AddNode(n)
		return n
	}
	thread := mk(0, "thread", threadAttrs("thread: name (tid)\ninnermost frame", false))
	res := mk(1, "resource", resourceAttrs("resource: Lock, RLock, Queue,\nCondition, joined thread …", false))
	holder := mk(2, "holder", threadAttrs("thread that holds it\n(or alone can end the wait)", false))
	maybe := mk(3, "probable", threadAttrs("thread that probably holds it\n(bare acquire(), not proven)", false))
	mk(4, "cycle", threadAttrs("red, bold: a deadlock cycle;\nnone of its threads can go on\n(dashed: a probable one)", true))
	task := mk(5, "task", taskAttrs("asyncio task: name\ninnermost coroutine frame", false))
	lg.SetEdge(dotEdge{from: task, to: res, attrs: edgeAttrs("waits for", false, false)})
	lg.SetEdge(dotEdge{from: thread, to: res, attrs: edgeAttrs("waits for", false, false)})
	lg.SetEdge(dotEdge{from: res, to: holder, attrs: edgeAttrs("held by /\ncan only be ended by", false, false)})
	lg.SetEdge(dotEdge{from: res, to: maybe, attrs: edgeAttrs("probably held by\n(dashed: inferred, not proven)", true, false)})
	return lg
}
