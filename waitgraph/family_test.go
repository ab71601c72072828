package waitgraph

import (
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// TestBuildAllCycleAcrossProcesses: a parent's main thread reads the child's
// stdout pipe while the child's main thread reads the parent's pipe to it:
// each process waits on the other, a cycle through two pipes.
func TestBuildAllCycleAcrossProcesses(t *testing.T) {
	fd := 3
	mk := func(pid, tid int, readIno, writeIno uint64) *snapshot.Snapshot {
		return &snapshot.Snapshot{
			Target: snapshot.TargetInfo{Kind: "pid", PID: pid, Python: "3.12.1",
				OpenPipes: []snapshot.OpenPipe{{FD: 3, Inode: readIno}, {FD: 4, Inode: writeIno, Write: true}}},
			Threads: []snapshot.Thread{{TID: tid, Main: true, State: snapshot.StateIO,
				Kernel: &snapshot.Kernel{Syscall: "read", FD: &fd, PipeInode: readIno},
				Frames: []snapshot.Frame{{Function: "communicate", File: "/x/subprocess.py", Line: 1}}}},
		}
	}
	parent, child := mk(100, 100, 7, 8), mk(101, 101, 8, 7)
	cross := locks.CrossWaits([]*snapshot.Snapshot{parent, child})
	if len(cross) != 2 {
		t.Fatalf("%d cross-process waits, want 2: %+v", len(cross), cross)
	}
	for _, w := range cross {
		if len(w.On) != 1 || w.Waits.Kind != locks.KindPipe {
			t.Errorf("wait %+v: want a pipe, ended only by the other process's main thread", w)
		}
	}
	g := BuildAll([]*locks.Analysis{locks.Analyze(parent), locks.Analyze(child)}, cross)
	cycles := g.Cycles()
	if len(cycles) != 1 || len(cycles[0].Threads) != 2 {
		t.Fatalf("cycles %+v, want one through both main threads", cycles)
	}
	if _, ok := g.Resource("pipe@7"); !ok {
		t.Errorf("no node for pipe 7")
	}
}

// TestBuildAllHoldersPrefixed: a process's proven holders (Analysis.Holders)
// join its own resource in a family's graph, whose ids carry the process's
// prefix: the holder of the lowest tid held a lock, and its edge went to no
// node at all (node 0, itself: a panic), and another thread's to thread 0.
func TestBuildAllHoldersPrefixed(t *testing.T) {
	l := lockRef(0x10, "ledger")
	parent := newFixture().thread(100, "MainThread", "main", "/app/p.py", 3).hold(100, l, "with block at p.py:2")
	child := newFixture().thread(101, "MainThread", "main", "/app/p.py", 5).wait(101, l)
	parent.s.Target.PID, child.s.Target.PID = 100, 101
	g := BuildAll([]*locks.Analysis{parent.a, child.a}, nil)
	r, ok := g.Resource("pid 100/" + l.ID)
	if !ok {
		t.Fatalf("no node for the parent's lock")
	}
	th, _ := g.Thread(100)
	if e, ok := g.EdgeBetween(r.ID, th.ID); !ok || e.Kind != EdgeHeld {
		t.Errorf("the parent's lock → its holder: %+v %v, want held by", e, ok)
	}
	for _, e := range g.edges {
		from, _ := g.Node(e.From)
		to, _ := g.Node(e.To)
		if from.Kind.Actor() == to.Kind.Actor() {
			t.Errorf("edge %+v joins two %s nodes", e, from.Kind)
		}
	}
}
