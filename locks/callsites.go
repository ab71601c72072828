package locks

import (
	"strings"

	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
)

// CallsIn lists the calls of one of the methods on the object, by any of its
// names, in the functions a thread's frames run (outside the standard
// library), read from the source through the target's own view: where that
// thread puts to a queue or notifies a condition, say. Evidence from the
// source, not from memory: the name may also be another object's.
func (a *Analysis) CallsIn(tid int, ob *snapshot.Object, methods ...string) []Site {
	th := a.thread(tid)
	if th == nil || a.x == nil {
		return nil
	}
	return a.callsInFrames(a.FramesRunBy(th), ob, methods)
}

// SuspendedTaskCallsIn is CallsIn for the frames of the suspended tasks of
// the event loops thread tid runs, without the thread's own: calls that
// only the thread can make, once its loop runs again.
func (a *Analysis) SuspendedTaskCallsIn(tid int, ob *snapshot.Object, methods ...string) []Site {
	th := a.thread(tid)
	if th == nil || a.x == nil {
		return nil
	}
	return a.callsInFrames(a.suspendedTaskFrames(th), ob, methods)
}

// callsInFrames lists the calls of methods on ob's names in the functions
// the frames run, from the source.
func (a *Analysis) callsInFrames(frames []*snapshot.Frame, ob *snapshot.Object, methods []string) []Site {
	names := callNames(ob)
	if len(names) == 0 {
		return nil
	}
	var out []Site
	seen := map[fileLine]bool{}
	for _, fr := range frames {
		if isStdlib(fr.File) {
			continue
		}
		calls := a.x.src.calls(fr.File, methods)
		if len(calls) == 0 {
			continue
		}
		def, _ := a.x.src.def(fr.File, fr.Line)
		fn := fr.Qualname // the frame's own name for the function, as reports show it
		for _, c := range calls {
			if !containsString(names, c.Last) || seen[fileLine{fr.File, c.Line}] {
				continue
			}
			if d, _ := a.x.src.def(fr.File, c.Line); d != def {
				continue
			}
			seen[fileLine{fr.File, c.Line}] = true
			out = append(out, Site{File: fr.File, Line: c.Line, Function: fn, Call: c.Method})
		}
	}
	return out
}

func (a *Analysis) thread(tid int) *snapshot.Thread {
	for i := range a.Snap.Threads {
		if a.Snap.Threads[i].TID == tid {
			return &a.Snap.Threads[i]
		}
	}
	return nil
}

// calls lists, once per file and set of methods, the file's calls of them.
func (c *sourceCache) calls(path string, methods []string) []pysource.Call {
	key := path + "\x00" + strings.Join(methods, ",")
	if cs, ok := c.callsOf[key]; ok {
		return cs
	}
	var cs []pysource.Call
	if f := c.file(path); f != nil {
		cs = f.Calls(methods...)
	}
	if c.callsOf == nil {
		c.callsOf = map[string][]pysource.Call{}
	}
	c.callsOf[key] = cs
	return cs
}

// RetryLoop is the while loop a thread's wait stands in: in the first frame
// of the program's own code at or outside the waiting frame, the innermost
// while statement around its line, and that frame's index. A wait with a
// timeout there is made again after the timeout, as long as the loop goes
// on. False when the source has no such loop, or cannot be read.
func (a *Analysis) RetryLoop(tid int) (Site, int, bool) {
	th, w := a.thread(tid), a.Waits[tid]
	if th == nil || w == nil || a.x == nil {
		return Site{}, 0, false
	}
	for i := max(w.Frame, 0); i < len(th.Frames); i++ {
		fr := &th.Frames[i]
		if isStdlib(fr.File) {
			continue
		}
		src := a.x.src.file(fr.File)
		if src == nil {
			return Site{}, 0, false
		}
		line := src.EnclosingWhile(fr.Line)
		if line == 0 {
			return Site{}, 0, false
		}
		return Site{File: fr.File, Line: line, Function: fr.Qualname}, i, true
	}
	return Site{}, 0, false
}

// InSameWhile reports whether lines a and b of the file stand in one while
// loop of one function: a thread at a reaches b again as the loop goes on.
func (a *Analysis) InSameWhile(file string, l1, l2 int) bool {
	if a.x == nil {
		return false
	}
	src := a.x.src.file(file)
	if src == nil {
		return false
	}
	w := src.EnclosingWhile(l1)
	return w != 0 && w == src.EnclosingWhile(l2)
}

// SleepLoop is the endless loop a thread sleeps in and will never leave
// (pysource.SleepLoop): its innermost frame, of the program's own code, is
// at a sleep in a `while True:` loop that does nothing else. Such a thread
// runs, but will never put, notify, set or release anything. From the
// source, through the target's own view; false when it cannot be read.
func (a *Analysis) SleepLoop(tid int) (Site, bool) {
	th := a.thread(tid)
	if th == nil || a.x == nil || th.State != snapshot.StateSleeping || len(th.Frames) == 0 {
		return Site{}, false
	}
	fr := &th.Frames[0]
	if isStdlib(fr.File) {
		return Site{}, false
	}
	src := a.x.src.file(fr.File)
	if src == nil {
		return Site{}, false
	}
	line := src.SleepLoop(fr.Line)
	if line == 0 {
		return Site{}, false
	}
	return Site{File: fr.File, Line: line, Function: fr.Qualname}, true
}

// SignalHandlerSite is the first call that installs a signal handler
// (signal.signal(), loop.add_signal_handler()) in the program's own files
// on the snapshot's stacks, from the source: a handler that sets an event
// or feeds a queue may yet end a wait that nothing else will, on the main
// thread, however it sleeps. False when none is seen (or the source cannot
// be read).
func (a *Analysis) SignalHandlerSite() (Site, bool) {
	if a.x == nil {
		return Site{}, false
	}
	for _, file := range a.x.src.programFiles(a.Snap) {
		for _, c := range a.x.src.calls(file, []string{"signal", "add_signal_handler"}) {
			if c.Method == "signal" && c.Last != "signal" {
				continue // signal.signal(), not some other object's signal()
			}
			return Site{File: file, Line: c.Line, Call: c.Method}, true
		}
	}
	return Site{}, false
}

// CallsOffStack lists the calls of the methods on ob's names, in the
// program's own files, that stand in a function no thread or task runs
// now (or in a lambda): code that runs when something calls it later, a
// signal handler or a callback. From the source.
func (a *Analysis) CallsOffStack(ob *snapshot.Object, methods ...string) []Site {
	if a.x == nil {
		return nil
	}
	names := callNames(ob)
	if len(names) == 0 {
		return nil
	}
	running := a.runningDefs()
	var out []Site
	for _, file := range a.x.src.programFiles(a.Snap) {
		for _, c := range a.x.src.calls(file, methods) {
			if !containsString(names, c.Last) {
				continue
			}
			def, fn := a.x.src.def(file, c.Line)
			if def > 0 && running[fileDef{file, def}] && !c.Lambda {
				continue
			}
			out = append(out, Site{File: file, Line: c.Line, Function: fn, Call: c.Method})
		}
	}
	return out
}

// CallsInHandlers are the calls of CallsOffStack that a signal handler the
// program installs makes: in the handler's function (named by the second
// argument of signal.signal() or loop.add_signal_handler(), its last name
// matched), or in the lambda passed there. When a handler is passed as
// something else (an item, a partial), which code it runs is not known, and
// every call off the stacks is kept.
func (a *Analysis) CallsInHandlers(ob *snapshot.Object, methods ...string) []Site {
	if a.x == nil {
		return nil
	}
	type lambdaAt struct {
		file string
		line int
	}
	names, lambdas, unknown := map[string]bool{}, map[lambdaAt]bool{}, false
	for _, file := range a.x.src.programFiles(a.Snap) {
		for _, c := range a.x.src.calls(file, []string{"signal", "add_signal_handler"}) {
			if c.Method == "signal" && c.Last != "signal" || len(c.Args) < 2 {
				continue // signal.signal(), not some other object's signal()
			}
			switch h := c.Args[1]; h {
			case "lambda":
				lambdas[lambdaAt{file, c.Line}] = true
			case "":
				unknown = true
			default:
				names[lastComponent(h)] = true
			}
		}
	}
	if len(names) == 0 && len(lambdas) == 0 && !unknown {
		return nil
	}
	var out []Site
	for _, st := range a.CallsOffStack(ob, methods...) {
		if unknown || names[lastComponent(st.Function)] || lambdas[lambdaAt{st.File, st.Line}] {
			out = append(out, st)
		}
	}
	return out
}

// fileDef names a function by its file and the line of its def.
type fileDef struct {
	file string
	def  int
}

// runningDefs are the functions some thread or task runs now, once.
func (a *Analysis) runningDefs() map[fileDef]bool {
	if a.running != nil {
		return a.running
	}
	a.running = map[fileDef]bool{}
	mark := func(frames []snapshot.Frame) {
		for i := range frames {
			f := &frames[i]
			if def, _ := a.x.src.def(f.File, f.Line); def > 0 {
				a.running[fileDef{f.File, def}] = true
			}
		}
	}
	for i := range a.Snap.Threads {
		mark(a.Snap.Threads[i].Frames)
	}
	for i := range a.Snap.Tasks {
		mark(a.Snap.Tasks[i].Frames)
	}
	return a.running
}

// InCleanupBlock reports whether a frame of the thread's own code stands
// inside a try or with statement of its function: an exception raised there
// (KeyboardInterrupt on Ctrl-C) runs the handler, finally or __exit__ on
// its way out. From the source; true when a frame's source cannot be read.
func (a *Analysis) InCleanupBlock(tid int) bool {
	th := a.thread(tid)
	if th == nil || a.x == nil {
		return true
	}
	for i := range th.Frames {
		fr := &th.Frames[i]
		if isStdlib(fr.File) {
			continue
		}
		src := a.x.src.file(fr.File)
		if src == nil {
			return true
		}
		if src.InBlock(fr.Line, "try", "with") {
			return true
		}
	}
	return false
}

// FramesRunBy are the frames whose code thread th runs or will run: its
// own, and those of the pending tasks of an event loop it runs, which only
// it can resume (a task's set() or put() is the loop thread's to make).
func (a *Analysis) FramesRunBy(th *snapshot.Thread) []*snapshot.Frame {
	out := make([]*snapshot.Frame, 0, len(th.Frames))
	for i := range th.Frames {
		out = append(out, &th.Frames[i])
	}
	return append(out, a.suspendedTaskFrames(th)...)
}

// suspendedTaskFrames are the frames of the pending tasks, not running
// now, of the event loops thread th runs.
func (a *Analysis) suspendedTaskFrames(th *snapshot.Thread) []*snapshot.Frame {
	var out []*snapshot.Frame
	s := a.Snap
	for li := range s.Loops {
		if s.Loops[li].Thread != th.TID {
			continue
		}
		for ti := range s.Tasks {
			t := &s.Tasks[ti]
			if t.Loop != s.Loops[li].ID || t.Done || t.Running {
				continue // a running task's frames are the thread's own
			}
			for fi := range t.Frames {
				out = append(out, &t.Frames[fi])
			}
		}
	}
	return out
}

// callNames are the names code calls ob's methods on (lockNames), but self
// and cls: an object's own methods' name for it matches every object's.
func callNames(ob *snapshot.Object) []string {
	var names []string
	for _, n := range lockNames(ob) {
		if n != "self" && n != "cls" {
			names = append(names, n)
		}
	}
	return names
}
