package capture

import (
	"fmt"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/target"
)

// noStateThreads adds the kernel threads that have no Python thread state:
// threads a C library started (a driver's I/O thread, a thread pool of a
// numeric library), or Python threads before their state exists or after it
// is gone. They have no Python frames, but their kernel state (and native
// stack) tells what they do, and what they wait on can matter to a hang.
//
// A thread state whose kernel thread was not found leaves one kernel thread
// that may be its own: then the leftover threads are not claimed to be
// without a thread state, and the report says so. When the thread list
// itself was cut short (a truncated core), the leftover threads may be
// Python threads whose states were lost with it: they are listed as such
// (StateLost), their Python side unknown, never as threads without Python.
func (b *builder) noStateThreads(kthreads []target.Thread, gil cpython.GIL) {
	matched := map[int]bool{}
	unmatched := 0
	for _, th := range b.s.Threads {
		if th.TID == 0 {
			unmatched++
			continue
		}
		matched[th.TID] = true
	}
	var left []*target.Thread
	for i := range kthreads {
		if !matched[kthreads[i].TID] {
			left = append(left, &kthreads[i])
		}
	}
	if len(left) == 0 {
		return
	}
	if unmatched > 0 {
		b.warnf("%d thread state(s) were not matched to a kernel thread, so pyhang cannot tell which of the other %d kernel thread(s) run Python; they are left out",
			unmatched, len(left))
		return
	}
	for _, kt := range left {
		th := snapshot.Thread{TID: kt.TID, NoThreadState: true, Main: kt.TID == b.t.PID(),
			GIL: snapshot.GILNone, State: snapshot.StateUnknown, Frames: []snapshot.Frame{}}
		if b.d.listCut {
			th.NoThreadState, th.StateLost, th.StackLost, th.GIL = false, true, true, snapshot.GILUnknown
		}
		if kt.Regs != nil {
			th.Ident = kt.Regs.FSBase // the pthread_t, on glibc
		}
		b.kernelState(&th, kt, gil)
		switch {
		case b.mods != nil && (b.opts.Native || b.faulted(kt)):
			// As for a Python thread, a crashed thread's native stack
			// is the crash's evidence.
			b.nativeStack(&th, kt, nil)
		case b.mods != nil:
			b.innermost(&th, kt)
		}
		if th.GIL == snapshot.GILWaiting && th.NoThreadState {
			// Only a thread with a thread state takes the GIL.
			b.warnf("thread %d has no thread state yet waits on the GIL's condition variable (futex %s)", kt.TID, fmt.Sprint(th.Kernel.Futex))
		}
		b.s.Threads = append(b.s.Threads, th)
	}
}
