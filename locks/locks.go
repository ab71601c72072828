// Package locks works out, from a Snapshot alone, what each thread waits on and
// what it holds, with the evidence for each claim: a futex address matched to a
// lock, a with-block slot, an RLock's owner field, a join target. It knows
// nothing of memory or of CPython layouts, and it puts no claim into words:
// evidence is typed, and the command line renders it.
package locks

import (
	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
)

// Ref names a resource the way the JSON contract does (waiting_on, holds).
type Ref struct {
	Kind string  `json:"kind"` // lock|rlock|condition|queue|thread|gil|socket|event|future|semaphore|futex|futures
	ID   string  `json:"id"`   // an id of the report's objects: "lock@0x7f…", "gil"
	Name *string `json:"name"` // best human handle, or null
}

// Basis says how a claim is known.
type Basis string

// Bases of waits.
const (
	// BasisFutex: the thread's futex word is the object's semaphore (3.8-3.13.0).
	BasisFutex Basis = "futex"
	// BasisParked: the thread parked on the object's mutex or event, as the
	// wait entry on its stack says (3.13.1+).
	BasisParked Basis = "parked"
	// BasisGIL: the futex is the GIL's condition variable.
	BasisGIL Basis = "gil"
	// BasisLibraryFrame: a standard-library frame (Condition.wait,
	// Queue.get, Thread.join …) runs on the object; At is that frame.
	BasisLibraryFrame Basis = "library-frame"
	// BasisSocket: the system call's descriptor is the socket's.
	BasisSocket Basis = "socket-fd"
	// BasisUnmatched: a futex wait that matches no object pyhang found.
	BasisUnmatched Basis = "unmatched-futex"
	// BasisPythonFrame: the futex matched no object, and the innermost
	// Python frame is calling the lock's acquire() or __enter__ (its
	// instruction and value stack say so: snapshot.Call). Indirect: used only
	// when the kernel's evidence names nothing, never against it. At is the
	// frame, Method and Via the call, Addr the futex word.
	BasisPythonFrame Basis = "python-frame"
	// BasisTimeout: the wait has a timeout and will end by itself.
	BasisTimeout Basis = "timeout"
	// BasisIdleWorker: an executor's idle worker waiting for work.
	BasisIdleWorker Basis = "idle-worker"
	// BasisWaitChild: the thread is in wait4 for a child process (PID, -1
	// for any child).
	BasisWaitChild Basis = "wait-child"
	// BasisPipeFD: the thread reads the descriptor of a multiprocessing
	// queue's pipe (FD); BasisSemaphore: it waits on the futex of the
	// queue's read lock (Addr), whose semaphore the processes share.
	BasisPipeFD    Basis = "pipe-fd"
	BasisSemaphore Basis = "semaphore"
	// BasisJoinWait: the thread waits in a multiprocessing JoinableQueue's
	// join(), on the futex of its condition's wait semaphore (Addr), which
	// the processes share: task_done() for every item put ends it.
	BasisJoinWait Basis = "join-wait"
	// BasisRunners: the executor threads running work items end the wait
	// (as_completed()/wait() over several futures: an approximation).
	BasisRunners Basis = "executor-runners"
	// BasisLoopCompletes: the future waited on is completed by an event
	// loop's thread: it carries a coroutine handed to that loop with
	// asyncio.run_coroutine_threadsafe() (snapshot.Object.RunsOn).
	BasisLoopCompletes Basis = "loop-completes"
	// BasisOwnPipe: the thread reads (or writes) the pipe behind FD, and no
	// other process holds its other end (snapshot.Kernel.PipeOwnOnly).
	BasisOwnPipe Basis = "own-pipe"
)

// Bases of holds.
const (
	// BasisWith: the bound __exit__ of a with block is live on the frame's
	// value stack; At is the with statement (or the frame's line when the
	// statement could not be read: Enclosing).
	BasisWith Basis = "with-block"
	// BasisOwner: the RLock's owner field names the thread.
	BasisOwner Basis = "owner-field"
	// BasisImportOwner: the import lock's owner field names the thread: it
	// is importing the module (Count is how deep).
	BasisImportOwner Basis = "import-owner"
	// BasisBareAcquire: the frame stands after a bare acquire() of the lock
	// and before its release() (probable, from the source).
	BasisBareAcquire Basis = "bare-acquire"
	// BasisEnterAcquire: the lock is an attribute of the context manager
	// of a live with block (BasisWith), and At is the acquire() of that
	// attribute in the manager's class's __enter__ (probable, from the
	// source).
	BasisEnterAcquire Basis = "enter-acquire"
	// BasisGeneratorWith: the with block (BasisWith) is of a manager made
	// by @contextmanager (Type), whose generator is suspended inside a with
	// block of the lock.
	BasisGeneratorWith Basis = "generator-with"
	// BasisIdentReused: the RLock's owner field (BasisOwner) names the
	// thread's ident, which an ended thread (Ended) had before it; no frame
	// of the live thread holds the RLock, so the hold is only probable.
	BasisIdentReused Basis = "ident-reused"
	// BasisExitStack: the with block (BasisWith) is of an ExitStack (Type)
	// that entered the lock with enter_context() and keeps its __exit__.
	BasisExitStack Basis = "exit-stack"
	// BasisGILState: the interpreter's GIL state names the thread's thread
	// state as the holder (snapshot.Thread.GIL is "held").
	BasisGILState Basis = "gil-state"
	// BasisFeedSite: a thread named as what would end a wait on a queue,
	// condition or event, as its stack runs code that feeds the object (At
	// is the call: put, notify, set), and no thread that can run does.
	BasisFeedSite Basis = "feed-site"
)

// Evidence is one fact behind a claim.
type Evidence struct {
	Basis Basis `json:"basis"`
	// Addr is the futex word or the parked address.
	Addr snapshot.Addr `json:"addr,omitempty"`
	// Type is the matched object's type ("_thread.lock").
	Type string `json:"type,omitempty"`
	// At is where: the with statement, the library frame, the acquire().
	At *Site `json:"at,omitempty"`
	// Enclosing marks At as the frame's current line inside a with block
	// whose statement could not be read.
	Enclosing bool `json:"enclosing,omitempty"`
	// Release is the release() after a bare acquire(), when there is one.
	Release *Site `json:"release,omitempty"`
	// Line is the frame's current line (bare-acquire).
	Line int `json:"line,omitempty"`
	// Count is an RLock's recursion count (owner-field).
	Count int `json:"count,omitempty"`
	// Syscall and FD of a wait on a socket.
	Syscall string `json:"syscall,omitempty"`
	FD      *int   `json:"fd,omitempty"`
	// Threads counts the executor threads running work items (executor-runners).
	Threads int `json:"threads,omitempty"`
	// Method is the method the frame is calling and Via how its stack was
	// read (python-frame: snapshot.Call).
	Method string `json:"method,omitempty"`
	Via    string `json:"via,omitempty"`
	// Tasks counts the children of a gather() still pending (gather-children).
	Tasks int `json:"tasks,omitempty"`
	// PID is the child process a wait4 names (wait-child).
	PID int `json:"pid,omitempty"`
	// Ended is the threading.Thread (an object id) that had the ident
	// before the thread that has it now (ident-reused).
	Ended string `json:"ended_thread,omitempty"`
	// Generator is the suspended generator (an object id) that holds the
	// lock, Local the thread's local that holds the generator and Refcount
	// the generator's reference count (generator-frame).
	Generator string `json:"generator,omitempty"`
	Local     string `json:"local,omitempty"`
	Refcount  int    `json:"refcount,omitempty"`
	// Loop is the event loop whose thread completes the future waited on
	// (loop-completes), and Submitted says the coroutine behind it still
	// waits in the loop's ready callbacks to be started.
	Loop      string `json:"loop,omitempty"`
	Submitted bool   `json:"submitted,omitempty"`
}

// Wait is what one thread waits on.
type Wait struct {
	Ref
	Evidence []Evidence `json:"basis"`
	// Frame is the index in the thread's Frames of the frame that waits (the
	// innermost Python frame that called the blocking primitive; for a
	// socket, the innermost frame outside the standard library).
	Frame int `json:"frame"`
	// Call is the library call the thread waits in, when a library frame or
	// the object tells it: "get", "put", "join", "wait", "result",
	// "as_completed", "acquire".
	Call string `json:"call,omitempty"`
	// On lists the threads (tids) this wait can only be ended by, when pyhang
	// knows them: a joined thread, the holder of the lock, the executor
	// threads running a future.
	On []int `json:"on,omitempty"`
	// Probable lists threads that probably hold the lock waited on (see
	// Hold.Probable), when no thread provably does.
	Probable []int `json:"probably_held_by,omitempty"`
	// OnTasks lists the asyncio tasks (ids) that alone can end this wait: the
	// task awaited, the tasks holding the lock, a gather()'s children.
	OnTasks []string `json:"on_tasks,omitempty"`
	// Object is the waited-on object's id in Snapshot.Objects ("" when the
	// resource is not a snapshot object: the GIL, an unmatched futex).
	Object string `json:"-"`
	// AnotherProcess says that a thread of another process may end the
	// wait: the lock is shared between processes (a multiprocessing lock,
	// snapshot.Object.Shared) and no thread of this one provably holds it.
	AnotherProcess bool `json:"another_process,omitempty"`
}

// Timed reports whether the wait has a timeout.
func (w *Wait) Timed() bool { return w.has(BasisTimeout) }

func (w *Wait) has(b Basis) bool {
	for _, e := range w.Evidence {
		if e.Basis == b {
			return true
		}
	}
	return false
}

// Hold is one resource a thread holds.
type Hold struct {
	Ref
	Evidence []Evidence `json:"basis"`
	Frame    int        `json:"frame"` // index of the frame holding it, -1 when not frame-bound
	// Probable marks a hold inferred from code position (inside a bare
	// acquire() … release() region), not proven.
	Probable bool `json:"probable,omitempty"`
}

// Analysis is the result for a whole snapshot.
type Analysis struct {
	Snap  *snapshot.Snapshot
	Waits map[int]*Wait  // by tid
	Holds map[int][]Hold // by tid
	// Holders maps a resource id to the tids holding it (proven holds only).
	Holders map[string][]int
	// ProbableHolders maps a lock id nobody provably holds to the tids that
	// probably do (Hold.Probable), in tid order.
	ProbableHolders map[string][]int
	// BareSites lists, for each locked Lock that no thread provably holds, the
	// acquire()/release() calls on its names found in the frames' source files.
	BareSites map[string][]Site
	// TaskWaits and TaskHolds are the waits and holds of the pending asyncio
	// tasks that are not running, by task id; TaskHolders maps a resource id
	// to the tasks holding it.
	TaskWaits   map[string]*Wait
	TaskHolds   map[string][]Hold
	TaskHolders map[string][]string
	// TaskProbableHolders maps a locked Lock nobody provably holds to the
	// pending tasks a frame of which stands after a bare acquire() of it
	// and before its release() (as ProbableHolders for threads).
	TaskProbableHolders map[string][]string
	// GeneratorHolds are the locks held by suspended generators that no
	// thread is proven to hold through them, by lock id.
	GeneratorHolds map[string][]GeneratorHold
	// Extra are the resources waits name that are not objects of the
	// snapshot (the GIL, an unmatched futex, a set of futures), so that every
	// reference of the report resolves.
	Extra map[string]*snapshot.Object
	// x is the analysis's index, kept for what is read on demand (CallsIn,
	// Fork): its src reads the target's source files.
	x *index
	// running are the functions (file, line of the def) some thread or
	// task runs now, built on CallsOffStack's first call.
	running map[fileDef]bool
	// forks are the answers of Fork so far, by tid; forkSites are the
	// os.fork() calls of each file Fork read (see Fork).
	forks     map[int]*ForkCall
	forkSites map[string][]pysource.Call
}

// Resource returns the object a resource id names, from the snapshot or Extra.
func (a *Analysis) Resource(id string) *snapshot.Object {
	if ob := a.Snap.Objects[id]; ob != nil {
		return ob
	}
	return a.Extra[id]
}
