package capture

import (
	"sort"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
)

// readAsyncio adds the asyncio event loops and their tasks: each task's
// await chain becomes its frames (with the objects they refer to and the
// locks their with blocks hold, as for a thread's frames), and the task
// whose coroutine runs now gets its loop thread's frames.
//
// The tasks' frames are decoded by frames, whose objects are this join's.
func (b *builder) readAsyncio(tstates []cpython.ThreadState, frames *memBuilder) {
	var globals globalNames
	tasks, complete := b.p.AsyncioTasks(tstates)
	if !complete {
		b.s.Target.Missing = append(b.s.Target.Missing, "not every asyncio task could be read")
	}
	if len(tasks) == 0 {
		return
	}
	byIdent := map[uint64]*snapshot.Thread{}
	for i := range b.s.Threads {
		byIdent[b.s.Threads[i].Ident] = &b.s.Threads[i]
	}
	loops := map[uint64]*snapshot.Loop{}
	for _, t := range tasks {
		st := snapshot.Task{ID: snapshot.KindTask + "@" + snapshot.Addr(t.Addr).String(), Name: t.Name, Type: t.Type,
			State: t.StateName(), Done: t.State != 0, Addr: snapshot.Addr(t.Addr), Frames: []snapshot.Frame{}}
		if ob := b.objs.Add(t.Addr); ob != nil {
			st.ID = ob.ID
		}
		if t.Err != nil {
			b.warnf("%v", t.Err)
		}
		if t.Chain.Err != nil {
			b.warnf("task %s: %v", st.Handle(), t.Chain.Err)
		}
		var lp *snapshot.Loop
		if t.Loop != 0 {
			lp = loops[t.Loop]
			if lp == nil {
				lp = b.loop(t.Loop, byIdent)
				loops[t.Loop] = lp
			}
			st.Loop = lp.ID
		}
		for i := range t.Chain.Frames {
			st.Frames = append(st.Frames, snapshot.Frame{})
			frames.frame(&st.Frames[len(st.Frames)-1], &t.Chain.Frames[i], &globals)
		}
		if n := len(st.Frames); n > 0 {
			st.Coro = st.Frames[n-1].Qualname
		}
		if w := t.Waiter; w != 0 {
			ob := b.objs.Add(w)
			if ob == nil {
				ob = b.objs.AddOther(w)
			}
			if ob != nil {
				st.Awaits = ob.ID
				if ob.Kind == snapshot.KindFuture {
					b.chainSource(ob, w)
				}
			}
		}
		if t.Chain.Running && lp != nil {
			b.running(&st, lp, byIdent)
		}
		b.s.Tasks = append(b.s.Tasks, st)
	}
	sort.Slice(b.s.Tasks, func(i, j int) bool {
		a, c := &b.s.Tasks[i], &b.s.Tasks[j]
		if a.Loop != c.Loop {
			return a.Loop < c.Loop
		}
		if a.Name != c.Name {
			return a.Name < c.Name
		}
		return a.ID < c.ID
	})
	b.loopFutures(loops)
	for _, lp := range loops {
		b.s.Loops = append(b.s.Loops, *lp)
	}
	sort.Slice(b.s.Loops, func(i, j int) bool { return b.s.Loops[i].Addr < b.s.Loops[j].Addr })
}

// loopFutures marks the concurrent.futures.Futures that a loop's thread
// completes (Object.RunsOn): the futures of the coroutines handed to a loop
// with run_coroutine_threadsafe() that wait in its ready callbacks, and
// those chained to a task of a loop once it started them. A thread waiting
// on such a future's result() waits for that loop's thread.
func (b *builder) loopFutures(loops map[uint64]*snapshot.Loop) {
	for addr, lp := range loops {
		for _, f := range b.p.Submitted(addr) {
			if ob := b.objs.Add(f); ob != nil && ob.Kind == snapshot.KindFuture {
				ob.RunsOn, ob.Submitted = lp.ID, true
			}
		}
	}
	b.objs.Each(func(ob *snapshot.Object) {
		if ob.Kind != snapshot.KindFuture || ob.RunsOn != "" {
			return
		}
		if lp := loops[b.p.ChainedLoop(uint64(ob.Addr))]; lp != nil {
			ob.RunsOn = lp.ID
		}
	})
}

// loop reads one event loop and names the thread running it.
func (b *builder) loop(addr uint64, byIdent map[uint64]*snapshot.Thread) *snapshot.Loop {
	l := b.p.EventLoop(addr)
	lp := &snapshot.Loop{ID: snapshot.KindLoop + "@" + snapshot.Addr(addr).String(), Type: l.Type, Addr: snapshot.Addr(addr),
		Ident: l.Ident, Closed: l.Closed}
	ob := b.objs.Add(addr)
	if ob == nil {
		ob = b.objs.AddOther(addr)
	}
	if ob != nil {
		lp.ID = ob.ID
	}
	if th := byIdent[l.Ident]; th != nil && l.Ident != 0 {
		lp.Thread = th.TID
	}
	count := func(n int) *int {
		if n < 0 {
			return nil
		}
		return &n
	}
	lp.Ready, lp.Timers, lp.Signals = count(l.Ready), count(l.Timers), count(l.Signals)
	lp.ReadyCallbacks = l.ReadyCallbacks
	if l.FDsKnown {
		fds := append([]int{}, l.FDs...)
		lp.FDs = &fds
	}
	return lp
}

// running gives the task whose coroutine executes now the frames of its
// loop's thread, from the innermost out to the task's own coroutine, which
// the thread's stack holds at the same address.
func (b *builder) running(st *snapshot.Task, lp *snapshot.Loop, byIdent map[uint64]*snapshot.Thread) {
	th := byIdent[lp.Ident]
	if th == nil || len(st.Frames) == 0 {
		return
	}
	outer := st.Frames[len(st.Frames)-1].Addr
	for k := range th.Frames {
		if th.Frames[k].Addr == outer {
			st.Running = true
			st.Frames = append([]snapshot.Frame{}, th.Frames[:k+1]...)
			lp.Current = st.ID
			return
		}
	}
}

// chainSource records the concurrent.futures.Future an awaited asyncio
// future is chained to (run_in_executor, wrap_future): the pool's worker
// that runs it is what completes the awaited one.
func (b *builder) chainSource(ob *snapshot.Object, addr uint64) {
	for _, v := range b.p.ChainedFrom(addr) {
		if v == addr || b.p.TypeName(v) != "Future" { // a class's tp_name: no module
			continue
		}
		if src := b.objs.Add(v); src != nil && src.Kind == snapshot.KindFuture {
			ob.Source = src.ID
			return
		}
	}
}
