package waitgraph

import (
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

func wantCycles(t *testing.T, g *Graph, want ...Cycle) {
	t.Helper()
	got := g.Cycles()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("cycles:\n got %v\nwant %v", got, want)
	}
}

func TestCycleOfOneThread(t *testing.T) {
	l := lockRef(0xa0, "state_lock")
	f := newFixture().thread(7, "worker", "update", "/app/w.py", 40).
		hold(7, l, "with block at w.py:38").wait(7, l, 7)
	wantCycles(t, f.build(), Cycle{Threads: []int{7}, Resources: []string{l.ID}})
}

func TestCycleOfTwoThreads(t *testing.T) {
	wantCycles(t, twoCycle().build(), Cycle{Threads: []int{4355, 4356}, Resources: []string{"lock@0x7f0020", "lock@0x7f0010"}})
}

func TestCycleStartsAtSmallestTID(t *testing.T) {
	a, b := lockRef(0x1, ""), lockRef(0x2, "")
	// 90 waits for a held by 12, 12 waits for b held by 90.
	f := newFixture().hold(12, a, "").wait(12, b).hold(90, b, "").wait(90, a)
	wantCycles(t, f.build(), Cycle{Threads: []int{12, 90}, Resources: []string{b.ID, a.ID}})
}

func TestCycleOfThreeMixed(t *testing.T) {
	lock, rl := lockRef(0x10, "cache_lock"), rlockRef(0x20, "Registry._lock")
	f := newFixture().
		thread(1, "MainThread", "refresh", "/app/m.py", 10).
		thread(2, "registrar", "stop", "/app/r.py", 55).
		thread(3, "flusher", "flush", "/app/f.py", 8).
		hold(1, lock, "with block at m.py:9").wait(1, rl).
		hold(2, rl, "RLock owner field (count 2)").join(2, 3, "flusher").
		wait(3, lock)
	wantCycles(t, f.build(), Cycle{Threads: []int{1, 2, 3}, Resources: []string{rl.ID, "thread@3", lock.ID}})
}

func TestChainHasNoCycle(t *testing.T) {
	a, b := lockRef(0x1, "a"), lockRef(0x2, "b")
	f := newFixture().wait(1, a).hold(2, a, "").wait(2, b).hold(3, b, "")
	g := f.build()
	wantCycles(t, g)
	if g.Len() != 5 {
		t.Errorf("nodes: got %d, want 3 threads + 2 locks", g.Len())
	}
}

func TestProbableHoldMakesNoCycle(t *testing.T) {
	a, b := lockRef(0x1, "mutex"), lockRef(0x2, "file_lock")
	f := newFixture().
		hold(1, a, "with block at rw.py:20").wait(1, b).
		probable(2, b, "inside acquire() at rw.py:12 … release() at :30, now at line 14").wait(2, a, 1)
	g := f.build()
	wantCycles(t, g)
	r, _ := g.Resource(b.ID)
	t2, _ := g.Thread(2)
	e, ok := g.EdgeBetween(r.ID, t2.ID)
	if !ok || e.Kind != EdgeProbable || e.Label != "probably held by\ninside acquire() at rw.py:12" {
		t.Fatalf("probable edge: %+v %v", e, ok)
	}
	if pc := g.ProbableCycles(); !reflect.DeepEqual(pc, []Cycle{{Threads: []int{1, 2}, Resources: []string{b.ID, a.ID}}}) {
		t.Errorf("probable cycles: %v, want 1 → file_lock → 2 → mutex → 1", pc)
	}
	// The same thread also proven to hold it: the proven edge wins, and
	// the cycle is no longer only probable.
	f.hold(2, b, "with block at rw.py:13")
	g = f.build()
	wantCycles(t, g, Cycle{Threads: []int{1, 2}, Resources: []string{b.ID, a.ID}})
	if pc := g.ProbableCycles(); len(pc) != 0 {
		t.Errorf("probable cycles of a proven one: %v", pc)
	}
}

// TestProbableCyclesBesideProven: a proven cycle and a cycle through a
// probable hold in one graph; each is listed once, by its own method.
func TestProbableCyclesBesideProven(t *testing.T) {
	a, b, c, d := lockRef(0x1, "a"), lockRef(0x2, "b"), lockRef(0x3, "c"), lockRef(0x4, "d")
	f := newFixture().
		hold(1, a, "with block at p.py:3").wait(1, b).hold(2, b, "with block at p.py:9").wait(2, a).
		probable(3, c, "inside acquire() at q.py:4 … release() at :9, now at line 6").wait(3, d).
		probable(4, d, "inside acquire() at q.py:14 … release() at :19, now at line 16").wait(4, c)
	g := f.build()
	wantCycles(t, g, Cycle{Threads: []int{1, 2}, Resources: []string{b.ID, a.ID}})
	want := []Cycle{{Threads: []int{3, 4}, Resources: []string{d.ID, c.ID}}}
	if pc := g.ProbableCycles(); !reflect.DeepEqual(pc, want) {
		t.Errorf("probable cycles: %v, want %v", pc, want)
	}
}

func TestOnThreadsEndAWaitWithoutHolder(t *testing.T) {
	fut := locks.Ref{Kind: snapshot.KindFuture, ID: "future@0x500"}
	l := lockRef(0x600, "db_lock")
	// Main waits for a future only worker 5 can finish; 5 waits for a lock
	// main holds.
	f := newFixture().hold(1, l, "with block at p.py:3").wait(1, fut, 5).wait(5, l, 1)
	g := f.build()
	wantCycles(t, g, Cycle{Threads: []int{1, 5}, Resources: []string{fut.ID, l.ID}})
	r, _ := g.Resource(fut.ID)
	w, _ := g.Thread(5)
	if e, ok := g.EdgeBetween(r.ID, w.ID); !ok || e.Kind != EdgeEndedBy {
		t.Fatalf("future → worker: %+v %v", e, ok)
	}

	// A resource with a proven holder gets no "ended by" edges to others.
	f2 := newFixture().hold(3, l, "").wait(1, l, 3, 4)
	g2 := f2.build()
	if _, ok := g2.Thread(4); !ok {
		t.Fatal("thread named in On is a node")
	}
	r2, _ := g2.Resource(l.ID)
	t4, _ := g2.Thread(4)
	if _, ok := g2.EdgeBetween(r2.ID, t4.ID); ok {
		t.Fatal("edge to a non-holder of a held lock")
	}
}

func TestJoinEdgeIsEndedBy(t *testing.T) {
	f := newFixture().join(1, 2, "worker")
	g := f.build()
	r, _ := g.Resource("thread@2")
	t2, _ := g.Thread(2)
	if e, ok := g.EdgeBetween(r.ID, t2.ID); !ok || e.Kind != EdgeEndedBy || e.Label != "can only be ended by" {
		t.Fatalf("join edge: %+v %v", e, ok)
	}
}

// bigChain: n threads, thread i waits for lock i held by thread i+1; the last
// thread waits for the lock held by thread n-10, closing a cycle of 11.
func bigChain(n int) *fixture {
	f := newFixture()
	for i := 1; i <= n; i++ {
		f.thread(i, fmt.Sprintf("w%d", i), "step", "/app/c.py", i)
		l := lockRef(uint64(0x1000+i), "")
		if i < n {
			f.wait(i, l).hold(i+1, l, "")
		}
	}
	f.wait(n, lockRef(uint64(0x1000+n-11), ""))
	return f
}

func TestBigGraph(t *testing.T) {
	const n = 2000
	start := time.Now()
	g := bigChain(n).build()
	built := time.Since(start)
	cs := g.Cycles()
	took := time.Since(start)
	if len(cs) != 1 || len(cs[0].Threads) != 11 || cs[0].Threads[0] != n-10 {
		t.Fatalf("cycles: %v", cs)
	}
	if _, err := g.DOT(cs); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d threads: build %v, build+cycles %v, +DOT %v", n, built, took, time.Since(start))
	if took > 5*time.Second {
		t.Fatalf("too slow: %v", took)
	}

	// One ring through all of them: a single 2000-thread cycle (deep search).
	f := newFixture()
	for i := 1; i <= n; i++ {
		l := lockRef(uint64(i), "")
		f.wait(i, l).hold(i%n+1, l, "")
	}
	start = time.Now()
	cs = f.build().Cycles()
	if len(cs) != 1 || len(cs[0].Threads) != n {
		t.Fatalf("ring: %d cycles", len(cs))
	}
	t.Logf("ring of %d: %v", n, time.Since(start))
}

// TestCyclesBounded: k threads on k semaphores, every semaphore held by every
// thread, has more elementary cycles than anyone could read.
func TestCyclesBounded(t *testing.T) {
	f := newFixture()
	const k = 12
	for i := 0; i < k; i++ {
		r := locks.Ref{Kind: snapshot.KindSemaphore, ID: fmt.Sprintf("semaphore@%#x", 0x100+i)}
		f.wait(i, r)
		for j := 0; j < k; j++ {
			f.hold(j, r, "")
		}
	}
	start := time.Now()
	g := f.build()
	cs, complete := g.findCycles(g.blocking, maxCycles, nil)
	if complete || len(cs) != maxCycles {
		t.Fatalf("got %d cycles, complete %v; want the cap", len(cs), complete)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("too slow: %v", took)
	}
	if cs2, _ := g.findCycles(g.blocking, maxCycles, nil); !reflect.DeepEqual(cs, cs2) {
		t.Fatal("capped result differs between runs")
	}
}

// naiveCycles is the oracle: from every node, every simple path that returns
// to it; each cycle rotated to its least vertex and deduplicated.
func naiveCycles(adj [][]int) []string {
	set := map[string]bool{}
	var path []int
	on := make([]bool, len(adj))
	var dfs func(start, v int)
	dfs = func(start, v int) {
		for _, w := range adj[v] {
			if w == start {
				c := slices.Clone(path)
				m := slices.Index(c, slices.Min(c))
				c = append(c[m:], c[:m]...)
				set[fmt.Sprint(c)] = true
			} else if !on[w] {
				on[w] = true
				path = append(path, w)
				dfs(start, w)
				path = path[:len(path)-1]
				on[w] = false
			}
		}
	}
	for s := range adj {
		path = []int{s}
		on[s] = true
		dfs(s, s)
		on[s] = false
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestElementaryCyclesMatchOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 400; iter++ {
		n := 1 + rng.Intn(7)
		p := rng.Float64()
		adj := make([][]int, n)
		for v := range adj {
			for w := 0; w < n; w++ {
				if rng.Float64() < p*0.6 {
					adj[v] = append(adj[v], w) // self-loops included
				}
			}
		}
		var got []string
		var steps int
		if !elementaryCycles(adj, 1<<30, &steps, func(c []int) bool {
			got = append(got, fmt.Sprint(c))
			return true
		}) {
			t.Fatal("enumeration stopped early")
		}
		sort.Strings(got)
		want := naiveCycles(adj)
		if !slices.Equal(got, want) {
			t.Fatalf("graph %v:\n got %v\nwant %v", adj, got, want)
		}
	}
}

// TestCyclesMatchOracle builds random analyses, and checks Cycles against the
// oracle run on edges derived from the analysis by the rules of Build, written
// out again here the plain way.
func TestCyclesMatchOracle(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	kinds := []string{snapshot.KindLock, snapshot.KindRLock, snapshot.KindFuture, snapshot.KindThread}
	for iter := 0; iter < 500; iter++ {
		nt, nr := 1+rng.Intn(6), 1+rng.Intn(5)
		res := make([]locks.Ref, nr)
		for i := range res {
			k := kinds[rng.Intn(len(kinds))]
			res[i] = locks.Ref{Kind: k, ID: fmt.Sprintf("%s@%#x", k, 0x10+i)}
		}
		f := newFixture()
		for tid := 1; tid <= nt; tid++ {
			for _, r := range res {
				switch x := rng.Float64(); {
				case x < 0.15:
					f.hold(tid, r, "with block at x.py:1")
				case x < 0.25:
					f.probable(tid, r, "inside acquire() at x.py:2")
				}
			}
			if rng.Float64() < 0.8 {
				var on []int
				for o := 1; o <= nt; o++ {
					if rng.Float64() < 0.2 {
						on = append(on, o)
					}
				}
				f.wait(tid, res[rng.Intn(nr)], on...)
			}
		}
		got := f.build().Cycles()
		want := oracleCycles(f.a, res)
		var gs []string
		for _, c := range got {
			gs = append(gs, c.String())
		}
		sort.Strings(gs)
		if !slices.Equal(gs, want) {
			t.Fatalf("iteration %d:\n got %v\nwant %v\nanalysis waits %v holds %v", iter, gs, want, f.a.Waits, f.a.Holds)
		}
		if !sort.SliceIsSorted(got, func(i, j int) bool {
			return slices.Compare(got[i].Threads, got[j].Threads) < 0 ||
				slices.Equal(got[i].Threads, got[j].Threads) && slices.Compare(got[i].Resources, got[j].Resources) < 0
		}) {
			t.Fatalf("cycles not sorted: %v", got)
		}
	}
}

func oracleCycles(a *locks.Analysis, res []locks.Ref) []string {
	// Vertices: threads 0..99 by tid, resources 100+i.
	adj := make([][]int, 100+len(res))
	ri := map[string]int{}
	for i, r := range res {
		ri[r.ID] = 100 + i
	}
	edge := func(v, w int) {
		if !slices.Contains(adj[v], w) {
			adj[v] = append(adj[v], w)
		}
	}
	proven := map[string]bool{}
	for tid, hs := range a.Holds {
		for _, h := range hs {
			if !h.Probable {
				edge(ri[h.ID], tid)
				proven[h.ID] = true
			}
		}
	}
	for tid, w := range a.Waits {
		edge(tid, ri[w.ID])
		if w.Kind == snapshot.KindThread || !proven[w.ID] {
			for _, o := range w.On {
				edge(ri[w.ID], o)
			}
		}
	}
	// naiveCycles gives "[1 100 2 101]", rotated to the least vertex: a
	// thread, since threads are < 100.
	var conv []string
	for _, s := range naiveCycles(adj) {
		var c Cycle
		for i, v := range splitInts(s) {
			if i%2 == 0 {
				c.Threads = append(c.Threads, v)
			} else {
				c.Resources = append(c.Resources, res[v-100].ID)
			}
		}
		conv = append(conv, c.String())
	}
	sort.Strings(conv)
	return conv
}

func splitInts(s string) []int {
	var out []int
	n, in := 0, false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n, in = n*10+int(r-'0'), true
			continue
		}
		if in {
			out = append(out, n)
		}
		n, in = 0, false
	}
	return out
}

// TestInferredEdgeClosesProbableCycle: a thread holds a lock and waits on a
// condition; the thread whose code would notify it (feed-site, inferred by
// a finding) waits for that lock. The analysis alone has no cycle; with the
// inferred edge the graph has a probable one, drawn with the call.
func TestInferredEdgeClosesProbableCycle(t *testing.T) {
	cond := locks.Ref{Kind: snapshot.KindCondition, ID: "condition@0x3000", Name: strp("changed")}
	reg := lockRef(0x1000, "registry")
	f := newFixture().
		thread(1, "waiter", "wait_for_change", "/app/m.py", 9).
		thread(2, "notifier", "announce", "/app/m.py", 13).
		wait(1, cond).hold(1, reg, "with block at m.py:6").
		wait(2, reg)
	if pc := f.build().ProbableCycles(); len(pc) != 0 {
		t.Fatalf("probable cycles without the inferred edge: %+v", pc)
	}
	at := &locks.Site{File: "/app/m.py", Line: 16, Function: "announce", Call: "notify_all"}
	g := BuildInferred(f.s, f.a, []Inferred{{Resource: cond.ID, Thread: 2, Evidence: []locks.Evidence{{Basis: locks.BasisFeedSite, At: at}}}})
	want := []Cycle{{Threads: []int{1, 2}, Resources: []string{cond.ID, reg.ID}}}
	if pc := g.ProbableCycles(); !reflect.DeepEqual(pc, want) {
		t.Fatalf("probable cycles %+v, want %+v", pc, want)
	}
	if len(g.Cycles()) != 0 {
		t.Errorf("an inferred edge made a proven cycle: %+v", g.Cycles())
	}
	c, _ := g.Resource(cond.ID)
	n, _ := g.Thread(2)
	if e, ok := g.EdgeBetween(c.ID, n.ID); !ok || e.Kind != EdgeProbable || !strings.Contains(e.Label, "notify_all() at m.py:16") {
		t.Errorf("edge %+v (%v), want a probable one naming notify_all() at m.py:16", e, ok)
	}
	// A resource the graph does not have is left out.
	g = BuildInferred(f.s, f.a, []Inferred{{Resource: "queue@0x9", Thread: 2}})
	if _, ok := g.Resource("queue@0x9"); ok {
		t.Errorf("an inferred edge added a resource")
	}
}
