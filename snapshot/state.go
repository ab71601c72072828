package snapshot

// Where TargetInfo.OSNames come from.
const (
	// OSNamesKernel: every thread's os_name is its /proc/PID/task/TID/comm.
	OSNamesKernel = "kernel"
	// OSNamesProcess: a core written by the kernel carries no thread names,
	// only the process's name (NT_PRPSINFO pr_fname, the main thread's
	// comm), given to the main thread; the other threads have none.
	OSNamesProcess = "process-name-only"
	// OSNamesCore: a core written by pyhang core carries every thread's
	// kernel name as it was when the core was written (a note of its own).
	OSNamesCore = "core"
	// OSNamesNone: the core carries no thread's name (gdb's gcore records
	// the executable's file name in pr_fname, which names no thread).
	OSNamesNone = "none"
)

// InterpreterRef names the interpreter a thread state belongs to.
type InterpreterRef struct {
	ID   int64 `json:"id"`
	Main bool  `json:"main"`
}

// ThreadState is one of the thread states of a thread that runs code of
// several interpreters.
type ThreadState struct {
	Tstate      Addr           `json:"tstate"`
	Interpreter InterpreterRef `json:"interpreter"`
	// Name is the thread's name in that interpreter's threading module.
	Name string `json:"name,omitempty"`
	// Frames counts the thread's frames that belong to this state.
	Frames int `json:"frames"`
	// ThreadID is the thread id the state itself records, when it is not
	// the thread's: up to 3.12 a subinterpreter runs on the calling thread
	// with a state created by another thread (CPython gh-109860); pyhang
	// places it on the thread whose C stack holds it.
	ThreadID uint64 `json:"thread_id,omitempty"`
}

// Interpreter is the state of one interpreter.
type Interpreter struct {
	InterpreterRef
	Addr Addr `json:"addr"`
	// Finalizing: the interpreter is being torn down (Py_EndInterpreter, or
	// Py_FinalizeEx for the main one); FinalizingTID is the thread doing it
	// when the version records it.
	Finalizing    bool `json:"finalizing,omitempty"`
	FinalizingTID int  `json:"finalizing_tid,omitempty"`
	// GC is the state of the interpreter's garbage collector.
	GC *GC `json:"gc,omitempty"`
	// GIL is the state of the GIL the interpreter's threads take (the main
	// interpreter's, for one that shares it); nil when it could not be read.
	GIL *GILState `json:"gil,omitempty"`
}

// GILState is what a GIL says beyond who holds it (threads[].gil): how
// often it changed hands, which looks over time compare (a GIL that never
// changes hands while threads wait for it is held by code that never lets
// it go), and the switch interval.
type GILState struct {
	Addr Addr `json:"addr"`
	// Switches counts the times a thread took the GIL from another one.
	Switches uint64 `json:"switches"`
	// IntervalUS is the switch interval in microseconds
	// (sys.getswitchinterval()): how long a thread that waits for the GIL
	// lets its holder run Python before it asks it to let go.
	IntervalUS uint64 `json:"interval_us"`
	// Watch is what reads of the GIL after the snapshot saw, taken without
	// stopping a live target where a thread held it while another waited
	// for it; nil when not watched.
	Watch *GILWatch `json:"watch,omitempty"`
}

// GILWatch is a GIL read over time after the snapshot.
type GILWatch struct {
	// Seconds is how long the reads went on, Reads how many there were.
	Seconds float64 `json:"seconds"`
	Reads   int     `json:"reads"`
	// Kept says the GIL was locked at every read with the switch count of
	// the snapshot: it never changed hands meanwhile.
	Kept bool `json:"kept"`
	// Waiters are threads the snapshot saw runnable (a GIL waiter wakes
	// once a switch interval to ask for it) that the watch then saw
	// waiting for the GIL, live, in /proc.
	Waiters []int `json:"waiters,omitempty"`
}

// GC bases: how GC.TID was found.
const (
	// GCBasisCallback: the thread runs a function of gc.callbacks, which
	// only a collection calls.
	GCBasisCallback = "gc-callback"
	// GCBasisGIL: the thread holds the interpreter's GIL, which the
	// collector keeps unless a finalizer or callback let it go.
	GCBasisGIL = "gil-holder"
	// GCBasisOnlyThread: the interpreter has one thread.
	GCBasisOnlyThread = "only-thread"
)

// GC is a collector's state.
type GC struct {
	Collecting bool `json:"collecting"`
	// TID is the thread running the collection, when known, and Basis how
	// that is known; Callback is the frame index (in that thread) of the
	// gc.callbacks function it runs.
	TID      int    `json:"tid,omitempty"`
	Basis    string `json:"basis,omitempty"`
	Callback *int   `json:"callback_frame,omitempty"`
}

// Finalizing says which thread shuts the runtime down.
type Finalizing struct {
	TID    int  `json:"tid,omitempty"` // 0 when its thread is not known
	Tstate Addr `json:"tstate"`
}

// OpenPipe is one end of a pipe a process has open.
type OpenPipe struct {
	FD    int    `json:"fd"`
	Inode uint64 `json:"inode"`
	Write bool   `json:"write"` // the write end (else the read end)
}

// Local is one local variable of a frame.
type Local struct {
	Name string `json:"name"`
	Repr string `json:"repr"`
	// Argument marks the function's arguments (*args and **kwargs included).
	Argument bool `json:"argument,omitempty"`
	// Cut says what the repr left out; absent when it is whole.
	Cut *Cut `json:"cut,omitempty"`
}

// Cut says what a bounded repr left out: container items not shown,
// characters of strings and bytes of bytes objects not shown, containers
// shown only by their length because they were nested too deep.
type Cut struct {
	Items     int `json:"items,omitempty"`
	Chars     int `json:"chars,omitempty"`
	Bytes     int `json:"bytes,omitempty"`
	Collapsed int `json:"collapsed,omitempty"`
}

// InterpreterOf is the interpreter thread t runs code of now (the main one
// when the thread does not say), nil when the snapshot does not list it.
func (s *Snapshot) InterpreterOf(t *Thread) *Interpreter {
	for i := range s.Target.Interpreters {
		in := &s.Target.Interpreters[i]
		if t.Interpreter == nil && in.Main || t.Interpreter != nil && t.Interpreter.ID == in.ID {
			return in
		}
	}
	return nil
}
