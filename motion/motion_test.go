package motion

import (
	"testing"
	"time"

	"github.com/pyhang/pyhang/snapshot"
)

// looks builds a series of looks one second apart from per-look thread states.
func looks(states ...map[int]ThreadLook) []Look {
	t0 := time.Unix(1000, 0)
	out := make([]Look, len(states))
	for i, s := range states {
		out[i] = Look{At: t0.Add(time.Duration(i) * time.Second), Threads: s}
	}
	return out
}

func TestClassify(t *testing.T) {
	const ms = time.Millisecond
	ls := looks(
		map[int]ThreadLook{1: {Stack: "a"}, 2: {Stack: "b", CPU: 0}, 3: {Stack: "c", Runs: 5}, 4: {Stack: "d", Runs: 1}},
		map[int]ThreadLook{1: {Stack: "a"}, 2: {Stack: "b", CPU: 900 * ms}, 3: {Stack: "c2", Runs: 6}, 4: {Stack: "d", CPU: ms, Runs: 3}, 5: {Stack: "e"}},
		map[int]ThreadLook{1: {Stack: "a"}, 2: {Stack: "b", CPU: 1900 * ms}, 3: {Stack: "c2", Runs: 7}, 4: {Stack: "d", CPU: 2 * ms, Runs: 5}, 5: {Stack: "e"}},
	)
	got := Classify(ls)
	want := map[int]struct {
		class   string
		sameFor Seconds
		looks   int
	}{
		1: {Stuck, 2, 3},    // the same stack, no CPU
		2: {Spinning, 2, 3}, // the same stack, busy
		3: {Moving, 1, 3},   // its stack changed
		4: {Moving, 2, 3},   // woken now and then, back at the same place
		5: {Stuck, 1, 2},    // seen by the last two looks only
	}
	for tid, w := range want {
		g := got[tid]
		if g.Class != w.class || g.SameFor != w.sameFor || g.Looks != w.looks {
			t.Errorf("thread %d: %+v, want class %s, same for %v s, %d looks", tid, g, w.class, w.sameFor, w.looks)
		}
	}
	if g := got[2]; g.CPU != 1.9 {
		t.Errorf("thread 2 used %v s of CPU, want 1.9", g.CPU)
	}
	if len(Classify(nil)) != 0 {
		t.Error("no looks, yet threads")
	}
}

func TestProgress(t *testing.T) {
	base := map[int]ThreadLook{1: {Stack: "a", CPU: time.Second}, 2: {Stack: "b"}}
	with := func(tid int, f func(*ThreadLook)) Look {
		m := map[int]ThreadLook{}
		for k, v := range base {
			m[k] = v
		}
		tl := m[tid]
		f(&tl)
		m[tid] = tl
		return Look{Threads: m}
	}
	prev := Look{Threads: base}
	for _, c := range []struct {
		name string
		cur  Look
		want bool
	}{
		{"nothing changed", with(1, func(*ThreadLook) {}), false},
		{"CPU used", with(1, func(l *ThreadLook) { l.CPU += time.Millisecond }), true},
		{"stack changed", with(2, func(l *ThreadLook) { l.Stack = "b2" }), true},
		{"a wait with a timeout", with(2, func(l *ThreadLook) { l.Timed = true }), true},
		{"waits at a terminal", with(2, func(l *ThreadLook) { l.Paused = true }), true},
		{"a thread came", Look{Threads: map[int]ThreadLook{1: base[1], 2: base[2], 3: {}}}, true},
		{"a thread went", Look{Threads: map[int]ThreadLook{1: base[1]}}, true},
	} {
		if got := Progress(prev, c.cur); got != c.want {
			t.Errorf("%s: progress %v, want %v", c.name, got, c.want)
		}
	}
}

func TestNewLook(t *testing.T) {
	s := &snapshot.Snapshot{Threads: []snapshot.Thread{{TID: 7, Frames: []snapshot.Frame{
		{File: "/p.py", Line: 3, Qualname: "f", Refs: map[string]string{"lock": "lock@0x10"}, With: []string{"lock@0x20"}},
		{File: "/p.py", Line: 9, Qualname: "main"},
	}}}}
	l := NewLook(time.Unix(5, 0), s, map[int]Usage{7: {Time: time.Second, Runs: 3}, 8: {}}, map[int]bool{8: true}, nil)
	th := l.Threads[7]
	if th.Stack != "/p.py:3:f\n/p.py:9:main\n" || th.CPU != time.Second || th.Runs != 3 {
		t.Errorf("thread 7: %+v", th)
	}
	if len(th.Refs) != 2 || th.Refs[0] != "lock@0x10" || th.Refs[1] != "lock@0x20" {
		t.Errorf("refs %v", th.Refs)
	}
	if !l.Threads[8].Timed || l.Threads[8].Stack != "" {
		t.Errorf("thread 8, not Python, waiting with a timeout: %+v", l.Threads[8])
	}
	if l.Locks == nil {
		t.Error("a Python look has no analysis")
	}
}

// TestGILKept: a GIL that stayed with one thread between two looks, a second
// apart, while a thread waited for it at both, is kept; the Python threads'
// CPU time and timed waits are then no progress, a thread without Python's is.
func TestGILKept(t *testing.T) {
	gil := func(holder int, switches uint64, waiters ...int) *GILLook {
		return &GILLook{Addr: 0x1000, Switches: switches, Interval: 5 * time.Millisecond, Holder: holder, Waiters: waiters}
	}
	const ms = time.Millisecond
	busy := func(cpu time.Duration) map[int]ThreadLook {
		return map[int]ThreadLook{
			1: {Stack: "match", CPU: cpu, Python: true},
			2: {Stack: "work", CPU: cpu / 100, Python: true},
			3: {Stack: "main", Timed: true, Python: true},
		}
	}
	for _, c := range []struct {
		name       string
		prev, cur  *GILLook
		apart      time.Duration
		kept       bool
		progress   bool
		otherMoves bool // a thread without Python used the CPU
	}{
		{"kept", gil(1, 7, 2), gil(1, 7, 2), time.Second, true, false, false},
		{"kept, a C thread moves", gil(1, 7, 2), gil(1, 7, 2), time.Second, true, true, true},
		{"switched", gil(1, 7, 2), gil(1, 9, 2), time.Second, false, true, false},
		{"another holder", gil(1, 7, 2), gil(2, 7, 1), time.Second, false, true, false},
		{"no waiter at the first look", gil(1, 7), gil(1, 7, 2), time.Second, false, true, false},
		{"too close", gil(1, 7, 2), gil(1, 7, 2), 50 * ms, false, true, false},
		{"unknown", nil, gil(1, 7, 2), time.Second, false, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			prev := Look{At: t0, Threads: busy(time.Second), GIL: c.prev}
			cur := Look{At: t0.Add(c.apart), Threads: busy(2 * time.Second), GIL: c.cur}
			if c.otherMoves {
				prev.Threads[4] = ThreadLook{CPU: ms}
				cur.Threads[4] = ThreadLook{CPU: 2 * ms}
			}
			holder, kept := GILKept(prev, cur)
			if kept != c.kept || kept && holder != 1 {
				t.Errorf("kept %v by %d, want %v by 1", kept, holder, c.kept)
			}
			if got := Progress(prev, cur); got != c.progress {
				t.Errorf("progress %v, want %v", got, c.progress)
			}
		})
	}
}
