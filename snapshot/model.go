// Package snapshot is what pyhang knows of a Python process at one instant: its
// threads, their kernel state, their Python frames, and the objects of interest
// (locks, conditions, queues, threads …) reachable from those frames. A Snapshot
// serialises to JSON and back, so the later stages (locks, waitgraph, heuristics)
// can be tested on stored snapshots without a live process.
package snapshot

// Schema names the JSON contract.
const Schema = "pyhang/1"

// Snapshot is the state of one Python process.
type Snapshot struct {
	Schema  string             `json:"schema"`
	Target  TargetInfo         `json:"target"`
	Threads []Thread           `json:"threads"`
	Objects map[string]*Object `json:"objects,omitempty"`
	// Loops and Tasks are the asyncio event loops and their tasks.
	Loops []Loop `json:"loops,omitempty"`
	Tasks []Task `json:"tasks,omitempty"`
	// Files reads the target's source files through its own view; nil when
	// the snapshot was loaded from JSON (tests set one on stored snapshots).
	Files Sources `json:"-"`
}

// TargetInfo describes what was read.
type TargetInfo struct {
	Kind       string   `json:"kind"` // "pid" or "core"
	PID        int      `json:"pid"`
	Core       *string  `json:"core"`
	Executable string   `json:"executable"`
	Python     string   `json:"python"`              // "3.12.1"
	Binary     string   `json:"binary,omitempty"`    // the ELF that holds the interpreter
	PausedMS   *float64 `json:"paused_ms,omitempty"` // live only
	// Consistency says how a live snapshot is one instant of the process
	// (Read* below).
	Consistency string   `json:"consistency,omitempty"`
	Signal      *Signal  `json:"signal,omitempty"` // cores of crashed processes
	Warnings    []string `json:"warnings"`
	// Missing says what memory the analysis needed and could not read (a
	// truncated core, a lost thread stack, an unreadable frame). A snapshot
	// with anything missing that proves no problem is incomplete, never
	// healthy: diagnose exits with its own status.
	Missing []string `json:"missing,omitempty"`
	// Parent and Children are the target's parent and child processes as
	// the kernel shows them (live targets only; see procs.go).
	Parent   *ParentProcess `json:"parent,omitempty"`
	Children []ChildProcess `json:"children,omitempty"`
	// OSNames says where the threads' os_name come from (OSNames* below).
	OSNames string `json:"os_names,omitempty"`
	// Interpreters are the interpreters of the process (the main one and
	// any subinterpreters), newest first.
	Interpreters []Interpreter `json:"interpreters,omitempty"`
	// Finalizing is set while the runtime shuts down (Py_FinalizeEx runs).
	Finalizing *Finalizing `json:"finalizing,omitempty"`
	// OpenPipes are the pipe ends the process has open (live targets): the
	// pipe's inode names it in every process that has an end of it.
	OpenPipes []OpenPipe `json:"open_pipes,omitempty"`
}

// How a live snapshot is one instant of the process (TargetInfo.Consistency).
const (
	// ReadStopped: every thread was stopped while its memory was copied
	// (paused_ms says how long).
	ReadStopped = "stopped"
	// ReadIdle: not stopped; no thread ran while the memory was read, as
	// the kernel's counts of each thread's time on a CPU and of its turns
	// on one show, read before and after.
	ReadIdle = "idle"
	// ReadUnchecked: --nonblocking; threads may have run while their
	// memory was read.
	ReadUnchecked = "unchecked"
)

// Signal is the fatal signal recorded in a core.
type Signal struct {
	Number int    `json:"number"`
	Name   string `json:"name"`
	Code   int    `json:"code"`
	// Addr is the fault address of SIGSEGV, SIGBUS, SIGILL and SIGFPE when
	// the kernel raised them (0 is a fault address like any other); absent
	// for other signals and for a signal a process sent.
	Addr *Addr `json:"addr,omitempty"`
	TID  int   `json:"tid,omitempty"`
	// Sender is the pid of the process that sent the signal (kill(),
	// tgkill(), raise(), abort()); absent when the kernel raised it.
	Sender int `json:"sender_pid,omitempty"`
	// SP is the stack pointer of the thread that took the signal, as its
	// registers in the core say (absent when they are unknown): a fault
	// address just beside it is the thread running out of stack.
	SP *Addr `json:"sp,omitempty"`
}

// Thread states of the JSON contract.
const (
	StateRunning  = "running"
	StateBlocked  = "blocked"
	StateSleeping = "sleeping"
	StateIO       = "io"
	StateNative   = "native"
	StateCrashed  = "crashed"
	StateUnknown  = "unknown"
)

// GIL states of the JSON contract.
const (
	GILHeld    = "held"
	GILWaiting = "waiting"
	GILNone    = "none"
	GILUnknown = "unknown"
)

// Thread is one thread of the process: a Python thread state joined with its
// kernel thread, the thread states of one kernel thread that runs code of
// several interpreters (States), or a kernel thread without any
// (NoThreadState: a thread a C library started).
type Thread struct {
	TID   int    `json:"tid"`
	Ident uint64 `json:"ident"`
	// Name is the threading name the thread's interpreter gives it (the
	// outermost thread state's, for one that runs several interpreters).
	Name string `json:"name,omitempty"`
	// OSName is the kernel's name of the thread (comm), see
	// TargetInfo.OSNames.
	OSName string `json:"os_name,omitempty"`
	Main   bool   `json:"main"`
	// Daemon is threading's daemon flag, when the thread has a
	// threading.Thread.
	Daemon *bool `json:"daemon,omitempty"`
	// Interpreter is the interpreter the thread runs code of now (its
	// innermost thread state's).
	Interpreter *InterpreterRef `json:"interpreter,omitempty"`
	// States lists the thread states of a thread that runs code of more than
	// one interpreter (a subinterpreter called from another), innermost
	// first; each owns the next Frames of the thread's frames.
	States []ThreadState `json:"thread_states,omitempty"`
	// StackLost marks a thread whose frame walk stopped at a frame it could
	// not read (target.missing says why): its outer frames, and what their
	// with blocks hold, are unknown.
	StackLost bool `json:"stack_lost,omitempty"`
	// StateLost marks a kernel thread left over when the thread list could
	// not be read whole (target.missing says why): its thread state may be
	// among those lost, so whether it runs Python, and what, is unknown. It
	// has StackLost too.
	StateLost bool `json:"thread_state_lost,omitempty"`
	// StackRefs are the suspended generators found on the value stacks of
	// the thread's frames and in none of their locals: a for loop's
	// iterator, or a slot left from an earlier instruction. Read only for a
	// thread that waits for a locked Lock no with block holds. (Kept here,
	// not in Frame: a snapshot has tens of thousands of frames.)
	StackRefs []StackRef `json:"stack_refs,omitempty"`
	// NoThreadState marks a thread without any Python thread state.
	NoThreadState bool    `json:"no_thread_state,omitempty"`
	GIL           string  `json:"gil"`
	State         string  `json:"state"`
	Kernel        *Kernel `json:"kernel,omitempty"`
	Frames        []Frame `json:"frames"`
	// Native is the thread's machine stack, innermost first, from its
	// registers down to its first function (clone or _start), unwound by the
	// call-frame information of the mapped files (with --native).
	Native []NativeFrame `json:"native,omitempty"`
	// NativeEnd says why Native stops short of the thread's first function
	// (unreadable or implausible memory, no call-frame information, the
	// depth bound); absent when it does not.
	NativeEnd string `json:"native_end,omitempty"`
	// Innermost is where the thread's program counter is (the function and
	// file of native frame 0), also without --native; absent when its
	// registers are unknown.
	Innermost *NativeFrame `json:"innermost,omitempty"`
	// Tstate is the address of the PyThreadState, for cross-references.
	Tstate Addr `json:"tstate,omitempty"`
}

// MaxPollFDs bounds Kernel.FDs: a poll of that many descriptors may wait on
// more.
const MaxPollFDs = 64

// Kernel is what the kernel says the thread is doing.
type Kernel struct {
	Proc    string `json:"proc,omitempty"`    // /proc state letter of a live thread
	Syscall string `json:"syscall,omitempty"` // name of the system call it sits in
	Nr      int    `json:"nr,omitempty"`
	// Futex is the futex word a blocked thread waits on (hex).
	Futex Addr `json:"futex,omitempty"`
	// Parked is the address a 3.13+ thread parked on (the lock's PyMutex, an
	// event …), read from the parking lot's wait_entry around Futex.
	Parked Addr `json:"parked,omitempty"`
	// Timed is true when the futex wait, poll or select has a timeout: it
	// will end by itself.
	Timed bool `json:"timed,omitempty"`
	// FD is the file descriptor of a read/recv/poll of one descriptor.
	FD *int `json:"fd,omitempty"`
	// FDs are the descriptors a poll, ppoll, select or pselect6 waits on
	// (at most MaxPollFDs, read from the call's arguments in the thread's
	// memory).
	FDs []int `json:"fds,omitempty"`
	// PipeInode is the inode of the pipe FD is an end of (live targets):
	// TargetInfo.OpenPipes of the other processes tell who holds its other
	// end. For a poll or select of pipes only their own (PipeOwnOnly), the
	// inode of the first of FDs.
	PipeInode uint64 `json:"pipe_inode,omitempty"`
	// PipeOwnOnly is true when the thread reads or writes that pipe and no
	// other process holds its other end (the write end of a read, the read
	// end of a write), or polls or selects, without a timeout, only pipe
	// ends whose other ends no other process holds: every process's
	// descriptors were read (live targets, pyhang in the machine's first pid
	// namespace). Only the target's own threads can then end the call.
	PipeOwnOnly bool `json:"pipe_own_only,omitempty"`
	// PipeWriters are the processes other than the target that hold the
	// write end of the pipe a read waits on (live targets), when every
	// process's descriptors were read and each is a child of the target
	// (pids in the target's namespace): only they, or the target's own
	// threads, can end the read. Read only when such a child itself waits
	// to write to a pipe the target reads.
	PipeWriters []int `json:"pipe_writers,omitempty"`
	// PipeReaders are, the same way, the processes other than the target
	// that hold the read end of the pipe a write waits on (a full pipe):
	// read only when such a child itself waits on a pipe only the target
	// holds the other end of; or the target's parent alone, when every
	// thread of it waits for the target to exit (ParentProcess.Waits).
	PipeReaders []int `json:"pipe_readers,omitempty"`
	// ReadEnd are, for a write blocked on a pipe whose read end other
	// processes hold, those processes and what each does (live targets,
	// every process's descriptors read; at most maxReadEnd): a full pipe
	// that none of them reads stays full.
	ReadEnd []PipeReader `json:"read_end,omitempty"`
	// WaitPID is the pid a wait4 (or waitid) waits for (-1: any child).
	WaitPID *int `json:"wait_pid,omitempty"`
	// FileLock is the file a flock(), or an fcntl() F_SETLKW or
	// F_OFD_SETLKW, waits to lock on FD, and who holds locks on it (live
	// targets, from /proc).
	FileLock *FileLock `json:"file_lock,omitempty"`
	// Restarted is true when the thread sits in restart_syscall: an earlier
	// stop (a debugger, a previous pyhang) interrupted its timed wait and the
	// kernel resumed it. Syscall, Nr and the fields above then describe the
	// resumed call when RestartedBy says how it was told: "kernel stack" (the
	// kernel's own, live targets), "call site" (the number the C library's
	// wrapper loads) or "arguments" (only that call fits them); without
	// RestartedBy, Syscall is "restart_syscall".
	Restarted   bool   `json:"restarted,omitempty"`
	RestartedBy string `json:"restarted_by,omitempty"`
	// CutShort is true when pyhang's stop cut short the write (or sendto)
	// the thread was blocked in: the call returned part of its data, and
	// the thread, let go, goes on past it (sendall() then writes the rest,
	// and blocks again). Like any debugger's stop, it cannot do otherwise.
	CutShort bool `json:"cut_short,omitempty"`
}

// FileLock is a file a thread waits to lock, as /proc tells: its path in
// the target's view, its device and inode as /proc/locks writes them
// ("00:2a:1234"), and the processes holding a lock on it.
type FileLock struct {
	Path string `json:"path"`
	File string `json:"file"`
	// Type is /proc/locks' class of the locks: FLOCK, POSIX or OFDLCK.
	Type    string           `json:"type,omitempty"`
	Holders []FileLockHolder `json:"holders"`
}

// FileLockHolder is a process holding a lock on the file: PID -1 is an open
// file description's lock (OFDLCK), which names no process. FDs are the
// target's own descriptors whose open files hold it, when the holder is the
// target.
type FileLockHolder struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm,omitempty"`
	FDs  []int  `json:"fds,omitempty"`
}

// Frame is one Python frame, innermost first in Thread.Frames.
type Frame struct {
	Function string `json:"function"`
	Qualname string `json:"qualname"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	// LineBasis says how Line was found when the instruction has no line of
	// its own (CPython reports none): "loop-head", "previous-instruction",
	// "first-line". Absent when Line is CPython's own.
	LineBasis string `json:"line_basis,omitempty"`
	// EndLine, Column and EndColumn complete the position of the
	// instruction (3.11+), as co_positions() and tracebacks give it:
	// columns are 0-based byte offsets into the UTF-8 text of the line.
	EndLine   *int   `json:"end_line,omitempty"`
	Column    *int   `json:"column,omitempty"`
	EndColumn *int   `json:"end_column,omitempty"`
	FirstLine int    `json:"first_line,omitempty"`
	Source    string `json:"source,omitempty"`
	// SourceIndent is how many bytes of leading white space Source lost:
	// Column - SourceIndent is the column's offset into Source.
	SourceIndent int               `json:"source_indent,omitempty"`
	Locals       map[string]string `json:"locals,omitempty"` // reprs, with --locals
	// LocalList holds the same locals in the order Python's locals() lists
	// them, with arguments marked and what each repr left out.
	LocalList []Local `json:"locals_list,omitempty"`
	// URLs are the locals of a thread blocked in I/O whose value is a str
	// that reads as a URL ("scheme://…", at most 512 characters, a password
	// in it and secret-named query values replaced by "***"): what the
	// thread was fetching, by local name.
	URLs map[string]string `json:"urls,omitempty"`
	// Refs names the objects of interest held in this frame's locals, by
	// local name → Object id. Always captured (cheap, bounded).
	Refs map[string]string `json:"refs,omitempty"`
	// With lists the ids of context managers whose with-block is live in this
	// frame (the bound __exit__ is on the value stack).
	With []string `json:"with,omitempty"`
	// Calling is the object whose method this frame is calling, when the
	// frame's own instruction and value stack say so exactly: the lock of a
	// lock.acquire() (3.14) or the manager of the `with` statement being
	// entered (3.11+). Set only when the object is one of Objects.
	Calling *Call `json:"calling,omitempty"`
	// Globals is the id of the frame's module globals, for naming.
	Module string `json:"module,omitempty"`
	Addr   Addr   `json:"addr,omitempty"`
	// Native is the index in Thread.Native of the interpreter-loop frame
	// (_PyEval_EvalFrameDefault) that runs this frame (with --native, when
	// known).
	Native *int `json:"native_frame,omitempty"`
	// SignalHandler is set on a frame that runs a Python signal handler:
	// the next frame outward is the code it interrupted.
	SignalHandler *FrameSignal `json:"signal_handler,omitempty"`
}

// Call is a method call a frame is making.
type Call struct {
	// Object is the id (in Objects) of the method's self.
	Object string `json:"object"`
	// Method is the method's name: "acquire", "__enter__" …
	Method string `json:"method"`
	// Via says how the frame's stack was read: "stack-pointer" (the slots
	// under a CALL's arguments, at the stack pointer the frame saved before
	// the call; 3.14) or "with-entry" (the manager's slot of the with
	// statement being entered, at the depth its exception-table entry gives;
	// 3.11–3.13).
	Via string `json:"via"`
}

// NativeFrame is one machine frame.
type NativeFrame struct {
	// PC is the frame's program counter: where the thread is in frame 0 (and
	// in a frame a signal interrupted), else the return address of the call
	// it makes.
	PC Addr `json:"pc"`
	// Symbol is the function holding PC, from the file's .symtab, else its
	// .dynsym; absent when no symbol covers PC (a static function of a
	// stripped file).
	Symbol string `json:"symbol,omitempty"`
	// Offset is PC's distance from Symbol's start; without a symbol, PC's
	// address in Module (as addr2line takes it).
	Offset uint64 `json:"offset"`
	// Module is the base name of the mapped file holding PC ("libc.so.6");
	// absent for anonymous memory.
	Module string `json:"module,omitempty"`
	// File and Line are the source position, when the file carries DWARF.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// SignalFrame marks a signal trampoline (glibc's __restore_rt, by its
	// call-frame information): a signal handler runs above it, and the
	// frame below it is where the signal interrupted the thread.
	SignalFrame bool `json:"signal_frame,omitempty"`
	// Interrupted is what a signal frame saved of the thread when the
	// signal interrupted it (absent when it could not be read).
	Interrupted *SignalContext `json:"interrupted,omitempty"`
}

// SignalContext is what the kernel saved in a signal frame (x86-64
// sigcontext): the registers of the interrupted frame and the CPU exception
// that last raised a signal in the thread. A handler that catches a fault
// and raises it again (faulthandler) makes the process die of the second
// signal, which carries no fault address; the fault is here.
type SignalContext struct {
	PC Addr `json:"pc"`
	SP Addr `json:"sp"`
	// Trap is the exception vector (trapno): 14 a page fault, 13 a general
	// protection fault, 0 a divide error, 6 an invalid opcode. It and the
	// two fields after it are stale, or zero, when no fault raised this
	// signal.
	Trap int `json:"trap"`
	// ErrorCode is the exception's error code.
	ErrorCode uint64 `json:"error_code"`
	// FaultAddr is the address a page fault faulted on (cr2).
	FaultAddr Addr `json:"fault_addr"`
}

// Object kinds.
const (
	KindLock        = "lock"
	KindRLock       = "rlock"
	KindCondition   = "condition"
	KindQueue       = "queue"
	KindSimpleQueue = "simplequeue"
	KindThread      = "thread"
	KindHandle      = "thread-handle"
	KindEvent       = "event"
	KindSemaphore   = "semaphore"
	KindFuture      = "future"
	KindSocket      = "socket"
	KindDeque       = "deque"
	KindTask        = "task"      // an asyncio task
	KindLoop        = "loop"      // an asyncio event loop
	KindTimeout     = "timeout"   // an asyncio.timeout() context
	KindTaskGroup   = "taskgroup" // an asyncio.TaskGroup
	// KindGenerator is a generator suspended inside a with block: no
	// thread runs it, and what the block holds stays held until some thread
	// resumes or closes it. Other generators are not kept.
	KindGenerator = "generator"
	KindOther     = "object"
)

// Object is a decoded object of interest.
type Object struct {
	ID   string `json:"id"` // kind@0xADDR
	Kind string `json:"kind"`
	Type string `json:"type"` // tp_name
	Addr Addr   `json:"addr"`
	// Locked is the lock's own state (Lock, RLock, the lock under a Condition).
	Locked *bool `json:"locked,omitempty"`
	// Owner and Count of an RLock (pthread ident of the owner).
	Owner uint64 `json:"owner,omitempty"`
	Count int    `json:"count,omitempty"`
	// Shared marks a lock whose state is in memory other processes map (a
	// multiprocessing Lock or RLock): a thread of another process can hold
	// it, and release it.
	Shared bool `json:"shared,omitempty"`
	// SharedFile is the file whose mapping holds a shared lock's state (a
	// multiprocessing lock's semaphore: /dev/shm/sem.mp-…), as the target
	// maps it.
	SharedFile string `json:"shared_file,omitempty"`
	// WaitKey is the address a thread blocked on this object waits on: the
	// futex word (sem_t) before 3.13.1, the parked PyMutex/PyEvent address after.
	WaitKey Addr `json:"wait_key,omitempty"`
	// Attrs maps attribute names of a Python-level object (Condition._lock,
	// Queue.not_empty …) to the ids of the objects they hold.
	Attrs map[string]string `json:"attrs,omitempty"`
	// Within lists, for a context manager made by @contextmanager, the
	// objects whose with blocks its suspended generator is inside: what the
	// with block of the manager holds.
	Within []string `json:"within,omitempty"`
	// Suspended is, for a context manager made by @contextmanager whose
	// generator has no with block, the frame the generator is suspended in
	// (at its yield), its Refs the locks its locals hold: a lock taken by
	// acquire() before the yield is held for the manager's with block.
	Suspended *Frame `json:"suspended_frame,omitempty"`
	// Len is the length of a deque, a queue's deque, a SimpleQueue.
	Len *int `json:"len,omitempty"`
	// NativeID is a Thread's kernel thread id (its _native_id, 3.8+).
	NativeID int `json:"native_id,omitempty"`
	// Ident is a Thread's / thread handle's ident; Value an int-like field
	// (a Semaphore's _value, an Event's flag, a Future's state name).
	Ident uint64 `json:"ident,omitempty"`
	Value string `json:"value,omitempty"`
	// Timeout of a socket in seconds; negative means none (blocks forever).
	Timeout *float64 `json:"timeout,omitempty"`
	FD      *int     `json:"fd,omitempty"`
	// Family is a socket's address family: "AF_UNIX", "AF_INET",
	// "AF_INET6", or "AF_<number>" for another.
	Family string `json:"family,omitempty"`
	// Socket is what the kernel says of a socket's descriptor (live targets).
	Socket *SocketInfo `json:"socket,omitempty"`
	// Unfinished is a queue.Queue's unfinished_tasks: items put and not yet
	// marked done with task_done().
	Unfinished *int `json:"unfinished_tasks,omitempty"`
	// Maxsize is a queue.Queue's maxsize: the items it holds before put()
	// blocks (0: no bound).
	Maxsize *int `json:"maxsize,omitempty"`
	// Initial is a BoundedSemaphore's _initial_value (asyncio's:
	// _bound_value): how many units it has in all.
	Initial *int `json:"initial_value,omitempty"`
	// Names are the handles a person would grep for: "ledger" (a module
	// global), "ReadersWriters.file_lock" (an attribute), "lock" (a local).
	Names []string `json:"names,omitempty"`
	// Global is the name of a module global that holds the object, when one
	// does: the handle a person reading the code knows it by.
	Global string `json:"global,omitempty"`
	// Source is the concurrent.futures.Future an asyncio future is chained
	// to (loop.run_in_executor, asyncio.wrap_future): its completion
	// completes this one.
	Source string `json:"source,omitempty"`
	// RunsOn is, for a concurrent.futures.Future that an event loop's thread
	// completes (the future of a coroutine handed to the loop with
	// asyncio.run_coroutine_threadsafe()), that loop's id. Submitted says
	// the coroutine waits in the loop's ready callbacks to be started; else
	// the future is chained to the task the loop started it as.
	RunsOn    string `json:"runs_on,omitempty"`
	Submitted bool   `json:"submitted,omitempty"`
	// Children are the ids of the futures and tasks an asyncio.gather() or
	// a TaskGroup waits for (its _children, its _tasks).
	Children []string `json:"children,omitempty"`
	// Module is the module whose import an import lock guards (module-lock;
	// its Owner and Count are the owner field's ident and the depth).
	Module string `json:"module,omitempty"`
	// Barrier is a threading.Barrier's state.
	Barrier *BarrierInfo `json:"barrier,omitempty"`
	// Executor is a ThreadPoolExecutor's size.
	Executor *ExecutorInfo `json:"executor,omitempty"`
	// Queued are the ids of the futures whose work items wait in an
	// executor's work queue (a SimpleQueue), oldest first, at most 64.
	Queued []string `json:"queued,omitempty"`
	// Child is the child process of a subprocess.Popen.
	Child *ChildInfo `json:"child,omitempty"`
	// multiprocessing: a Pool, a job's result, a Process, a queue.
	MPPool    *MPPoolInfo    `json:"mp_pool,omitempty"`
	MPResult  *MPResultInfo  `json:"mp_result,omitempty"`
	MPProcess *MPProcessInfo `json:"mp_process,omitempty"`
	MPQueue   *MPQueueInfo   `json:"mp_queue,omitempty"`
	// Generator is where a suspended generator stands (generator); its
	// Within are the objects whose with blocks it is inside.
	Generator *GeneratorInfo `json:"generator,omitempty"`
}

// StackRef is an object found on the value stack of a thread's frame.
type StackRef struct {
	Frame  int    `json:"frame"`  // index in the thread's Frames
	Object string `json:"object"` // id in Snapshot.Objects
}

// GeneratorInfo is a suspended generator: the frames it stands in, and how
// many references to it exist.
type GeneratorInfo struct {
	// Frames are the generator's own frame, then those of the generators
	// it delegates to with `yield from`, outermost first; each one's With
	// lists the with blocks live in it.
	Frames []Frame `json:"frames"`
	// Refcount is the generator's reference count: every place that can
	// resume or close it holds one. Set when it could be read.
	Refcount *int64 `json:"refcount,omitempty"`
}

// SocketInfo is the kernel's view of a socket descriptor of a live target,
// from /proc/PID/fd and /proc/PID/net/{tcp,tcp6} (the target's own network
// namespace). A core carries none of it.
type SocketInfo struct {
	Inode uint64 `json:"inode"`
	// Proto is "tcp" or "tcp6"; empty when the inode is in neither table
	// (a UNIX or UDP socket).
	Proto string `json:"proto,omitempty"`
	// Local and Peer are "127.0.0.1:8080", "[::1]:443".
	Local string `json:"local,omitempty"`
	Peer  string `json:"peer,omitempty"`
	// State is the TCP state: "ESTABLISHED", "LISTEN", "CLOSE_WAIT" …
	State string `json:"state,omitempty"`
	// PeerInode is the inode of a UNIX socket's peer, as the kernel's
	// sock_diag names it (live targets in pyhang's network namespace).
	PeerInode uint64 `json:"peer_inode,omitempty"`
	// Pair says the socket is half of a socketpair whose other half is one
	// of the target's own descriptors (no name on either end, as no
	// server's connection has): a wake-up channel between the target's own
	// threads, not a peer that may never answer.
	Pair bool `json:"socketpair,omitempty"`
}

// PipeReader is a process holding the read end of a pipe a thread of the
// target waits to write to.
type PipeReader struct {
	PID   int    `json:"pid"` // as this machine's /proc names it
	Comm  string `json:"comm,omitempty"`
	State string `json:"state"` // its /proc state letter: S, T (stopped) …
	// Reading is true when one of its threads reads the pipe, waits in a
	// poll, select or epoll that may watch it, or runs.
	Reading bool `json:"reading"`
	// Syscall is the call its main thread sits in, "" when it runs.
	Syscall string `json:"syscall,omitempty"`
}
