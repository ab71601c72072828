// Package motion says how the threads of a process move over time, from
// repeated looks at it taken without stopping it: which threads are stuck
// (the same stack, never on a CPU), which spin (the same stack, busy on a
// CPU) and which move; how long each has been stuck; and whether the process
// as a whole makes progress. Findings stay those of one consistent snapshot;
// the looks add the time dimension.
package motion

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Classes of thread motion (the JSON's threads[].motion.class).
const (
	Stuck    = "stuck"
	Spinning = "spinning"
	Moving   = "moving"
)

// spinShare is the part of the observed time a thread whose stack stays the
// same must spend on a CPU to be spinning rather than woken now and then.
const spinShare = 0.25

// Look is one look at a running process.
type Look struct {
	At      time.Time
	Threads map[int]ThreadLook // by tid
	// Snap and Locks are the look's snapshot and what it says each thread
	// waits on and holds; nil for a process that is not Python.
	Snap  *snapshot.Snapshot
	Locks *locks.Analysis
	// GIL is the main interpreter's GIL at the look; nil when unknown.
	GIL *GILLook
}

// GILLook is a GIL at one look: how often it had changed hands, who held it
// and who waited for it.
type GILLook struct {
	Addr     snapshot.Addr
	Switches uint64
	Interval time.Duration // the switch interval
	Holder   int           // tid; 0 when none or unknown
	Waiters  []int         // tids, sorted
}

// ThreadLook is one thread at one look.
type ThreadLook struct {
	// Stack identifies the thread's Python stack: the same string means
	// the same frames on the same lines. "" when it has none.
	Stack string
	// CPU is the CPU time the thread has used so far, Runs the times it
	// was put on a CPU (0 when the kernel does not count them).
	CPU  time.Duration
	Runs uint64
	// Timed is true when the thread waits with a timeout (a sleep, a wait
	// with a timeout): the wait ends by itself.
	Timed bool
	// Paused is true when the thread waits for something that is not a
	// hang: a person at a terminal (a read of the process's terminal), or
	// the end of a stop (job control, a debugger).
	Paused bool
	// Refs are the objects the thread's frames name (locals, self
	// attributes, with blocks), by snapshot object id.
	Refs []string
	// Python says the thread has a Python thread state: it runs Python
	// only with the GIL.
	Python bool
}

// NewLook builds a look from a snapshot (nil for a process that is not
// Python) and the kernel's view of each thread: its CPU use, and whether it
// waits with a timeout.
func NewLook(at time.Time, s *snapshot.Snapshot, cpu map[int]Usage, timed, paused map[int]bool) Look {
	l := Look{At: at, Threads: map[int]ThreadLook{}, Snap: s}
	for tid, u := range cpu {
		l.Threads[tid] = ThreadLook{CPU: u.Time, Runs: u.Runs, Timed: timed[tid], Paused: paused[tid]}
	}
	if s == nil {
		return l
	}
	l.Locks = locks.Analyze(s)
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.TID == 0 {
			continue
		}
		tl := l.Threads[t.TID]
		tl.Stack = stackKey(t)
		tl.Refs = refs(t)
		tl.Python = !t.NoThreadState
		l.Threads[t.TID] = tl
	}
	l.GIL = gilLook(s)
	return l
}

// gilLook reads the main interpreter's GIL from a look's snapshot.
func gilLook(s *snapshot.Snapshot) *GILLook {
	var g *GILLook
	for _, in := range s.Target.Interpreters {
		if in.Main && in.GIL != nil {
			g = &GILLook{Addr: in.GIL.Addr, Switches: in.GIL.Switches, Interval: time.Duration(in.GIL.IntervalUS) * time.Microsecond}
		}
	}
	if g == nil {
		return nil
	}
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.Interpreter != nil && !t.Interpreter.Main {
			continue // a subinterpreter's thread may take a GIL of its own
		}
		switch t.GIL {
		case snapshot.GILHeld:
			g.Holder = t.TID
		case snapshot.GILWaiting:
			g.Waiters = append(g.Waiters, t.TID)
		}
	}
	slices.Sort(g.Waiters)
	return g
}

// keptIntervals is how many switch intervals apart two looks must be for a
// GIL that did not change hands between them to count as kept.
const keptIntervals = 20

// GILKept says whether the main GIL stayed with one thread from look prev to
// look cur while a thread waited for it at both: the same holder, the same
// switch count (a thread that takes the GIL from another counts a switch),
// the looks at least keptIntervals switch intervals apart. A waiter asks the
// holder to let go every switch interval and code that runs Python does, so
// the holder kept it in native code all that time. It returns the holder.
func GILKept(prev, cur Look) (holder int, kept bool) {
	p, c := prev.GIL, cur.GIL
	if p == nil || c == nil || p.Addr != c.Addr || p.Holder == 0 || p.Holder != c.Holder || p.Switches != c.Switches ||
		c.Interval <= 0 || cur.At.Sub(prev.At) < keptIntervals*c.Interval {
		return 0, false
	}
	for _, w := range c.Waiters {
		if _, ok := slices.BinarySearch(p.Waiters, w); ok {
			return c.Holder, true
		}
	}
	return 0, false
}

// Usage is a thread's use of the CPU so far.
type Usage struct {
	Time time.Duration
	Runs uint64
}

// stackKey identifies a thread's Python stack by its frames' files, lines
// and functions.
func stackKey(t *snapshot.Thread) string {
	var b strings.Builder
	for _, f := range t.Frames {
		b.WriteString(f.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Line))
		b.WriteByte(':')
		b.WriteString(f.Qualname)
		b.WriteByte('\n')
	}
	return b.String()
}

func refs(t *snapshot.Thread) []string {
	var out []string
	for _, f := range t.Frames {
		for _, id := range f.Refs {
			out = append(out, id)
		}
		out = append(out, f.With...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Thread is how one thread moved over the looks.
type Thread struct {
	Class string `json:"class"`
	// SameFor is how long its stack has stayed the same, between the
	// first and the last look that saw it so (a lower bound: it may have
	// been so before the first look).
	SameFor Seconds `json:"same_for_s"`
	// CPU is the CPU time it used between the first and the last look.
	CPU Seconds `json:"cpu_s"`
	// Runs is how often it was put on a CPU in that time.
	Runs uint64 `json:"runs"`
	// Looks counts the looks that saw it.
	Looks int `json:"looks"`
	// Timed is true when, at the last look, it waited with a timeout.
	Timed bool `json:"timed,omitempty"`
}

// Seconds is a duration written as seconds in JSON.
type Seconds float64

// Duration converts back.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

func seconds(d time.Duration) Seconds { return Seconds(float64(d.Milliseconds()) / 1000) }

// Classify says how each thread seen by the last look moved over looks
// (oldest first).
//   - stuck: the same stack at every look that saw it, and never on a CPU;
//   - spinning: the same stack, and on a CPU for a good part of the time;
//   - moving: its stack changed, or it ran now and then (woken, then
//     waiting again at the same place).
func Classify(looks []Look) map[int]Thread {
	out := map[int]Thread{}
	if len(looks) == 0 {
		return out
	}
	last := looks[len(looks)-1]
	for tid, cur := range last.Threads {
		first := -1
		same := len(looks) - 1
		for i, l := range looks {
			if _, ok := l.Threads[tid]; ok {
				first = i
				break
			}
		}
		for i := len(looks) - 2; i >= first; i-- {
			tl, ok := looks[i].Threads[tid]
			if !ok || tl.Stack != cur.Stack {
				break
			}
			same = i
		}
		ft := looks[first].Threads[tid]
		th := Thread{
			Looks:   len(looks) - first,
			SameFor: seconds(last.At.Sub(looks[same].At)),
			CPU:     seconds(cur.CPU - ft.CPU),
			Runs:    cur.Runs - ft.Runs,
			Timed:   cur.Timed,
		}
		span := last.At.Sub(looks[first].At)
		switch {
		case same > first:
			th.Class = Moving
		case cur.CPU == ft.CPU && (cur.Runs == ft.Runs || cur.Runs == 0):
			th.Class = Stuck
		case span > 0 && float64(cur.CPU-ft.CPU) >= spinShare*float64(span):
			th.Class = Spinning
		default:
			th.Class = Moving
		}
		out[tid] = th
	}
	return out
}

// Progress says whether the process did anything between two looks: a
// thread came or went, changed its stack, or used the CPU; or a thread waits
// with a timeout, so that it will do something by itself, or is paused (see
// ThreadLook.Paused).
//
// While the GIL is kept (GILKept), what Python threads do is no progress:
// the holder's CPU time goes to native code that never lets the GIL go, and
// every other Python thread, whatever it waits for, needs the GIL next.
func Progress(prev, cur Look) bool {
	if len(prev.Threads) != len(cur.Threads) {
		return true
	}
	_, kept := GILKept(prev, cur)
	for tid, c := range cur.Threads {
		p, ok := prev.Threads[tid]
		if kept && ok && p.Python && c.Python {
			continue
		}
		if !ok || p.Stack != c.Stack || p.CPU != c.CPU || c.Timed || c.Paused {
			return true
		}
	}
	return false
}
