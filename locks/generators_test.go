package locks

import (
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// generatorSnapshot: thread 10 waits for the locked lock@0x7000, which a
// suspended generator holds in a with block; refs are the locals of thread
// frames (tid → local names) that hold the generator, stack the tids whose
// frame holds it on its value stack.
func generatorSnapshot(refcount int64, global string, refs map[int][]string, stack []int) *snapshot.Snapshot {
	lk := lockObj(true)
	gen := &snapshot.Object{ID: "generator@0x6000", Kind: snapshot.KindGenerator, Type: "generator", Addr: 0x6000,
		Within: []string{lk.ID}, Global: global, Generator: &snapshot.GeneratorInfo{Refcount: &refcount,
			Frames: []snapshot.Frame{{Function: "rows", Qualname: "rows", File: "/g.py", Line: 4, With: []string{lk.ID}}}}}
	s := &snapshot.Snapshot{Objects: map[string]*snapshot.Object{lk.ID: lk, gen.ID: gen}}
	for _, tid := range []int{10, 11} {
		th := snapshot.Thread{TID: tid, Ident: uint64(tid), State: snapshot.StateBlocked,
			Frames: []snapshot.Frame{{Function: "f", Qualname: "f", File: "/w.py", Line: 9}}}
		if tid == 10 {
			th.Kernel = &snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: lk.WaitKey}
		}
		for _, name := range refs[tid] {
			if th.Frames[0].Refs == nil {
				th.Frames[0].Refs = map[string]string{}
			}
			th.Frames[0].Refs[name] = gen.ID
		}
		for _, st := range stack {
			if st == tid {
				th.StackRefs = []snapshot.StackRef{{Frame: 0, Object: gen.ID}}
			}
		}
		s.Threads = append(s.Threads, th)
	}
	return s
}

// TestGeneratorHolds: a thread holds a lock through a suspended generator
// only when every reference to the generator is a local of that thread;
// else the generator is the lock's holder, with what reaches it.
func TestGeneratorHolds(t *testing.T) {
	cases := []struct {
		name     string
		s        *snapshot.Snapshot
		holder   int // 0: the generator, no thread
		reachers int // references listed on the generator's hold
	}{
		{"one local, refcount 1", generatorSnapshot(1, "", map[int][]string{10: {"rows"}}, nil), 10, 0},
		{"two locals of one thread", generatorSnapshot(2, "", map[int][]string{10: {"a", "rows"}}, nil), 10, 0},
		{"the other thread's local", generatorSnapshot(1, "", map[int][]string{11: {"rows"}}, nil), 11, 0},
		{"a reference not found", generatorSnapshot(2, "", map[int][]string{10: {"rows"}}, nil), 0, 1},
		{"locals of two threads", generatorSnapshot(2, "", map[int][]string{10: {"rows"}, 11: {"rows"}}, nil), 0, 2},
		{"a global too", generatorSnapshot(2, "pending", map[int][]string{10: {"rows"}}, nil), 0, 1},
		{"only a value stack", generatorSnapshot(1, "", nil, []int{10}), 0, 1},
		{"a local and a stale slot", generatorSnapshot(1, "", map[int][]string{10: {"rows"}}, []int{11}), 10, 0},
		{"refcount unknown", func() *snapshot.Snapshot {
			s := generatorSnapshot(1, "", map[int][]string{10: {"rows"}}, nil)
			s.Objects["generator@0x6000"].Generator.Refcount = nil
			return s
		}(), 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := Analyze(c.s)
			got := a.Holders["lock@0x7000"]
			gh := a.GeneratorHolds["lock@0x7000"]
			if c.holder != 0 {
				if len(got) != 1 || got[0] != c.holder || len(gh) != 0 {
					t.Fatalf("holders %v, generator holds %+v; want thread %d", got, gh, c.holder)
				}
				h := a.hold(c.holder, "lock@0x7000")
				if len(h.Evidence) != 1 || h.Evidence[0].Basis != BasisGeneratorFrame || h.Evidence[0].Generator != "generator@0x6000" {
					t.Errorf("evidence %+v", h.Evidence)
				}
				return
			}
			if len(got) != 0 || len(gh) != 1 || gh[0].Generator.ID != "generator@0x6000" || len(gh[0].Refs) != c.reachers {
				t.Fatalf("holders %v, generator holds %+v; want the generator alone, reached %d way(s)", got, gh, c.reachers)
			}
			if w := a.Waits[10]; w == nil || w.ID != "lock@0x7000" {
				t.Errorf("thread 10 waits for %+v", w)
			}
		})
	}
}
