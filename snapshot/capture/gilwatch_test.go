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
	if w := watchGIL(&gilMemory{}, g); w == nil || !w.Kept || w.Reads != gilWatchReads || w.Seconds < 0.2 {
		t.Errorf("a GIL that never changes: %+v, want kept over %d reads and 0.25 s", w, gilWatchReads)
	}
	if w := watchGIL(&gilMemory{changeAt: 3}, g); w == nil || w.Kept || w.Reads != 3 {
		t.Errorf("a switch at the third read: %+v, want not kept, after 3 reads", w)
	}
	if w := watchGIL(&gilMemory{changeAt: 1, unlock: true}, g); w == nil || w.Kept || w.Reads != 1 {
		t.Errorf("unlocked at the first read: %+v, want not kept, after 1 read", w)
	}
	if w := watchGIL(&gilMemory{gone: true}, g); w != nil {
		t.Errorf("a target gone: %+v, want no watch", w)
	}
	// Fifty intervals of 1 s are too long to watch.
	if w := watchGIL(&gilMemory{}, &snapshot.GILState{Addr: 0x1000, Switches: 7, IntervalUS: 1e6}); w != nil {
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
	s.Threads[1].GIL = snapshot.GILWaiting
	watchGILs(s, m)
	w := s.Target.Interpreters[0].GIL.Watch
	if m.reads != 1 || w == nil || w.Kept || s.Target.Interpreters[1].GIL.Watch != w {
		t.Errorf("a waiter: %d reads, watch %+v and %+v; want one read, shared", m.reads, w, s.Target.Interpreters[1].GIL.Watch)
	}
}
