package capture

import (
	"encoding/binary"
	"time"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/target"
)

// The GIL watch: one snapshot shows who holds the GIL and who waits for it,
// never for how long. A thread that waits for the GIL asks its holder to let
// go once a switch interval (5 ms by default) has passed; code that runs
// Python does so within the next interval, and the waiter takes it, which
// counts a switch. So when, after the snapshot, the GIL stays locked with
// the same switch count for fifty intervals while a thread the snapshot saw
// waiting still waits (a GIL wait has no end but the GIL), the holder never
// let it go: it runs native code that keeps it. The watch reads the GIL's
// own words, without stopping the target, and only where the snapshot shows
// a holder and a waiter; it ends at the first read that sees a switch.

// gilWatchIntervals is how many switch intervals the GIL must stay with its
// holder, and gilWatchMin and gilWatchMax bound how long that is watched.
const (
	gilWatchIntervals = 50
	gilWatchMin       = 250 * time.Millisecond
	gilWatchMax       = time.Second
)

// gilWatchReads is how many reads a watch takes at most.
const gilWatchReads = 25

// gilWords are the bytes read of a GIL: interval, last_holder, locked and
// switch_number, the first 32 bytes of struct _gil_runtime_state in every
// supported version (checked against DWARF: Layout.GIL*).
const gilWords = 32

// watchGILs watches each GIL of s that a thread holds while another waits
// for it, reading mem (the running target), and records what it saw.
func watchGILs(s *snapshot.Snapshot, mem target.Memory) {
	watched := map[snapshot.Addr]*snapshot.GILWatch{}
	for i := range s.Target.Interpreters {
		g := s.Target.Interpreters[i].GIL
		if g == nil {
			continue
		}
		if w, ok := watched[g.Addr]; ok {
			g.Watch = w // an interpreter that shares the main GIL
			continue
		}
		awaited, runnable := heldAndAwaited(s, g.Addr)
		if !awaited && len(runnable) == 0 {
			continue
		}
		w := watchGIL(mem, g, runnable)
		watched[g.Addr] = w
		g.Watch = w
	}
}

// heldAndAwaited says whether a thread of s holds the GIL at addr while
// another waits for it; and, when one holds it, which others were runnable
// at the snapshot: a GIL waiter wakes once a switch interval to ask for the
// GIL, and on a busy machine all of them may be caught awake, or waiting
// for a CPU. The watch looks at those again (watchGIL).
func heldAndAwaited(s *snapshot.Snapshot, addr snapshot.Addr) (awaited bool, runnable []int) {
	held := false
	for i := range s.Threads {
		t := &s.Threads[i]
		if gilOf(s, t) != addr {
			continue
		}
		held = held || t.GIL == snapshot.GILHeld
		awaited = awaited || t.GIL == snapshot.GILWaiting
		if t.GIL != snapshot.GILHeld && t.GIL != snapshot.GILWaiting && t.State == snapshot.StateRunning && len(t.Frames) > 0 && len(runnable) < maxRunnableLooks {
			runnable = append(runnable, t.TID)
		}
	}
	if !held {
		return false, nil
	}
	return awaited, runnable
}

// maxRunnableLooks bounds the runnable threads the watch looks at again:
// each costs a /proc read at each of its reads, and one seen waiting is
// enough.
const maxRunnableLooks = 16

// futexWaits tells the futex word a thread of a running target waits on
// (live.Process).
type futexWaits interface {
	FutexWaitOf(tid int) (uint64, bool)
}

// gilOf is the address of the GIL thread t takes: its interpreter's.
func gilOf(s *snapshot.Snapshot, t *snapshot.Thread) snapshot.Addr {
	if in := s.InterpreterOf(t); in != nil && in.GIL != nil {
		return in.GIL.Addr
	}
	return 0
}

// watchGIL reads the GIL g until it sees a switch, or for the watch's
// length: fifty switch intervals, within its bounds; nil when the interval
// is too long to watch that many of them. At each read it looks, in /proc,
// whether the runnable threads wait for the GIL now (GILWatch.Waiters).
func watchGIL(mem target.Memory, g *snapshot.GILState, runnable []int) *snapshot.GILWatch {
	look, _ := mem.(futexWaits)
	gil := cpython.GIL{Addr: uint64(g.Addr)}
	seen := map[int]bool{}
	span := time.Duration(g.IntervalUS) * time.Microsecond * gilWatchIntervals
	if g.IntervalUS == 0 || span > gilWatchMax {
		return nil
	}
	span = max(span, gilWatchMin)
	w := &snapshot.GILWatch{Kept: true}
	buf := make([]byte, gilWords)
	start := time.Now()
	for i := range gilWatchReads {
		if i > 0 {
			time.Sleep(span / (gilWatchReads - 1))
		}
		n, err := mem.ReadAt(buf, uint64(g.Addr))
		if err != nil || n < gilWords {
			return nil // the target is gone, or its GIL with it
		}
		w.Reads++
		for _, tid := range runnable {
			if look == nil || seen[tid] {
				continue
			}
			if futex, ok := look.FutexWaitOf(tid); ok && gil.WaitsForGIL(futex) {
				seen[tid] = true
				w.Waiters = append(w.Waiters, tid)
			}
		}
		locked := binary.LittleEndian.Uint32(buf[16:]) != 0
		switches := binary.LittleEndian.Uint64(buf[24:])
		w.Seconds = time.Since(start).Seconds()
		if !locked || switches != g.Switches {
			w.Kept = false
			break
		}
	}
	return w
}
