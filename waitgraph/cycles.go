package waitgraph

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/topo"
)

// Cycle is one set of threads (and asyncio tasks) that wait on each other
// forever: actor i waits for Resources[i], which is held by (or can only be
// ended by) actor (i+1) % n. Actor i is the thread Threads[i], or, when
// Tasks is not nil and Tasks[i] is not "", the task Tasks[i] (Threads[i] is
// then 0). It starts at its smallest tid, or at its smallest task id when it
// holds no thread. A thread that waits on a lock it holds itself is a cycle
// of one thread.
type Cycle struct {
	Threads   []int
	Resources []string
	Tasks     []string
}

// Task returns the task id of actor i, "" for a thread.
func (c Cycle) Task(i int) string {
	if i < len(c.Tasks) {
		return c.Tasks[i]
	}
	return ""
}

// String is "4355 → lock@0x1 → 4356 → lock@0x2 → 4355" (a task is named by
// its id).
func (c Cycle) String() string {
	var b strings.Builder
	name := func(i int) string {
		if t := c.Task(i); t != "" {
			return t
		}
		return fmt.Sprint(c.Threads[i])
	}
	for i := range c.Threads {
		fmt.Fprintf(&b, "%s → ", name(i))
		if i < len(c.Resources) {
			fmt.Fprintf(&b, "%s → ", c.Resources[i])
		}
	}
	if len(c.Threads) > 0 {
		fmt.Fprint(&b, name(0))
	}
	return b.String()
}

// Bounds on cycle enumeration. The number of elementary cycles can grow
// exponentially with the graph (many threads on one Condition, each holding
// something); a report needs a few of them, never all.
const (
	// maxCycles is how many cycles Cycles returns at most.
	maxCycles = 1000
	// maxSteps bounds the edge visits of one enumeration.
	maxSteps = 20_000_000
)

// Cycles returns the deadlock cycles of the graph (probable holds do not
// count), at most maxCycles, sorted and without duplicates.
func (g *Graph) Cycles() []Cycle {
	c, _ := g.findCycles(g.blocking, maxCycles, nil)
	return c
}

// ProbableCycles returns the cycles that close only through a probable hold
// (a lock taken by a bare acquire() whose release() has not run, inferred
// from where the thread stands): each passes at least one probable edge, so
// none is one of Cycles. At most maxCycles, sorted.
func (g *Graph) ProbableCycles() []Cycle {
	c, _ := g.findCycles(g.all, maxCycles, g.passesProbable)
	return c
}

// passesProbable reports whether a cycle of the whole graph (local indices
// into ids) takes a probable edge.
func (g *Graph) passesProbable(ids []int64, path []int) bool {
	for k, p := range path {
		from, to := ids[p], ids[path[(k+1)%len(path)]]
		if e, ok := g.all.Edge(from, to).(gedge); ok && g.edges[e.index].Kind == EdgeProbable {
			return true
		}
	}
	return false
}

// findCycles returns at most max cycles of the edges of over (g.blocking or
// g.all), those keep accepts when it is not nil; complete is false when the
// search stopped early (max reached or the work bound hit), so more may
// exist.
//
// The strongly connected components of the edges come from gonum's
// TarjanSCC; each component with more than one node is then searched with
// Johnson's algorithm (a bounded copy of it: gonum's DirectedCyclesIn
// enumerates every cycle, with no way to stop early).
func (g *Graph) findCycles(over *simple.DirectedGraph, max int, keep func(ids []int64, path []int) bool) (cycles []Cycle, complete bool) {
	if max <= 0 {
		return nil, false
	}
	sccs := topo.TarjanSCC(over)
	comps := make([][]int64, 0, len(sccs))
	for _, scc := range sccs {
		// Edges join threads and resources only, so there are no self-loops
		// and a component of one node holds no cycle.
		if len(scc) < 2 {
			continue
		}
		ids := make([]int64, len(scc))
		for i, n := range scc {
			ids[i] = n.ID()
		}
		slices.Sort(ids)
		comps = append(comps, ids)
	}
	sort.Slice(comps, func(i, j int) bool { return comps[i][0] < comps[j][0] })

	seen := map[string]bool{}
	complete = true
	budget := maxSteps
	for _, ids := range comps {
		adj := localAdjacency(over, ids)
		var used int
		ok := elementaryCycles(adj, budget, &used, func(path []int) bool {
			if keep != nil && !keep(ids, path) {
				return true
			}
			c, valid := g.cycleOf(ids, path)
			if valid {
				if k := c.String(); !seen[k] {
					seen[k] = true
					cycles = append(cycles, c)
				}
			}
			return len(cycles) < max
		})
		budget -= used
		if !ok {
			complete = false
			break
		}
	}
	sortCycles(cycles)
	return cycles, complete
}

// localAdjacency numbers a component's nodes 0..k-1 in ID order and lists the
// edges of over inside it, targets ascending.
func localAdjacency(over *simple.DirectedGraph, ids []int64) [][]int {
	local := make(map[int64]int, len(ids))
	for i, id := range ids {
		local[id] = i
	}
	adj := make([][]int, len(ids))
	for i, id := range ids {
		to := over.From(id)
		for to.Next() {
			if j, ok := local[to.Node().ID()]; ok {
				adj[i] = append(adj[i], j)
			}
		}
		slices.Sort(adj[i])
	}
	return adj
}

// cycleOf turns a path of local indices into a Cycle starting at its
// smallest tid (else its smallest task id). Paths that do not alternate
// actor, resource cannot come from Build; they are dropped rather than
// misreported.
func (g *Graph) cycleOf(ids []int64, path []int) (Cycle, bool) {
	start := -1
	less := func(a, b Node) bool {
		if a.Kind != b.Kind {
			return a.Kind == ThreadNode
		}
		if a.Kind == ThreadNode {
			return a.TID < b.TID
		}
		return a.Task < b.Task
	}
	for i, p := range path {
		n := g.nodes[ids[p]]
		if n.Kind.Actor() && (start < 0 || less(n, g.nodes[ids[path[start]]])) {
			start = i
		}
	}
	if start < 0 || len(path)%2 != 0 {
		return Cycle{}, false
	}
	var c Cycle
	hasTask := false
	for k := 0; k < len(path); k++ {
		n := g.nodes[ids[path[(start+k)%len(path)]]]
		if (k%2 == 0) != n.Kind.Actor() {
			return Cycle{}, false
		}
		switch n.Kind {
		case ThreadNode:
			c.Threads = append(c.Threads, n.TID)
			c.Tasks = append(c.Tasks, "")
		case TaskNode:
			c.Threads = append(c.Threads, 0)
			c.Tasks = append(c.Tasks, n.Task)
			hasTask = true
		default:
			c.Resources = append(c.Resources, n.Resource.ID)
		}
	}
	if !hasTask {
		c.Tasks = nil
	}
	return c, true
}

func sortCycles(cs []Cycle) {
	sort.Slice(cs, func(i, j int) bool {
		if c := slices.Compare(cs[i].Threads, cs[j].Threads); c != 0 {
			return c < 0
		}
		if c := slices.Compare(cs[i].Tasks, cs[j].Tasks); c != 0 {
			return c < 0
		}
		return slices.Compare(cs[i].Resources, cs[j].Resources) < 0
	})
}

// johnson is the state of Johnson's elementary-circuit search ("Finding all
// the elementary circuits of a directed graph", SIAM J. Comput. 1975) over
// dense adjacency lists. Circuits through start vertex s use vertices ≥ s of
// s's strongly connected component only, so each circuit is found once, from
// its least vertex, and no search wanders where no circuit can close.
type johnson struct {
	adj     [][]int
	blocked []bool
	b       [][]int
	inB     map[[2]int]bool
	stack   []int
	s       int
	inComp  []bool // the component searched from s
	steps   int
	max     int
	stop    bool
	emit    func([]int) bool

	// Tarjan state, reused across start vertices.
	index, low []int
	onStack    []bool
	tstack     []int
	call       []tarjanFrame
}

type tarjanFrame struct{ v, i int }

// elementaryCycles calls emit with every elementary cycle of adj (emit gets
// the search stack itself: it must copy what it keeps) until emit returns
// false or maxSteps edge visits are spent. It reports whether the
// enumeration ran to its end; *steps receives the visits spent.
func elementaryCycles(adj [][]int, maxSteps int, steps *int, emit func([]int) bool) bool {
	n := len(adj)
	j := &johnson{
		adj:     adj,
		blocked: make([]bool, n),
		b:       make([][]int, n),
		inB:     map[[2]int]bool{},
		inComp:  make([]bool, n),
		max:     maxSteps,
		emit:    emit,
		index:   make([]int, n),
		low:     make([]int, n),
		onStack: make([]bool, n),
	}
	for s := 0; s < n && !j.stop; s++ {
		if s = j.leastComponent(s); s < 0 {
			break
		}
		for v := s; v < n; v++ {
			j.blocked[v] = false
			j.b[v] = j.b[v][:0]
		}
		clear(j.inB)
		j.s = s
		j.circuit(s)
	}
	*steps = j.steps
	return !j.stop
}

// leastComponent finds the strongly connected components of the subgraph
// induced by the vertices ≥ from (Tarjan, iterative: a component can be
// thousands of vertices deep), marks in inComp the one that can hold a
// circuit and has the least vertex, and returns that vertex, or -1.
func (j *johnson) leastComponent(from int) int {
	n := len(j.adj)
	for v := from; v < n; v++ {
		j.index[v], j.low[v], j.onStack[v], j.inComp[v] = 0, 0, false, false
	}
	counter, best := 0, -1
	var bestMembers []int
	push := func(v int) {
		counter++
		j.index[v], j.low[v] = counter, counter
		j.tstack = append(j.tstack, v)
		j.onStack[v] = true
		j.call = append(j.call, tarjanFrame{v: v})
	}
	for root := from; root < n && !j.stop; root++ {
		if j.index[root] != 0 {
			continue
		}
		push(root)
		for len(j.call) > 0 {
			f := &j.call[len(j.call)-1]
			v := f.v
			if f.i < len(j.adj[v]) {
				w := j.adj[v][f.i]
				f.i++
				if j.steps++; j.steps > j.max {
					j.stop = true
					j.call, j.tstack = j.call[:0], j.tstack[:0]
					return -1
				}
				switch {
				case w < from:
				case j.index[w] == 0:
					push(w)
				case j.onStack[w] && j.index[w] < j.low[v]:
					j.low[v] = j.index[w]
				}
				continue
			}
			j.call = j.call[:len(j.call)-1]
			if len(j.call) > 0 {
				if p := j.call[len(j.call)-1].v; j.low[v] < j.low[p] {
					j.low[p] = j.low[v]
				}
			}
			if j.low[v] != j.index[v] {
				continue
			}
			at := len(j.tstack) - 1
			for j.tstack[at] != v {
				at--
			}
			members := j.tstack[at:]
			least := slices.Min(members)
			if (len(members) > 1 || slices.Contains(j.adj[v], v)) && (best < 0 || least < best) {
				best = least
				bestMembers = append(bestMembers[:0], members...)
			}
			for _, m := range members {
				j.onStack[m] = false
			}
			j.tstack = j.tstack[:at]
		}
	}
	for _, m := range bestMembers {
		j.inComp[m] = true
	}
	return best
}

func (j *johnson) circuit(v int) bool {
	found := false
	j.stack = append(j.stack, v)
	j.blocked[v] = true
	for _, w := range j.adj[v] {
		if j.stop {
			break
		}
		if j.steps++; j.steps > j.max {
			j.stop = true
			break
		}
		switch {
		case w < j.s || !j.inComp[w]:
		case w == j.s:
			found = true
			if !j.emit(j.stack) {
				j.stop = true
			}
		case !j.blocked[w]:
			if j.circuit(w) {
				found = true
			}
		}
	}
	if found {
		j.unblock(v)
	} else {
		for _, w := range j.adj[v] {
			if w >= j.s && j.inComp[w] && !j.inB[[2]int{w, v}] {
				j.inB[[2]int{w, v}] = true
				j.b[w] = append(j.b[w], v)
			}
		}
	}
	j.stack = j.stack[:len(j.stack)-1]
	return found
}

func (j *johnson) unblock(u int) {
	j.blocked[u] = false
	for len(j.b[u]) > 0 {
		w := j.b[u][len(j.b[u])-1]
		j.b[u] = j.b[u][:len(j.b[u])-1]
		delete(j.inB, [2]int{u, w})
		if j.blocked[w] {
			j.unblock(w)
		}
	}
}
