package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/internal/safetext"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// words puts the typed results of the analysis into English. Every string
// that came from the target (names, files, types) goes through esc: the text
// report escapes it for the terminal, the JSON report keeps it exact (the
// encoder escapes it for JSON).
type words struct {
	snap  *snapshot.Snapshot
	locks *locks.Analysis
	esc   func(string) string
}

func textWords(an *analysis) *words {
	return &words{snap: an.snap, locks: an.locks, esc: safetext.Escape}
}

func jsonWords(an *analysis) *words {
	return &words{snap: an.snap, locks: an.locks, esc: func(s string) string { return s }}
}

func (w *words) thread(tid int) *snapshot.Thread {
	for i := range w.snap.Threads {
		if w.snap.Threads[i].TID == tid {
			return &w.snap.Threads[i]
		}
	}
	return nil
}

// threadLabel is `"posting" (tid 4355)`, or "tid 4355" for a thread with no name.
func (w *words) threadLabel(tid int) string {
	t := w.thread(tid)
	if t == nil || t.Name == "" && !t.Main {
		return fmt.Sprintf("tid %d", tid)
	}
	return fmt.Sprintf("\"%s\" (tid %d)", w.esc(t.Handle()), tid)
}

// endedThread names a threading.Thread object of a thread that has ended:
// `"loader" (tid 4350)`.
func (w *words) endedThread(id string) string {
	ob := w.snap.Objects[id]
	if ob == nil {
		return id
	}
	if ob.Value == "" {
		return fmt.Sprintf("%s (tid %d)", id, ob.NativeID)
	}
	return fmt.Sprintf("\"%s\" (tid %d)", w.esc(ob.Value), ob.NativeID)
}

// threadName is "posting", or "tid 4355".
func (w *words) threadName(tid int) string {
	if t := w.thread(tid); t != nil {
		return w.esc(t.Handle())
	}
	return fmt.Sprintf("tid %d", tid)
}

// frame is a thread's i-th frame, or nil.
func (w *words) frame(tid, i int) *snapshot.Frame {
	t := w.thread(tid)
	if t == nil || i < 0 || i >= len(t.Frames) {
		return nil
	}
	return &t.Frames[i]
}

// frameAt is "deadlock.py:28 in post_entry" for a thread's frame.
func (w *words) frameAt(tid, i int) string {
	if f := w.frame(tid, i); f != nil {
		return w.esc(f.Where())
	}
	return "?"
}

// frameFunc is a thread's frame's qualified function name.
func (w *words) frameFunc(tid, i int) string {
	f := w.frame(tid, i)
	switch {
	case f == nil:
		return "?"
	case f.Qualname != "":
		return w.esc(f.Qualname)
	}
	return w.esc(f.Function)
}

// kindWords spells resource kinds the way Python code does.
var kindWords = map[string]string{
	snapshot.KindLock:        "lock",
	snapshot.KindRLock:       "RLock",
	snapshot.KindCondition:   "condition",
	snapshot.KindQueue:       "queue",
	snapshot.KindSimpleQueue: "queue",
	snapshot.KindThread:      "thread",
	snapshot.KindEvent:       "event",
	snapshot.KindSemaphore:   "semaphore",
	snapshot.KindFuture:      "future",
	snapshot.KindSocket:      "socket",
	snapshot.KindModuleLock:  "import lock of",
	snapshot.KindBarrier:     "barrier",
	locks.KindFileLock:       "a lock on file",
	snapshot.KindExecutor:    "executor",
	snapshot.KindPopen:       "child process",
	snapshot.KindMPPool:      "pool",
	snapshot.KindMPResult:    "pool result",
	snapshot.KindMPProcess:   "process",
	snapshot.KindMPQueue:     "multiprocessing queue",
	locks.KindFutex:          "futex",
	locks.KindFutures:        "futures",
	snapshot.KindTask:        "task",
	snapshot.KindTaskGroup:   "TaskGroup",
	snapshot.KindGenerator:   "generator",
	snapshot.KindLoop:        "event loop",
	locks.KindSleep:          "sleep",
	locks.KindIO:             "I/O",
	locks.KindProcess:        "child process",
	locks.KindPipe:           "pipe",
}

// viaWords says how a frame's call was read (snapshot.Call.Via).
var viaWords = map[string]string{
	"stack-pointer": "value stack under the call's arguments",
	"with-entry":    "value stack at its with block's exception-table depth",
}

// ref names a resource: "lock ledger (lock@0x7f…)", "the GIL".
func (w *words) ref(r locks.Ref) string {
	if r.Kind == locks.KindGIL {
		return "the GIL"
	}
	kind := kindWords[r.Kind]
	if kind == "" {
		kind = w.esc(r.Kind)
	}
	if r.Name != nil {
		return fmt.Sprintf("%s %s (%s)", kind, w.esc(*r.Name), r.ID)
	}
	return fmt.Sprintf("%s %s", kind, r.ID)
}

// shortRef is the resource's name alone, for summaries.
func (w *words) shortRef(r locks.Ref) string {
	switch {
	case r.Kind == locks.KindGIL:
		return "the GIL"
	case r.Name != nil:
		return w.esc(*r.Name)
	}
	return r.ID
}

func (w *words) site(s *locks.Site) string {
	return w.esc(filepath.Base(s.File)) + ":" + strconv.Itoa(s.Line)
}

// evidence says how a claim is known, one clause per fact.
func (w *words) evidence(evs []locks.Evidence) string {
	var parts []string
	for _, e := range evs {
		if s := w.fact(e); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

func (w *words) fact(e locks.Evidence) string {
	switch e.Basis {
	case locks.BasisFutex:
		return fmt.Sprintf("futex %s is the %s's semaphore", e.Addr, w.esc(e.Type))
	case locks.BasisParked:
		return fmt.Sprintf("parked on %s, the %s's mutex", e.Addr, w.esc(e.Type))
	case locks.BasisGIL:
		return fmt.Sprintf("futex %s is the GIL's condition variable", e.Addr)
	case locks.BasisLibraryFrame:
		return fmt.Sprintf("in %s (%s)", w.esc(e.At.Function), w.site(e.At))
	case locks.BasisSocket:
		return fmt.Sprintf("%s on fd %d, the socket's descriptor", w.esc(e.Syscall), *e.FD)
	case locks.BasisUnmatched:
		return fmt.Sprintf("futex %s matches no lock reachable from the frames (a lock held in C code, or an object pyhang did not find)", e.Addr)
	case locks.BasisPythonFrame:
		return fmt.Sprintf("from the Python frame (indirect): %s is calling %s() of this %s, as its %s says; futex %s matched no lock",
			w.site(e.At), w.esc(e.Method), w.esc(e.Type), viaWords[e.Via], e.Addr)
	case locks.BasisTimeout:
		return "with a timeout"
	case locks.BasisIdleWorker:
		return "an idle worker waiting for work"
	case locks.BasisRunners:
		return fmt.Sprintf("%d executor thread(s) are running work items", e.Threads)
	case locks.BasisLoopCompletes:
		if e.Submitted {
			return fmt.Sprintf("the future's coroutine was handed to event loop %s with run_coroutine_threadsafe() and waits in the loop's ready callbacks: only the loop's thread starts it and sets the future", w.esc(e.Loop))
		}
		return fmt.Sprintf("the future is chained to a task of event loop %s (run_coroutine_threadsafe()): only the loop's thread sets it", w.esc(e.Loop))
	case locks.BasisAwait:
		s := fmt.Sprintf("the task's _fut_waiter is the %s at %s", w.esc(e.Type), e.Addr)
		if e.At != nil {
			s += ", awaited at " + w.site(e.At)
		}
		return s
	case locks.BasisTaskRunner:
		return "it ends when the awaited task does"
	case locks.BasisGather:
		return fmt.Sprintf("%d child task(s) still pending", e.Tasks)
	case locks.BasisChained:
		return fmt.Sprintf("it is chained to a concurrent.futures.Future (run_in_executor), whose work item %d executor thread(s) run", e.Threads)
	case locks.BasisWith:
		if e.Enclosing {
			return "with block enclosing " + w.site(e.At)
		}
		return "with block at " + w.site(e.At)
	case locks.BasisOwner:
		return fmt.Sprintf("RLock owner field (count %d)", e.Count)
	case locks.BasisIdentReused:
		return fmt.Sprintf("but the ended thread %s had the same ident, and no frame of this thread holds it", w.endedThread(e.Ended))
	case locks.BasisImportOwner:
		return "the import lock's owner field: it is running the module's import"
	case locks.BasisPipeFD:
		return fmt.Sprintf("%s on fd %d, the queue's pipe", w.esc(e.Syscall), *e.FD)
	case locks.BasisOwnPipe:
		end := "write"
		if e.Syscall == "write" || e.Syscall == "writev" {
			end = "read"
		}
		return fmt.Sprintf("%s on fd %d, a pipe whose %s end no other process holds", w.esc(e.Syscall), *e.FD, end)
	case locks.BasisSemaphore:
		return fmt.Sprintf("futex %s is the queue's read lock, a semaphore the processes share", e.Addr)
	case locks.BasisJoinWait:
		return fmt.Sprintf("in join(): futex %s is the JoinableQueue's wait semaphore, which the processes share; it ends once task_done() was called for every item put", e.Addr)
	case locks.BasisWaitChild:
		if e.PID == -1 {
			return fmt.Sprintf("in %s for any child", w.esc(e.Syscall))
		}
		return fmt.Sprintf("in %s for child %d%s", w.esc(e.Syscall), e.PID, w.childStopped(e.PID))
	case locks.BasisGILState:
		return "the interpreter's GIL state names this thread as the holder"
	case locks.BasisFileLock:
		return fmt.Sprintf("%s on fd %d, the file's descriptor", w.esc(e.Syscall), *e.FD)
	case locks.BasisFileLockHolder:
		switch {
		case e.PID == w.snap.Target.PID && e.FD != nil:
			return fmt.Sprintf("this process holds a lock on it through fd %d: any of its threads may unlock or close it", *e.FD)
		case e.PID == w.snap.Target.PID:
			return "this process holds a lock on it: any of its threads may unlock or close it"
		case e.PID < 0:
			return "an open file description holds a lock on it (/proc/locks names no process)"
		case e.Type != "":
			return fmt.Sprintf("process %d (%s) holds a lock on it", e.PID, w.esc(e.Type))
		}
		return fmt.Sprintf("process %d holds a lock on it", e.PID)
	case locks.BasisFeedSite:
		return fmt.Sprintf("%s() at %s in %s, which its stack runs", w.esc(e.At.Call), w.site(e.At), w.esc(e.At.Function))
	case locks.BasisTstateLock:
		return "the lock is the thread's _tstate_lock, which the interpreter releases when the thread ends"
	case locks.BasisBareAcquire:
		s := "inside acquire() at " + w.site(e.At)
		if e.At.Via != "" {
			s = fmt.Sprintf("inside %s() at %s (which takes it with a bare acquire())", w.esc(e.At.Via), w.site(e.At))
		}
		if e.Release != nil {
			s += fmt.Sprintf(" … release() at :%d", e.Release.Line)
		} else {
			s += " … no release() after it in " + w.esc(e.At.Function)
		}
		return s + fmt.Sprintf(", now at line %d", e.Line)
	case locks.BasisGeneratorFrame:
		return w.generatorFact(e)
	case locks.BasisGeneratorWith:
		return "whose generator is suspended inside a with block of it"
	case locks.BasisExitStack:
		return "whose " + w.esc(e.Type) + " entered it with enter_context()"
	case locks.BasisEnterAcquire:
		return fmt.Sprintf("whose %s takes it with acquire() at %s", w.esc(e.At.Function), w.site(e.At))
	}
	return string(e.Basis)
}

// waitEvidence is a wait's evidence, with who probably holds the lock when
// nobody provably does.
func (w *words) waitEvidence(wt *locks.Wait) string {
	s := w.evidence(wt.Evidence)
	if wt.AnotherProcess {
		s += "; a lock shared with other processes, which no thread of this one holds: a thread of another process may hold it"
	}
	for _, tid := range wt.Probable {
		for _, h := range w.locks.Holds[tid] {
			if h.Probable && h.ID == wt.ID {
				s += fmt.Sprintf("; held, probably by %s (%s)", w.threadLabel(tid), w.evidence(h.Evidence))
			}
		}
	}
	return s
}

// childStopped is ", which is stopped …" for a child the kernel shows
// stopped (a SIGSTOP, a debugger): it exits only once it runs again.
func (w *words) childStopped(pid int) string {
	if w.snap == nil {
		return ""
	}
	for _, c := range w.snap.Target.Children {
		if c.PID == pid && (c.State == "T" || c.State == "t") {
			return ", which is stopped (a SIGSTOP, or a debugger): it cannot exit before it gets SIGCONT"
		}
	}
	return ""
}
