package capture

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// gilMemory is a GIL whose words change at a given read: from then on it is
// unlocked, or another thread took it (one more switch).
type gilMemory struct {
	reads, changeAt int
	unlock          bool
	gone            bool
	// futex is the futex word each thread waits on (FutexWaitOf).
	futex map[int]uint64
}

func (m *gilMemory) FutexWaitOf(tid int) (uint64, bool) {
	f, ok := m.futex[tid]
	return f, ok
}

func (m *gilMemory) ReadAt(p []byte, addr uint64) (int, error) {
	if m.gone {
		return 0, errors.New("no such process")
	}
	m.reads++
	clear(p)
	binary.LittleEndian.PutUint64(p[0:], 5000)
	binary.LittleEndian.PutUint32(p[16:], 1)
	binary.LittleEndian.PutUint64(p[24:], 7)
	if m.changeAt > 0 && m.reads >= m.changeAt {
		if m.unlock {
			binary.LittleEndian.PutUint32(p[16:], 0)
		} else {
			binary.LittleEndian.PutUint64(p[24:], 8)
		}
	}
	return len(p), nil
}

func TestWatchGIL(t *testing.T) {
	g := &snapshot.GILState{Addr: 0x1000, Switches: 7, IntervalUS: 5000}
	if w := watchGIL(&gilMemory{}, g, nil); w == nil || !w.Kept || w.Reads != gilWatchReads || w.Seconds < 0.2 {
		t.Errorf("a GIL that never changes: %+v, want kept over %d reads and 0.25 s", w, gilWatchReads)
	}
	if w := watchGIL(&gilMemory{changeAt: 3}, g, nil); w == nil || w.Kept || w.Reads != 3 {
		t.Errorf("a switch at the third read: %+v, want not kept, after 3 reads", w)
	}
	if w := watchGIL(&gilMemory{changeAt: 1, unlock: true}, g, nil); w == nil || w.Kept || w.Reads != 1 {
		t.Errorf("unlocked at the first read: %+v, want not kept, after 1 read", w)
	}
	if w := watchGIL(&gilMemory{gone: true}, g, nil); w != nil {
		t.Errorf("a target gone: %+v, want no watch", w)
	}
	// Runnable at the snapshot: 2 then waits on the GIL's cond, 3 on
	// another futex, 4 on none.
	m := &gilMemory{futex: map[int]uint64{2: 0x1000 + 40, 3: 0x9000}}
	if w := watchGIL(m, g, []int{2, 3, 4}); w == nil || !w.Kept || len(w.Waiters) != 1 || w.Waiters[0] != 2 {
		t.Errorf("runnable threads 2 (then on the GIL's cond), 3 and 4: %+v, want waiters [2]", w)
	}
	// Fifty intervals of 1 s are too long to watch.
	if w := watchGIL(&gilMemory{}, &snapshot.GILState{Addr: 0x1000, Switches: 7, IntervalUS: 1e6}, nil); w != nil {
		t.Errorf("a 1 s switch interval: %+v, want no watch", w)
	}
}

// TestWatchGILsOnlyContended: a GIL is watched only where a thread holds it
// while another waits; a subinterpreter that shares it shares the watch.
func TestWatchGILsOnlyContended(t *testing.T) {
	gil := func() *snapshot.GILState { return &snapshot.GILState{Addr: 0x1000, Switches: 7, IntervalUS: 5000} }
	s := &snapshot.Snapshot{Target: snapshot.TargetInfo{Interpreters: []snapshot.Interpreter{
		{InterpreterRef: snapshot.InterpreterRef{ID: 0, Main: true}, GIL: gil()},
		{InterpreterRef: snapshot.InterpreterRef{ID: 1}, GIL: gil()},
	}}, Threads: []snapshot.Thread{{TID: 1, GIL: snapshot.GILHeld}, {TID: 2, GIL: snapshot.GILNone}}}
	m := &gilMemory{changeAt: 1}
	watchGILs(s, m)
	if m.reads != 0 || s.Target.Interpreters[0].GIL.Watch != nil {
		t.Errorf("no waiter, yet the GIL was read %d times", m.reads)
	}
	// A runnable thread with Python frames may be a waiter caught awake:
	// watched.
	s.Threads[1].State, s.Threads[1].Frames = snapshot.StateRunning, []snapshot.Frame{{Function: "work"}}
	watchGILs(s, m)
	if m.reads != 1 || s.Target.Interpreters[0].GIL.Watch == nil {
		t.Errorf("a runnable thread beside the holder: %d reads, want the GIL watched", m.reads)
	}
	m.reads = 0
	s.Threads[1].State, s.Threads[1].Frames = "", nil
	s.Threads[1].GIL = snapshot.GILWaiting
	watchGILs(s, m)
	w := s.Target.Interpreters[0].GIL.Watch
	if m.reads != 1 || w == nil || w.Kept || s.Target.Interpreters[1].GIL.Watch != w {
		t.Errorf("a waiter: %d reads, watch %+v and %+v; want one read, shared", m.reads, w, s.Target.Interpreters[1].GIL.Watch)
	}
}
