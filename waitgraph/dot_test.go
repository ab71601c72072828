package waitgraph

import (
	"bytes"
	"math/rand"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

func TestDOTContainsTheGraph(t *testing.T) {
	g := twoCycle().build()
	b, err := g.DOT(g.Cycles())
	if err != nil {
		t.Fatal(err)
	}
	dot := string(b)
	for _, want := range []string{
		"strict digraph waitgraph {",
		"rankdir=LR",
		"subgraph cluster_legend {",
		`"tid:4355" [`,
		`"tid:4356" [`,
		`"res:lock@0x7f0010" [`,
		`label="posting (tid 4355)\nh.py:17 in settle"`,
		`label="auditing (tid 4356)\nh.py:29 in check"`,
		`label="Lock ledger"`,
		`label="Lock audit"`,
		`"tid:4355" -> "res:lock@0x7f0020" [`,
		`"res:lock@0x7f0010" -> "tid:4355" [`,
		`label="held by\nwith block at h.py:15"`,
		`label="wait-for graph of pid 4321, Python 3.12.1\n1 deadlock cycle (red)"`,
		"shape=box",
		"shape=ellipse",
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %s", want)
		}
	}
	if t.Failed() {
		t.Log(dot)
	}
}

func TestDOTHighlight(t *testing.T) {
	f := twoCycle()
	f.probable(9, lockRef(0x30, "file_lock"), "inside acquire() at rw.py:12 … no release()")
	g := f.build()
	plain, err := g.DOT(nil)
	if err != nil {
		t.Fatal(err)
	}
	red, err := g.DOT(g.Cycles())
	if err != nil {
		t.Fatal(err)
	}
	// The legend has one red node; the cycle adds 2 threads, 2 locks and
	// their 4 edges.
	if n := bytes.Count(plain, []byte("penwidth=2.5")); n != 1 {
		t.Errorf("without highlight: %d red items, want the legend's 1", n)
	}
	if n := bytes.Count(red, []byte("penwidth=2.5")); n != 9 {
		t.Errorf("with highlight: %d red items, want 1 + 8", n)
	}
	// Probable holds are dashed (gray), once in the legend and once here.
	if n := bytes.Count(red, []byte("style=dashed")); n != 3 {
		t.Errorf("dashed: %d, want the legend's frame and edge, and the probable hold\n%s", n, red)
	}
}

// TestDOTProbableCycle: a probable cycle drawn red keeps its probable hold
// dashed, in red.
func TestDOTProbableCycle(t *testing.T) {
	a, b := lockRef(0x1, "a"), lockRef(0x2, "b")
	f := newFixture().
		thread(1, "one", "work", "/app/w.py", 6).thread(2, "two", "work", "/app/w.py", 16).
		probable(1, a, "inside acquire() at w.py:4 … release() at :9, now at line 6").wait(1, b).
		probable(2, b, "inside acquire() at w.py:14 … release() at :19, now at line 16").wait(2, a)
	g := f.build()
	out, err := g.DOT(g.ProbableCycles())
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(out, []byte(`style="dashed,bold"`)); n != 2 {
		t.Errorf("red dashed edges: %d, want the cycle's 2 probable holds\n%s", n, out)
	}
}

// TestDOTStable: identical input gives identical bytes, whatever the order of
// the snapshot's threads and of map iteration.
func TestDOTStable(t *testing.T) {
	var first []byte
	rng := rand.New(rand.NewSource(3))
	for i := 0; i < 8; i++ {
		f := twoCycle()
		f.thread(7, "idle", "sleep", "/app/i.py", 3).wait(7, locks.Ref{Kind: snapshot.KindQueue, ID: "queue@0x99", Name: strp("jobs")})
		rng.Shuffle(len(f.s.Threads), func(a, b int) { f.s.Threads[a], f.s.Threads[b] = f.s.Threads[b], f.s.Threads[a] })
		g := f.build()
		b, err := g.DOT(g.Cycles())
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("run %d differs:\n%s\n----\n%s", i, first, b)
		}
	}
}

func TestLabels(t *testing.T) {
	q := locks.Ref{Kind: snapshot.KindQueue, ID: "queue@0x500", Name: strp("jobs")}
	orphan := lockRef(0x600, "")
	f := newFixture().thread(3, "", "get", "/usr/lib/python3.12/queue.py", 171)
	f.s.Threads[0].Main = true
	f.s.Threads[0].Frames[1] = snapshot.Frame{Function: "worker", File: "/app/job.py", Line: 12}
	f.a.Waits[3] = &locks.Wait{Ref: q, Frame: 1}
	f.thread(4, "", "post", "/app/p.py", 5).wait(4, orphan)
	f.wait(5, locks.Ref{Kind: "gil", ID: "gil"})
	sem := locks.Ref{Kind: snapshot.KindSemaphore, ID: "semaphore@0x700", Name: strp("slots")}
	f.wait(6, sem)
	n := 0
	f.s.Objects[q.ID] = &snapshot.Object{ID: q.ID, Kind: snapshot.KindQueue, Len: &n}
	yes := true
	f.s.Objects[orphan.ID] = &snapshot.Object{ID: orphan.ID, Kind: snapshot.KindLock, Locked: &yes, Names: []string{"file_lock"}}
	f.s.Objects[sem.ID] = &snapshot.Object{ID: sem.ID, Kind: snapshot.KindSemaphore, Type: "Semaphore", Value: "0"}
	g := f.build()
	want := map[string]string{
		"tid 3":     "MainThread (tid 3)\nqueue.py:171 in get\nfrom job.py:12 in worker",
		"tid 4":     "thread (tid 4)\np.py:5 in post",
		"tid 5":     "tid 5\n(not in snapshot)",
		q.ID:        "Queue jobs\nlength 0",
		orphan.ID:   "Lock file_lock\nlocked, no live holder found",
		sem.ID:      "Semaphore slots\nno unit left, no live holder found",
		"gil":       "GIL",
		"lock@0x77": "Lock @0x77",
	}
	f2 := newFixture().wait(1, lockRef(0x77, ""))
	g2 := f2.build()
	for key, w := range want {
		var n Node
		var ok bool
		switch {
		case strings.HasPrefix(key, "tid "):
			var tid int
			for _, c := range key[4:] {
				tid = tid*10 + int(c-'0')
			}
			n, ok = g.Thread(tid)
		case key == "lock@0x77":
			n, ok = g2.Resource(key)
		default:
			n, ok = g.Resource(key)
		}
		if !ok || n.Label != w {
			t.Errorf("%s: label %q (found %v), want %q", key, n.Label, ok, w)
		}
	}
}

func TestHostileText(t *testing.T) {
	long := strings.Repeat("x", 500)
	if got := clean("a\x00b\nc\xffd", 100); got != `a\x00b\x0ac\xffd` {
		t.Errorf("clean: %q", got)
	}
	if got := clean(long, 10); got != "xxxxxxxxxx…" {
		t.Errorf("clean long: %q", got)
	}
	if got := holdLabel(EdgeHeld, ev("RLock owner field (count 2); with block at a.py:3")); got != "held by\nwith block at a.py:3" {
		t.Errorf("hold label: %q", got)
	}
	if got := holdLabel(EdgeHeld, ev("RLock owner field (count 2)")); got != "held by" {
		t.Errorf("hold label: %q", got)
	}
}

func TestEmptyGraph(t *testing.T) {
	for _, g := range []*Graph{Build(nil, nil), Build(nil, &locks.Analysis{})} {
		if g.Len() != 0 || len(g.Cycles()) != 0 {
			t.Fatal("empty analysis gave a non-empty graph")
		}
		b, err := g.DOT(nil)
		if err != nil || !bytes.Contains(b, []byte(`no thread waits on or holds anything`)) {
			t.Fatalf("empty DOT: %v\n%s", err, b)
		}
	}
}

// TestBuildSkipsBadRefs: refs without id or kind, waits that are nil, and
// frame indexes out of range come from a buggy or hostile analysis; Build
// must not panic on them.
func TestBuildSkipsBadRefs(t *testing.T) {
	f := newFixture().thread(1, "a", "f", "/x.py", 1)
	f.a.Waits[1] = &locks.Wait{Ref: locks.Ref{}, Frame: 99}
	f.a.Waits[2] = nil
	f.a.Holds[3] = []locks.Hold{{Ref: locks.Ref{}, Frame: -5}}
	f.a.Holders["lock@0x1"] = nil
	f.a.Holders[""] = []int{4}
	g := f.build()
	if g.Len() != 0 {
		t.Fatalf("nodes from empty refs: %+v", g.Nodes())
	}
	f.a.Holders["thread@7"] = []int{7}
	if r, _ := f.build().Resource("thread@7"); r.Resource.Kind != snapshot.KindThread {
		t.Fatalf("kind of a resource known from Holders only: %+v", r)
	}
	delete(f.a.Holders, "thread@7")
	f.a.Waits[1] = &locks.Wait{Ref: lockRef(0x5, ""), Frame: 99}
	if n, _ := f.build().Thread(1); n.Label != "a (tid 1)\nx.py:1 in f" {
		t.Fatalf("label %q", n.Label)
	}
}

// TestWaitFromFrameLabel: a wait named only from the thread's Python frame
// says so on its edge; others do not.
func TestWaitFromFrameLabel(t *testing.T) {
	f := twoCycle()
	f.a.Waits[4355].Evidence = []locks.Evidence{{Basis: locks.BasisPythonFrame, Method: "__enter__"}}
	g := f.build()
	posting, _ := g.Thread(4355)
	auditing, _ := g.Thread(4356)
	audit, _ := g.Resource("lock@0x7f0020")
	ledger, _ := g.Resource("lock@0x7f0010")
	if e, ok := g.EdgeBetween(posting.ID, audit.ID); !ok || e.Label != "waits for\n(from its Python frame)" {
		t.Errorf("frame-named wait edge: %+v (found %v)", e, ok)
	}
	if e, ok := g.EdgeBetween(auditing.ID, ledger.ID); !ok || e.Label != "waits for" {
		t.Errorf("futex wait edge: %+v (found %v)", e, ok)
	}
}
