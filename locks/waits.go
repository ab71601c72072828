package locks

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// Resource kinds that are not snapshot objects.
const (
	KindGIL     = "gil"
	KindFutex   = "futex"   // a futex wait matched to no object
	KindFutures = "futures" // as_completed()/wait() over several futures
	KindProcess = "process" // a child process waited for
)

// gilID is the id of the GIL among the report's objects.
const gilID = "gil"

// gilObject is the GIL among the report's objects.
func gilObject() *snapshot.Object {
	return &snapshot.Object{ID: gilID, Kind: KindGIL, Type: "GIL"}
}

// waitOf works out what a blocked thread waits on.
func (a *Analysis) waitOf(x *index, th *snapshot.Thread) *Wait {
	k := th.Kernel
	if k == nil || th.State == snapshot.StateRunning || th.State == snapshot.StateCrashed {
		return nil
	}
	if th.GIL == snapshot.GILWaiting {
		a.extra(gilObject())
		return &Wait{Ref: Ref{Kind: KindGIL, ID: gilID}, Evidence: []Evidence{{Basis: BasisGIL, Addr: k.Futex}}}
	}
	prims := primitiveFrames(x.s, th)
	if k.WaitPID != nil {
		return a.childWait(x, th, prims)
	}
	if w := a.sentinelWait(x, th); w != nil {
		return w
	}
	var direct *snapshot.Object
	var how Evidence
	if k.Futex != 0 {
		if ob := x.byKey[k.Futex]; ob != nil {
			direct, how = ob, Evidence{Basis: BasisFutex, Addr: k.Futex, Type: ob.Type}
		} else if ob := x.byKey[k.Parked]; ob != nil && k.Parked != 0 {
			direct, how = ob, Evidence{Basis: BasisParked, Addr: k.Parked, Type: ob.Type}
		}
	}
	if q, call, how := mpQueueOf(x, th); q != nil {
		return a.mpQueueWait(th, q, call, how)
	}
	var w *Wait
	switch {
	case len(prims) > 0 && reacquiring(x, prims, direct):
		// Notified (or timed out), Condition.wait() takes the condition's
		// lock back: the thread waits for that lock, and its holder, not
		// for a notification.
		f := &th.Frames[prims[len(prims)-1].index]
		w = &Wait{Ref: ref(direct), Object: direct.ID, Call: directCalls[direct.Kind], On: a.Holders[direct.ID],
			Frame:    pastEntering(th, min(prims[len(prims)-1].index+1, len(th.Frames)-1)),
			Evidence: []Evidence{{Basis: BasisLibraryFrame, At: siteOf(f)}, how}}
	case len(prims) > 0:
		w = a.primitiveWait(x, th, prims, direct, how)
	case direct != nil && x.tstateLockThread(direct) != nil:
		w = a.tstateLockWait(x, direct, x.tstateLockThread(direct), how)
	case direct != nil:
		w = &Wait{Ref: ref(direct), Evidence: []Evidence{how}, Object: direct.ID, Call: directCalls[direct.Kind],
			Frame: pastContextlib(th)}
		switch direct.Kind {
		case snapshot.KindHandle:
			a.joinTarget(x, w, direct.Ident)
		case snapshot.KindSimpleQueue:
			if idleWorker(th) {
				w.Evidence = append(w.Evidence, Evidence{Basis: BasisIdleWorker})
			}
		}
		w.On = a.Holders[direct.ID]
		w.OnTasks = a.TaskHolders[direct.ID]
	case socketOf(x, k) != nil:
		so := socketOf(x, k)
		fd := *so.FD
		w = &Wait{Ref: ref(so), Evidence: []Evidence{{Basis: BasisSocket, Syscall: k.Syscall, FD: &fd}}, Object: so.ID,
			Frame: userFrame(th)}
	case ownPipe(k):
		w = a.ownPipeWait(th)
	case k.FileLock != nil:
		w = a.fileLockWait(th)
	case k.Futex != 0 && frameLock(x, th) != nil:
		ob, f := frameLock(x, th), &th.Frames[0]
		w = &Wait{Ref: ref(ob), Object: ob.ID, On: a.Holders[ob.ID], Call: directCalls[ob.Kind], Frame: pastContextlib(th),
			Evidence: []Evidence{{Basis: BasisPythonFrame, Addr: k.Futex, Type: ob.Type, At: siteOf(f),
				Method: f.Calling.Method, Via: f.Calling.Via}}}
	case k.Futex != 0 && !k.Timed:
		id := KindFutex + "@" + k.Futex.String()
		a.extra(&snapshot.Object{ID: id, Kind: KindFutex, Type: "futex", Addr: k.Futex})
		w = &Wait{Ref: Ref{Kind: KindFutex, ID: id}, Evidence: []Evidence{{Basis: BasisUnmatched, Addr: k.Futex}}}
	default:
		return nil
	}
	if k.Timed && !w.Timed() {
		w.Evidence = append(w.Evidence, Evidence{Basis: BasisTimeout})
	}
	return w
}

// directCalls name the call a thread is in when it waits straight on an
// object, with no library frame above it (C methods have no Python frame).
var directCalls = map[string]string{
	snapshot.KindLock: "acquire", snapshot.KindRLock: "acquire", snapshot.KindSimpleQueue: "get",
	snapshot.KindHandle: "join",
}

// socketOf is the socket a thread's system call waits on: its descriptor,
// or the first descriptor of a poll or select that is a socket's.
func socketOf(x *index, k *snapshot.Kernel) *snapshot.Object {
	if k.FD != nil {
		return x.byFD[*k.FD]
	}
	for _, fd := range k.FDs {
		if so := x.byFD[fd]; so != nil {
			return so
		}
	}
	return nil
}

// pastContextlib is the innermost frame that is not the standard library
// entering a context for the program (0 when the innermost frame is not):
// the program's own call of an ExitStack's enter_context(), its with
// statement of a Condition (whose __enter__ takes the lock).
func pastContextlib(th *snapshot.Thread) int { return pastEntering(th, 0) }

// pastEntering is pastContextlib from the frame from on.
func pastEntering(th *snapshot.Thread, from int) int {
	for i := from; i < len(th.Frames); i++ {
		f := &th.Frames[i]
		entering := filepath.Base(f.File) == "contextlib.py" || f.Function == "__enter__" || f.Function == "__aenter__"
		if !entering || !isStdlib(f.File) {
			return i
		}
	}
	return from
}

// userFrame is the innermost frame outside the standard library: the
// program's own call that led into the library (urlopen, recv …), or 0.
// OwnFrame is the index of the first frame of the program's own code (not
// the interpreter's library) at or outside frame from, or from when there is
// none: where a report points a reader who asks "which line of mine?".
func OwnFrame(th *snapshot.Thread, from int) int {
	for i := max(from, 0); i < len(th.Frames); i++ {
		if !isStdlib(th.Frames[i].File) {
			return i
		}
	}
	return from
}

// UserFrame is the index of the thread's innermost frame outside the
// standard library (0 when every frame is in it): the program's own call.
func UserFrame(th *snapshot.Thread) int { return userFrame(th) }

func userFrame(th *snapshot.Thread) int {
	for i := range th.Frames {
		if !isStdlib(th.Frames[i].File) {
			return i
		}
	}
	return 0
}

// idleWorker: a concurrent.futures worker waiting in its own loop for work.
func idleWorker(th *snapshot.Thread) bool {
	if len(th.Frames) == 0 {
		return false
	}
	f := &th.Frames[0]
	return f.Function == "_worker" && filepath.Base(f.File) == "thread.py" && strings.Contains(f.File, "concurrent")
}

func (a *Analysis) extra(ob *snapshot.Object) {
	if _, ok := a.Extra[ob.ID]; !ok {
		a.Extra[ob.ID] = ob
	}
}

// reacquiring reports whether a thread in Condition.wait() is parked on the
// condition's own lock (the kernel's futex word is that lock's): a waiter
// parks on a lock of its own until notified, and takes the condition's lock
// back after.
func reacquiring(x *index, prims []primitive, direct *snapshot.Object) bool {
	outer := prims[len(prims)-1]
	if direct == nil || outer.kind != snapshot.KindCondition || (direct.Kind != snapshot.KindLock && direct.Kind != snapshot.KindRLock) {
		return false
	}
	cond := x.s.Objects[outer.obj]
	return cond != nil && cond.Attrs["_lock"] == direct.ID
}

// primitiveWait names the wait by the outermost recognised library frame.
func (a *Analysis) primitiveWait(x *index, th *snapshot.Thread, prims []primitive, direct *snapshot.Object, how Evidence) *Wait {
	outer := prims[len(prims)-1]
	caller := outer.index + 1
	if caller >= len(th.Frames) {
		caller = outer.index
	}
	f := &th.Frames[outer.index]
	w := &Wait{Frame: pastEntering(th, caller), Object: outer.obj, Call: f.Function}
	if ob := x.s.Objects[outer.obj]; ob != nil {
		w.Ref = ref(ob)
	} else {
		// as_completed()/wait() over several futures: name the call.
		name := f.Function + "()"
		id := KindFutures + "@" + f.Addr.String()
		a.extra(&snapshot.Object{ID: id, Kind: KindFutures, Type: name, Addr: f.Addr})
		w.Ref = Ref{Kind: outer.kind, ID: id, Name: &name}
	}
	w.Evidence = []Evidence{{Basis: BasisLibraryFrame, At: siteOf(f)}}
	if direct != nil {
		w.Evidence = append(w.Evidence, how)
	}
	switch outer.kind {
	case snapshot.KindThread:
		if ob := x.s.Objects[outer.obj]; ob != nil {
			a.joinTarget(x, w, ob.Ident)
		}
	case snapshot.KindRLock, snapshot.KindLock, snapshot.KindSemaphore:
		w.On = a.Holders[outer.obj]
		w.OnTasks = a.TaskHolders[outer.obj]
	case snapshot.KindModuleLock:
		w.On = a.Holders[outer.obj]
		w.Frame = pastImportMachinery(th, w.Frame)
	case snapshot.KindMPResult:
		w.Frame = pastPoolFrames(th, w.Frame)
	case snapshot.KindFuture:
		a.futureRunners(x, w, outer.obj)
	case snapshot.KindQueue, snapshot.KindSimpleQueue, snapshot.KindCondition:
		// The loop, or a helper of its own it calls the wait from
		// (QueueListener._monitor → dequeue → queue.get).
		for i := caller; i < len(th.Frames) && i <= caller+1; i++ {
			if idleLoop(&th.Frames[i]) {
				w.Evidence = append(w.Evidence, Evidence{Basis: BasisIdleWorker})
				break
			}
		}
	}
	return w
}

// idleLoops are the standard library's own background loops that wait for
// work, by the file (its path's end) and the function that waits: a
// multiprocessing.Queue's feeder thread, a logging QueueListener, a
// multiprocessing pool's task handler. Their wait is their job, as an
// executor's idle worker's is.
var idleLoops = map[string]string{
	"multiprocessing/queues.py":    "_feed",
	"logging/handlers.py":          "_monitor",
	"multiprocessing/pool.py":      "_handle_tasks",
	"concurrent/futures/thread.py": "_worker",
}

// idleLoop reports whether the frame runs one of idleLoops.
func idleLoop(f *snapshot.Frame) bool {
	for suffix, fn := range idleLoops {
		if f.Function == fn && strings.HasSuffix(filepath.ToSlash(f.File), suffix) {
			return true
		}
	}
	return false
}

// futureRunners points a wait on a future (or, for as_completed/wait, on an
// executor's futures) at the worker threads running them: an executor worker
// runs a work item whose self.future is the future.
func (a *Analysis) futureRunners(x *index, w *Wait, future string) {
	if ob := x.s.Objects[future]; ob != nil && ob.RunsOn != "" {
		a.loopCompletes(x, w, ob)
		return
	}
	var runners []int
	for i := range x.s.Threads {
		th := &x.s.Threads[i]
		for _, f := range th.Frames {
			fut, ok := f.Refs["self.future"]
			if !ok || f.Function != "run" || !strings.Contains(f.File, "concurrent") {
				continue
			}
			if future == "" || fut == future {
				runners = append(runners, th.TID)
			}
			break
		}
	}
	sort.Ints(runners)
	w.On = runners
	if future == "" && len(runners) > 0 {
		w.Evidence = append(w.Evidence, Evidence{Basis: BasisRunners, Threads: len(runners)})
	}
}

// loopCompletes points a wait on a future that an event loop completes
// (run_coroutine_threadsafe()) at the thread running that loop: only that
// thread can start the coroutine and set the future: a wait that thread
// makes in turn on something the waiter holds closes a cycle, and a wait by
// the thread itself is one.
func (a *Analysis) loopCompletes(x *index, w *Wait, ob *snapshot.Object) {
	for _, lp := range x.s.Loops {
		if lp.ID != ob.RunsOn || lp.Thread == 0 {
			continue
		}
		w.On = []int{lp.Thread}
		w.Evidence = append(w.Evidence, Evidence{Basis: BasisLoopCompletes, Loop: lp.ID, Submitted: ob.Submitted})
		return
	}
}

// joinTarget makes a join wait point at the joined thread: only its end can
// end the wait. The resource stays the thread object joined; its name is the
// joined thread's.
func (a *Analysis) joinTarget(x *index, w *Wait, ident uint64) {
	t := x.byIdent[ident]
	if t == nil {
		return
	}
	w.Ref.Kind = snapshot.KindThread
	if t.Name != "" {
		name := t.Name
		w.Ref.Name = &name
	}
	w.On = []int{t.TID}
	a.Holders[w.ID] = []int{t.TID}
}

// lockMethods are the methods of _thread.lock and _thread.RLock that block
// until the lock is free.
var lockMethods = map[string]bool{"acquire": true, "acquire_lock": true, "__enter__": true}

// frameLock returns the lock a thread in a futex wait that matched no object
// is acquiring, by its innermost frame's call (snapshot.Call), when that is
// consistent with the rest of the snapshot; nil when ambiguous:
//
//   - the call is the blocking acquire of a Lock or RLock;
//   - that lock is held: a Lock is locked, an RLock owned by another thread
//     (its own owner would get it at once);
//   - the kernel names no other object: a parked address read from the wait
//     entry must be this lock's.
func frameLock(x *index, th *snapshot.Thread) *snapshot.Object {
	if len(th.Frames) == 0 || th.Frames[0].Calling == nil {
		return nil
	}
	c := th.Frames[0].Calling
	ob := x.s.Objects[c.Object]
	if ob == nil || !lockMethods[c.Method] {
		return nil
	}
	switch ob.Kind {
	case snapshot.KindLock:
		if ob.Locked == nil || !*ob.Locked {
			return nil
		}
	case snapshot.KindRLock:
		if ob.Owner == 0 || ob.Owner == th.Ident {
			return nil
		}
	default:
		return nil
	}
	if k := th.Kernel; k != nil && k.Parked != 0 && k.Parked != ob.WaitKey {
		return nil
	}
	return ob
}
