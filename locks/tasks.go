package locks

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// An asyncio task waits the way a thread does, one level up: its coroutine
// awaits a future (task._fut_waiter), usually from inside one of asyncio's
// own coroutines (Lock.acquire, Event.wait, Queue.get …) that names the
// primitive the user called. A task holds what its coroutines' with and
// async with blocks hold: an asyncio.Lock, and also a threading.Lock kept
// across an await, which only the task itself can release, and only when its
// loop's thread runs it.

// Bases of task waits.
const (
	// BasisAwait: the task's _fut_waiter is the object; At is the innermost
	// frame of its await chain.
	BasisAwait Basis = "await"
	// BasisTaskRunner: the task awaited is what ends the wait.
	BasisTaskRunner Basis = "awaited-task"
	// BasisGather: a gather() or a TaskGroup whose children, the tasks
	// named, end the wait.
	BasisGather Basis = "gather-children"
	// BasisChained: the future awaited is chained to a concurrent.futures
	// Future (run_in_executor), which the pool's worker threads named
	// (Threads of them) run: its completion completes the awaited one.
	BasisChained Basis = "chained-future"
)

// Kinds of task waits that are not snapshot objects.
const (
	// KindSleep is asyncio.sleep(): a timer of the loop ends it.
	KindSleep = "sleep"
	// KindIO is a stream or socket operation: the peer ends it.
	KindIO = "io"
)

// aioFrame is a recognised asyncio library frame.
type aioFrame struct {
	file, function, selfKind string
	kind                     string // the wait kind it stands for
}

// aioFrames are asyncio's coroutines that wait on a primitive (self).
var aioFrames = []aioFrame{
	{"locks.py", "acquire", snapshot.KindLock, snapshot.KindLock},
	{"locks.py", "__aenter__", snapshot.KindLock, snapshot.KindLock},
	{"locks.py", "wait", snapshot.KindEvent, snapshot.KindEvent},
	{"locks.py", "wait", snapshot.KindCondition, snapshot.KindCondition},
	{"locks.py", "wait_for", snapshot.KindCondition, snapshot.KindCondition},
	{"locks.py", "acquire", snapshot.KindCondition, snapshot.KindCondition},
	{"locks.py", "__aenter__", snapshot.KindCondition, snapshot.KindCondition},
	{"locks.py", "acquire", snapshot.KindSemaphore, snapshot.KindSemaphore},
	{"locks.py", "__aenter__", snapshot.KindSemaphore, snapshot.KindSemaphore},
	{"queues.py", "get", snapshot.KindQueue, snapshot.KindQueue},
	{"queues.py", "put", snapshot.KindQueue, snapshot.KindQueue},
	{"queues.py", "join", snapshot.KindQueue, snapshot.KindQueue},
	{"taskgroups.py", "__aexit__", snapshot.KindTaskGroup, snapshot.KindTaskGroup},
	{"taskgroups.py", "_aexit", snapshot.KindTaskGroup, snapshot.KindTaskGroup},
}

// aioIOFiles are asyncio's modules whose coroutines wait for a peer.
var aioIOFiles = map[string]bool{"streams.py": true, "selector_events.py": true, "unix_events.py": true}

// aioTimedFrames are asyncio's coroutines that end by a timer.
var aioTimedFrames = map[string]bool{"sleep": true, "wait_for": true}

// inAsyncio tells a frame of asyncio's own package.
func inAsyncio(file string) bool {
	return strings.Contains(file, "/asyncio/") && isStdlib(file)
}

// taskByID indexes the snapshot's tasks.
func taskByID(s *snapshot.Snapshot) map[string]*snapshot.Task {
	out := make(map[string]*snapshot.Task, len(s.Tasks))
	for i := range s.Tasks {
		out[s.Tasks[i].ID] = &s.Tasks[i]
	}
	return out
}

// taskHolds records what each pending task holds through its with and
// async with blocks.
func (a *Analysis) taskHolds(x *index) {
	for i := range x.s.Tasks {
		t := &x.s.Tasks[i]
		if t.Done || t.Running {
			continue // a running task's frames are its thread's: the thread holds them
		}
		for fi := range t.Frames {
			f := &t.Frames[fi]
			for _, id := range f.With {
				ob := x.s.Objects[id]
				if ob == nil {
					continue
				}
				ev := withEvidence(x, f, ob)
				if entering(t, fi, id) {
					// The block being entered holds nothing yet; one of
					// the object around it (`async with lock:` twice)
					// holds it.
					outer, ok := enclosingWithOf(x, f, ob)
					if !ok {
						continue
					}
					ev = outer
				}
				switch ob.Kind {
				case snapshot.KindLock:
					if ob.Locked != nil && *ob.Locked {
						a.addTaskHold(t.ID, Hold{Ref: ref(ob), Evidence: []Evidence{ev}, Frame: fi})
					}
				case snapshot.KindCondition:
					a.taskConditionHold(x, t, fi, ob)
				case snapshot.KindSemaphore:
					if semaphoreMutex(ob) { // a probable hold has no use in a task's cycle
						a.addTaskHold(t.ID, Hold{Ref: ref(ob), Evidence: []Evidence{ev}, Frame: fi})
					}
				}
			}
		}
	}
}

// entering reports whether frame fi of the task is still entering the async
// with block of id: the coroutine it awaits is id's own __aenter__ (3.12
// keeps the bound __aexit__ on the stack while __aenter__ runs).
func entering(t *snapshot.Task, fi int, id string) bool {
	if fi == 0 {
		return false
	}
	in := &t.Frames[fi-1]
	return in.Function == "__aenter__" && in.Refs["self"] == id
}

// enclosingWithOf is the with statement around the frame's line, not the
// one on that line, that names ob as the frame does (a local of it, or
// ob's global name): a block of it the frame is inside while it enters
// another. Not by ob's other names: two tasks taking `first` and `second`
// in opposite order call each lock by both, and the block of `first`
// around the one of `second` being entered holds only the other lock.
func enclosingWithOf(x *index, f *snapshot.Frame, ob *snapshot.Object) (Evidence, bool) {
	withs, ok := x.src.enclosingWith(f.File, f.Line)
	start := x.src.lineStart(f.File, f.Line)
	if !ok || start == 0 {
		return Evidence{}, false
	}
	var names []string
	for n, id := range f.Refs {
		if id == ob.ID {
			names = append(names, lastComponent(n))
		}
	}
	if ob.Global != "" {
		names = append(names, lastComponent(ob.Global))
	}
	for _, w := range withs {
		if w.Line < start && slices.ContainsFunc(names, w.Mentions) {
			return Evidence{Basis: BasisWith, At: &Site{File: f.File, Line: w.Line, Function: f.Qualname}}, true
		}
	}
	return Evidence{}, false
}

// taskConditionHold: `async with cond:` holds the condition's lock unless
// the task is inside cond.wait(), which released it.
func (a *Analysis) taskConditionHold(x *index, t *snapshot.Task, frame int, cond *snapshot.Object) {
	for j := 0; j < frame; j++ {
		f := &t.Frames[j]
		if (f.Function == "wait" || f.Function == "wait_for") && f.Refs["self"] == cond.ID {
			return
		}
	}
	lk := x.s.Objects[cond.Attrs["_lock"]]
	if lk == nil || lk.Locked == nil || !*lk.Locked {
		return
	}
	a.addTaskHold(t.ID, Hold{Ref: conditionLockRef(cond, lk), Evidence: []Evidence{withEvidence(x, &t.Frames[frame], cond)}, Frame: frame})
}

// conditionLockRef names a condition's lock after the condition when it has
// no name of its own: "Pool.changed._lock".
func conditionLockRef(cond, lk *snapshot.Object) Ref {
	r := ref(lk)
	if r.Name == nil {
		if n := BestName(cond); n != "" {
			n += "._lock"
			r.Name = &n
		}
	}
	return r
}

func (a *Analysis) addTaskHold(task string, h Hold) {
	for _, old := range a.TaskHolds[task] {
		if old.ID == h.ID {
			return
		}
	}
	a.TaskHolds[task] = append(a.TaskHolds[task], h)
	a.TaskHolders[h.ID] = append(a.TaskHolders[h.ID], task)
}

// taskWaits works out what each pending task that is not running waits on.
func (a *Analysis) taskWaits(x *index) {
	tasks := taskByID(x.s)
	for i := range x.s.Tasks {
		t := &x.s.Tasks[i]
		if t.Done || t.Running || len(t.Frames) == 0 {
			continue
		}
		if w := a.taskWait(x, t, tasks); w != nil {
			a.TaskWaits[t.ID] = w
		}
	}
}

func (a *Analysis) taskWait(x *index, t *snapshot.Task, tasks map[string]*snapshot.Task) *Wait {
	awaited := x.s.Objects[t.Awaits]
	if awaited == nil {
		return nil // scheduled to run, or awaiting something pyhang does not read
	}
	w := &Wait{Frame: 0, Object: awaited.ID}
	// Name the wait by the outermost asyncio frame that waits on a
	// primitive, as a thread's is by its outermost library frame.
	outer := -1
	for i := range t.Frames {
		f := &t.Frames[i]
		if !inAsyncio(f.File) {
			break
		}
		outer = i
	}
	if outer >= 0 {
		w.Frame = min(outer+1, len(t.Frames)-1)
	}
	await := Evidence{Basis: BasisAwait, Addr: awaited.Addr, Type: awaited.Type, At: siteOf(&t.Frames[0])}
	for i := outer; i >= 0; i-- {
		f := &t.Frames[i]
		base := filepath.Base(f.File)
		if ob := x.s.Objects[f.Refs["self"]]; ob != nil {
			if k, ok := aioKind(base, f.Function, ob.Kind); ok {
				w.Ref, w.Object = ref(ob), ob.ID
				w.Ref.Kind = k
				w.Evidence = []Evidence{{Basis: BasisLibraryFrame, At: siteOf(f)}, await}
				switch k {
				case snapshot.KindLock, snapshot.KindSemaphore:
					w.On = a.Holders[ob.ID]
					w.OnTasks = a.TaskHolders[ob.ID]
				case snapshot.KindCondition:
					// Entering `async with cond:` (or cond.acquire()) waits
					// for the condition's lock, which a task holds as
					// taskConditionHold records it.
					if lk := x.s.Objects[ob.Attrs["_lock"]]; lk != nil && (f.Function == "acquire" || f.Function == "__aenter__") {
						w.Ref, w.Object = conditionLockRef(ob, lk), lk.ID
						w.On = a.Holders[lk.ID]
						w.OnTasks = a.TaskHolders[lk.ID]
					}
				case snapshot.KindTaskGroup:
					w.OnTasks = pending(ob.Children, tasks)
					w.Evidence = append(w.Evidence, Evidence{Basis: BasisGather, Tasks: len(w.OnTasks)})
				}
				break
			}
		}
		if base == "tasks.py" && f.Function == "sleep" {
			name := "asyncio.sleep()"
			w.Ref = Ref{Kind: KindSleep, ID: awaited.ID, Name: &name}
			w.Evidence = []Evidence{{Basis: BasisLibraryFrame, At: siteOf(f)}, await}
			break
		}
		if aioIOFiles[base] {
			name := f.Qualname + "()"
			w.Ref = Ref{Kind: KindIO, ID: awaited.ID, Name: &name}
			w.Evidence = []Evidence{{Basis: BasisLibraryFrame, At: siteOf(f)}, await}
			break
		}
	}
	if w.Ref.ID == "" {
		w.Ref = ref(awaited)
		w.Evidence = []Evidence{await}
		switch {
		case awaited.Kind == snapshot.KindTask:
			if tasks[awaited.ID] != nil {
				w.OnTasks = []string{awaited.ID}
				w.Evidence = append(w.Evidence, Evidence{Basis: BasisTaskRunner})
			}
		case len(awaited.Children) > 0:
			name := "gather()"
			w.Ref.Name = &name
			w.OnTasks = pending(awaited.Children, tasks)
			w.Evidence = append(w.Evidence, Evidence{Basis: BasisGather, Tasks: len(w.OnTasks)})
		case awaited.Source != "":
			// run_in_executor's future: the pool's worker running the
			// work item of the future it is chained to completes it.
			a.futureRunners(x, w, awaited.Source)
			if len(w.On) > 0 {
				name := "run_in_executor()"
				w.Ref.Name = &name
				w.Evidence = append(w.Evidence, Evidence{Basis: BasisChained, Threads: len(w.On)})
			}
		}
	}
	if timedChain(x.s, t) {
		w.Evidence = append(w.Evidence, Evidence{Basis: BasisTimeout})
	}
	return w
}

// pending are the tasks among ids that are not done.
func pending(ids []string, tasks map[string]*snapshot.Task) []string {
	var out []string
	for _, c := range ids {
		if ct := tasks[c]; ct != nil && !ct.Done {
			out = append(out, c)
		}
	}
	return out
}

// aioKind recognises an asyncio frame that waits on its self.
func aioKind(base, function, selfKind string) (string, bool) {
	for _, af := range aioFrames {
		if af.file == base && af.function == function && af.selfKind == selfKind {
			return af.kind, true
		}
	}
	return "", false
}

// timedChain reports whether something in the task's chain ends the wait by
// a timer: asyncio.sleep(), wait_for(), an `async with asyncio.timeout()`.
//
// A timeout of None is none: asyncio.timeout(None) (its deadline, the
// object's Value, is None), and wait_for(..., timeout=None), which up to
// 3.11 awaits the future on a line of its own (`return await fut`) and
// from 3.12 on inside asyncio.timeout(None).
func timedChain(s *snapshot.Snapshot, t *snapshot.Task) bool {
	for i := range t.Frames {
		f := &t.Frames[i]
		timeouts, never := 0, 0
		for _, id := range f.With {
			if ob := s.Objects[id]; ob != nil && ob.Kind == snapshot.KindTimeout {
				timeouts++
				if ob.Value == "None" {
					never++
				}
			}
		}
		if timeouts > never {
			return true
		}
		if inAsyncio(f.File) && filepath.Base(f.File) == "tasks.py" && aioTimedFrames[f.Function] {
			if f.Function == "wait_for" && (timeouts > 0 || strings.TrimSpace(f.Source) == "return await fut") {
				continue // a timeout of None
			}
			return true
		}
	}
	return false
}
