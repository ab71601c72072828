package capture

import (
	"slices"
	"sort"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Interpreters and the thread states they own.
//
// Each interpreter (the main one, and any subinterpreter) has its own
// modules, so its own threading module: a thread state is named from its own
// interpreter's threading._active, never from another's, even when the idents
// match (a thread that calls into a subinterpreter has a thread state in
// each, with the same ident). Such thread states of one kernel thread are
// then joined into one Thread, innermost first, so that every later stage
// sees one thread per tid.

// interpreters completes the threads built from tstates (b.s.Threads[i] is
// the thread of tstates[i]) with their interpreter, the name and daemon flag
// their own interpreter's threading module gives them, the GIL of their own
// interpreter; records the interpreters, finalization and the collector in
// the target; and joins the thread states of one kernel thread.
func (b *builder) interpreters(tstates []cpython.ThreadState) {
	p := b.p
	interps, err := p.Interpreters()
	if err != nil {
		b.warnf("interpreters: %v", err)
	}
	byAddr := map[uint64]*cpython.Interpreter{}
	for i := range interps {
		byAddr[interps[i].Addr] = &interps[i]
		if interps[i].Err != nil {
			b.warnf("%v", interps[i].Err)
		}
	}
	main := 0
	for i, in := range interps {
		if in.Main {
			main = i
		}
	}
	named := map[uint64]map[uint64]uint64{} // interpreter → ident → Thread object
	gils := map[uint64]*cpython.GIL{}
	var mainGIL *cpython.GIL
	if len(interps) > 0 {
		if g, err := p.GILOf(interps[main].Addr); err == nil {
			mainGIL = &g
		}
	}
	b.placeStates(tstates, byAddr)
	for i, ts := range tstates {
		th := &b.s.Threads[i]
		in := byAddr[ts.Interp]
		if in == nil {
			continue
		}
		th.Interpreter = &snapshot.InterpreterRef{ID: in.ID, Main: in.Main}
		objs, ok := named[in.Addr]
		if !ok {
			objs, _ = p.ThreadObjectsIn(in.Addr)
			named[in.Addr] = objs
		}
		// By the thread's own ident (threading.get_ident()), which placeStates
		// may have corrected.
		obj, ok := objs[th.Ident]
		if !in.Main {
			// The main loop named it from the main interpreter's threading.
			th.Name = ""
			if ok {
				th.Name = p.ThreadName(obj)
				b.objs.Add(obj)
			}
		}
		if ok {
			if d, ok := p.ThreadDaemon(obj); ok {
				th.Daemon = &d
			}
		}
		if !in.Main {
			b.ownGIL(th, ts, in.Addr, gils, mainGIL)
		}
	}
	callbacks := b.interpreterStates(interps, tstates)
	var offsets map[int]int
	b.s.Threads, offsets = joinStates(b.s.Threads, tstates, byAddr)
	for i, gc := range callbacks {
		*gc.Callback += offsets[i]
	}
}

// ownGIL sets the GIL state of a subinterpreter's thread from that
// interpreter's own GIL (3.12+), when it is not the main one.
func (b *builder) ownGIL(th *snapshot.Thread, ts cpython.ThreadState, interp uint64, gils map[uint64]*cpython.GIL, mainGIL *cpython.GIL) {
	g, ok := gils[interp]
	if !ok {
		if v, err := b.p.GILOf(interp); err == nil {
			g = &v
		}
		gils[interp] = g
	}
	if g == nil || (mainGIL != nil && g.Addr == mainGIL.Addr) {
		return // shares the main GIL: the main loop's answer stands
	}
	switch {
	case g.Locked && g.Holder == ts.Addr:
		th.GIL = snapshot.GILHeld
	case th.Kernel != nil && th.Kernel.Futex != 0 && g.WaitsForGIL(uint64(th.Kernel.Futex)):
		th.GIL = snapshot.GILWaiting
	default:
		th.GIL = snapshot.GILNone
	}
}

// interpreterStates records the interpreters in the target: finalization
// and the collector, with the thread running each where it can be told. It
// returns the collectors found in a gc.callbacks function, by the index of
// the thread state running it.
func (b *builder) interpreterStates(interps []cpython.Interpreter, tstates []cpython.ThreadState) map[int]*snapshot.GC {
	callbacks := map[int]*snapshot.GC{}
	p := b.p
	tidOf := map[uint64]int{}
	for i, ts := range tstates {
		tidOf[ts.Addr] = b.s.Threads[i].TID
	}
	if fin, err := p.RuntimeFinalizing(); err != nil {
		b.warnf("%v", err)
	} else if fin != 0 {
		b.s.Target.Finalizing = &snapshot.Finalizing{Tstate: snapshot.Addr(fin), TID: tidOf[fin]}
	}
	for _, in := range interps {
		out := snapshot.Interpreter{InterpreterRef: snapshot.InterpreterRef{ID: in.ID, Main: in.Main},
			Addr: snapshot.Addr(in.Addr), Finalizing: in.Finalizing, GC: &snapshot.GC{Collecting: in.GCCollecting}}
		if g, err := p.GILOf(in.Addr); err == nil {
			out.GIL = &snapshot.GILState{Addr: snapshot.Addr(g.Addr), Switches: g.Switches, IntervalUS: g.Interval}
		}
		if in.FinalizingTstate != 0 {
			out.FinalizingTID = tidOf[in.FinalizingTstate]
		}
		if in.Main && b.s.Target.Finalizing != nil {
			out.Finalizing = true
			if out.FinalizingTID == 0 {
				out.FinalizingTID = b.s.Target.Finalizing.TID
			}
		}
		if in.GCCollecting {
			if i := b.collector(out.GC, in, tstates); i >= 0 {
				callbacks[i] = out.GC
			}
		}
		b.s.Target.Interpreters = append(b.s.Target.Interpreters, out)
	}
	return callbacks
}

// collector finds the thread running a collection: one running a function
// of gc.callbacks (only a collection calls them); else the holder of the
// interpreter's GIL, which the collector keeps unless a callback or a
// finalizer let it go; else the interpreter's only thread. It returns the
// index of the thread state running a callback, -1 when none does.
func (b *builder) collector(gc *snapshot.GC, in cpython.Interpreter, tstates []cpython.ThreadState) int {
	var mine []int
	for i, ts := range tstates {
		if ts.Interp == in.Addr {
			mine = append(mine, i)
		}
	}
	for _, i := range mine {
		// The outermost callback frame: a callback may call others.
		for k := len(tstates[i].Kept) - 1; k >= 0; k-- {
			if f := tstates[i].Kept[k]; f.Code != 0 && slices.Contains(in.GCCallbacks, f.Code) {
				gc.TID, gc.Basis = b.s.Threads[i].TID, snapshot.GCBasisCallback
				frame := k
				gc.Callback = &frame
				return i
			}
		}
	}
	for _, i := range mine {
		if b.s.Threads[i].GIL == snapshot.GILHeld {
			gc.TID, gc.Basis = b.s.Threads[i].TID, snapshot.GCBasisGIL
			return -1
		}
	}
	if len(mine) == 1 {
		gc.TID, gc.Basis = b.s.Threads[mine[0]].TID, snapshot.GCBasisOnlyThread
	}
	return -1
}

// placeStates finds, when the process has subinterpreters, the kernel thread
// that runs each subinterpreter's thread state: the one whose C stack holds
// the thread state first (the one it runs now). CPython up to 3.12 runs a
// subinterpreter on the calling thread with the interpreter's first thread
// state, whose thread_id still names the thread that created the interpreter
// (gh-109860): a state found running on another thread is moved there, and
// keeps its own thread_id in the report.
func (b *builder) placeStates(tstates []cpython.ThreadState, interps map[uint64]*cpython.Interpreter) {
	subs := false
	want := map[uint64]bool{}
	for _, ts := range tstates {
		want[ts.Addr] = true
		if in := interps[ts.Interp]; in != nil && !in.Main {
			subs = true
		}
	}
	if !subs {
		return
	}
	// The misplaced states are those entered from a thread of the main
	// interpreter (a thread started inside a subinterpreter gets a state of
	// its own), so the stacks of those threads are scanned: from the stack
	// pointer up to the thread's struct pthread, whose address is its ident
	// (glibc), or to the end of the main thread's stack. Stacks of threads
	// may share one mapping, so a scan never goes past its own.
	maps := b.t.Mappings()
	kts := map[int]*target.Thread{}
	ktList := b.t.Threads()
	for i := range ktList {
		kts[ktList[i].TID] = &ktList[i]
	}
	runs := map[uint64]int{} // thread state → the kernel thread running it
	for i, ts := range tstates {
		th := &b.s.Threads[i]
		kt := kts[th.TID]
		if in := interps[ts.Interp]; in == nil || !in.Main || kt == nil || kt.Regs == nil || kt.Regs.RSP == 0 {
			continue
		}
		sp, end := kt.Regs.RSP, uint64(0)
		for _, m := range maps {
			if m.Start <= sp && sp < m.End {
				end = m.End
			}
		}
		if th.Ident > sp && th.Ident < end {
			end = th.Ident
		}
		if found, ok := b.p.FirstOnStack(sp, end, want); ok {
			runs[found] = kt.TID
		}
	}
	byTID := map[int]int{} // tid → index of a thread of the main interpreter on it
	for i, ts := range tstates {
		if in := interps[ts.Interp]; in != nil && in.Main && b.s.Threads[i].TID != 0 {
			byTID[b.s.Threads[i].TID] = i
		}
	}
	for i, ts := range tstates {
		th := &b.s.Threads[i]
		tid, ok := runs[ts.Addr]
		if in := interps[ts.Interp]; !ok || in == nil || in.Main || tid == th.TID {
			continue
		}
		th.TID = tid
		if j, ok := byTID[tid]; ok {
			host := b.s.Threads[j]
			th.Ident, th.Main, th.Kernel, th.State = host.Ident, host.Main, host.Kernel, host.State
		} else if kt := kts[tid]; kt != nil {
			th.Main = tid == b.t.PID()
			if kt.Regs != nil && kt.Regs.FSBase != 0 {
				th.Ident = kt.Regs.FSBase
			}
		}
	}
}

// joinStates joins the thread states of one kernel thread (same ident)
// into one Thread, innermost first. A thread enters a subinterpreter from
// the interpreter it runs in, so the main interpreter's state is the
// outermost, and of two subinterpreters the newer is taken as the inner.
// It returns, for each joined thread state (by index in tstates), where its
// frames now start in its thread's frames.
func joinStates(threads []snapshot.Thread, tstates []cpython.ThreadState, interps map[uint64]*cpython.Interpreter) ([]snapshot.Thread, map[int]int) {
	offsets := map[int]int{}
	groups := map[uint64][]int{}
	for i := range tstates {
		if id := threads[i].Ident; id != 0 {
			groups[id] = append(groups[id], i)
		}
	}
	drop := map[int]bool{}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		rank := func(i int) (bool, int64) {
			in := interps[tstates[i].Interp]
			if in == nil {
				return false, -1
			}
			return in.Main, in.ID
		}
		sort.SliceStable(idx, func(a, c int) bool {
			ma, ia := rank(idx[a])
			mc, ic := rank(idx[c])
			if ma != mc {
				return !ma // the main interpreter's state last
			}
			return ia > ic
		})
		inner := threads[idx[0]]
		joined := inner
		joined.Frames = nil
		joined.States = nil
		for _, i := range idx {
			t := threads[i]
			st := snapshot.ThreadState{Tstate: t.Tstate, Name: t.Name, Frames: len(t.Frames)}
			if tstates[i].Ident != t.Ident {
				st.ThreadID = tstates[i].Ident
			}
			if t.Interpreter != nil {
				st.Interpreter = *t.Interpreter
			}
			joined.States = append(joined.States, st)
			offsets[i] = len(joined.Frames)
			joined.Frames = append(joined.Frames, t.Frames...)
			joined.Main = joined.Main || t.Main
			if t.GIL == snapshot.GILHeld {
				joined.GIL = snapshot.GILHeld
			}
			if joined.Kernel == nil {
				joined.Kernel, joined.TID, joined.State = t.Kernel, t.TID, t.State
			}
		}
		// The name the thread was started with: the outermost state's; its
		// native stack too (read on the thread itself: a subinterpreter's
		// state has none of its own, see subNative).
		outer := threads[idx[len(idx)-1]]
		joined.Name, joined.Daemon = outer.Name, outer.Daemon
		joined.Native, joined.NativeEnd, joined.Innermost = outer.Native, outer.NativeEnd, outer.Innermost
		for k := len(idx) - 1; joined.Name == "" && k >= 0; k-- {
			joined.Name = threads[idx[k]].Name
		}
		if joined.Frames == nil {
			joined.Frames = []snapshot.Frame{}
		}
		threads[idx[0]] = joined
		for _, i := range idx[1:] {
			drop[i] = true
		}
	}
	if len(drop) == 0 {
		return threads, offsets
	}
	out := threads[:0]
	for i, t := range threads {
		if !drop[i] {
			out = append(out, t)
		}
	}
	return out, offsets
}

// subNative reads the native stack of each thread that runs only a
// subinterpreter's code, now that its thread state is placed on the thread
// that runs it. A thread that entered a subinterpreter from the main one
// has the native stack read for its main state (joinStates); the frames of
// the subinterpreter are then not placed beside its native frames.
func (b *builder) subNative(tstates []cpython.ThreadState, byTID map[int]*target.Thread) {
	if b.mods == nil {
		return
	}
	byAddr := map[snapshot.Addr]*cpython.ThreadState{}
	for i := range tstates {
		byAddr[snapshot.Addr(tstates[i].Addr)] = &tstates[i]
	}
	for i := range b.s.Threads {
		th := &b.s.Threads[i]
		if th.Interpreter == nil || th.Interpreter.Main || len(th.States) > 0 || th.Native != nil || th.Innermost != nil {
			continue
		}
		kt, ts := byTID[th.TID], byAddr[th.Tstate]
		if b.opts.Native || b.faulted(kt) {
			b.nativeStack(th, kt, ts)
		} else if kt != nil {
			b.innermost(th, kt)
		}
	}
}
