package snapshot

// Object kinds beyond the talk's primitives: the import lock, barriers,
// executors and child processes.
const (
	KindModuleLock = "module-lock" // importlib._bootstrap._ModuleLock
	KindBarrier    = "barrier"     // threading.Barrier
	KindExecutor   = "executor"    // concurrent.futures.ThreadPoolExecutor
	KindPopen      = "popen"       // subprocess.Popen
)

// BarrierInfo is a threading.Barrier's state.
type BarrierInfo struct {
	// Parties is how many threads must call wait() to pass it; Waiting how
	// many are waiting now (its _count).
	Parties int `json:"parties"`
	Waiting int `json:"waiting"`
	// State is "filling", "draining", "resetting" or "broken".
	State string `json:"state"`
}

// ExecutorInfo is a ThreadPoolExecutor's size.
type ExecutorInfo struct {
	MaxWorkers int  `json:"max_workers"`
	Threads    int  `json:"threads"` // worker threads it has started
	Shutdown   bool `json:"shutdown,omitempty"`
}

// ChildInfo is a subprocess.Popen's child, as the Popen object records it.
type ChildInfo struct {
	PID int `json:"pid"`
	// ReturnCode is set once the parent has reaped the child.
	ReturnCode *int `json:"returncode,omitempty"`
	// Pipes are the standard streams the parent connected to pipes
	// ("stdin", "stdout", "stderr"): its Popen's attributes are not None.
	Pipes []string `json:"pipes,omitempty"`
	// Args is the child's command line as the Popen object holds it (a
	// repr, cut).
	Args string `json:"args,omitempty"`
}

// FrameSignal says which signal a handler's frame handles. It is known from
// the handler's own arguments: the signal number, and the frame object of
// the frame it interrupted, which is the next frame of the thread.
type FrameSignal struct {
	Number int    `json:"number"`
	Name   string `json:"name"` // "SIGALRM"
}

// ParentProcess is a live target's parent.
type ParentProcess struct {
	PID int `json:"pid"` // in the target's pid namespace
	// Threads are the kernel thread ids of Thread objects in the target's
	// memory whose thread is not one of the target's but one of its
	// parent's: the target is a fork of the parent, and those objects were
	// copied from it.
	Threads []int `json:"threads,omitempty"`
	// Waits is the system call (wait4 or waitid) in which every thread of
	// the parent waits for the target, or any child, to exit, and Comm the
	// parent's command name: read only when a thread of the target writes
	// to a pipe whose read end the parent alone holds (live targets, see
	// Kernel.PipeReaders). The parent then reads nothing until the target
	// exits.
	Waits string `json:"waits,omitempty"`
	Comm  string `json:"comm,omitempty"`
}

// ChildProcess is a live target's child process, read from /proc after the
// target's memory.
type ChildProcess struct {
	PID   int    `json:"pid"` // in the target's pid namespace, as wait4 names it
	Comm  string `json:"comm"`
	State string `json:"state"` // /proc state letter; "Z": dead, not reaped yet
	// ExitSignal and ExitStatus say how a dead child ended.
	ExitSignal int  `json:"exit_signal,omitempty"`
	ExitStatus *int `json:"exit_status,omitempty"`
	// Syscall is the system call it is blocked in; FD the descriptor of its
	// read or write.
	Syscall string `json:"syscall,omitempty"`
	FD      *int   `json:"fd,omitempty"`
	// Futex is the futex word of a futex wait: in a forked child, the same
	// address in the parent names the same lock (a multiprocessing lock's
	// semaphore lives in memory both share).
	Futex Addr `json:"futex,omitempty"`
	// FutexFile is the file the child maps where that futex word lies (a
	// multiprocessing lock's semaphore, in /dev/shm): with the address, it
	// names a lock of the target's only when the target maps the same file
	// there (Object.SharedFile).
	FutexFile string `json:"futex_file,omitempty"`
	// TargetFutex is where the target maps that futex word, when the child
	// maps FutexFile elsewhere (a child started by spawn or a fork server):
	// the address the target's own lock has.
	TargetFutex Addr `json:"target_futex,omitempty"`
	// Parent is the multiprocessing fork server that started the process
	// (the target's own child, which forks the processes the target starts
	// with the forkserver start method); absent for the target's own child.
	Parent int `json:"parent_pid,omitempty"`
	// Pipe is the pipe that FD is.
	Pipe *Pipe `json:"pipe,omitempty"`
	// Thread, when set, is the child's thread (its tid) whose system call
	// Syscall, FD and Pipe are, and ThreadComm its name: the child's main
	// thread waits forever on a futex of the child's own (a join), this
	// thread is blocked on the pipe, and every other thread waits as the
	// main one does (a multiprocessing child's queue feeder thread writing
	// to a full pipe). Set only when every process's descriptors were read
	// and none but the target and the child itself holds the pipe's other
	// end.
	Thread     int    `json:"thread,omitempty"`
	ThreadComm string `json:"thread_comm,omitempty"`
	// Alone is set when the child waits in a futex and nothing of it but
	// that waiting main thread could act: every other thread waits forever
	// on a futex of the child's own, and it has no child process.
	Alone bool `json:"alone,omitempty"`
	// Helper is "forkserver" or "resource_tracker" for those processes of
	// multiprocessing's own (by their command line), which hold no
	// program object.
	Helper string `json:"mp_helper,omitempty"`
	// FileLock is the file the child waits to lock (flock, fcntl
	// F_SETLKW) on FD, and who holds locks on it.
	FileLock *FileLock `json:"file_lock,omitempty"`
}

// Pipe is a pipe between the target and a child.
type Pipe struct {
	Inode uint64 `json:"inode"`
	// Ends are the target's own descriptors open on it.
	Ends []PipeEnd `json:"target_ends,omitempty"`
	// OnlyTarget is set when every process's descriptors were read and no
	// process but the target holds the end the child waits on (the read
	// end it writes to, the write end it reads from): only the target can
	// end its wait. Read only when a thread of the target waits on a pipe
	// this child alone holds the other end of (Kernel.PipeWriters,
	// Kernel.PipeReaders).
	OnlyTarget bool `json:"only_target,omitempty"`
}

// PipeEnd is a descriptor of the target open on a pipe.
type PipeEnd struct {
	FD    int  `json:"fd"`
	Write bool `json:"write"` // the write end (else the read end)
}

// multiprocessing kinds: a Pool, a result of one (ApplyResult, MapResult), a
// worker process object, and a queue between processes (Queue, SimpleQueue).
const (
	KindMPPool    = "mp-pool"
	KindMPResult  = "mp-result"
	KindMPProcess = "mp-process"
	KindMPQueue   = "mp-queue"
)

// MPPoolInfo is a multiprocessing.Pool.
type MPPoolInfo struct {
	Processes int `json:"processes"` // the pool's size
	// Workers are the ids of its worker Process objects (its _pool list).
	Workers []string `json:"workers"`
	// Pending is how many jobs wait for results (its _cache).
	Pending int `json:"pending"`
}

// MPResultInfo is a result of a multiprocessing.Pool job.
type MPResultInfo struct {
	Job int `json:"job"`
	// Left is how many tasks of a map() still owe results (MapResult).
	Left *int `json:"left,omitempty"`
}

// MPProcessInfo is a multiprocessing.Process object.
type MPProcessInfo struct {
	PID int `json:"pid"`
	// ExitCode is set once the parent has reaped the process: negative for
	// the signal that killed it.
	ExitCode *int `json:"exitcode,omitempty"`
	// Args are the ids of the objects of interest among its target's
	// arguments (a queue it puts to).
	Args []string `json:"args,omitempty"`
}

// MPQueueInfo is a multiprocessing queue: a pipe and a lock shared by the
// processes.
type MPQueueInfo struct {
	// ReaderFD is the descriptor of the pipe's read end in this process.
	ReaderFD *int `json:"reader_fd,omitempty"`
	// ReadLock is the address of the semaphore readers take (_rlock): a
	// forked process that waits for it sits in a futex on this address.
	ReadLock Addr `json:"read_lock,omitempty"`
	// JoinWait is, for a JoinableQueue, the address of the semaphore a
	// join() waits on (its condition's _wait_semaphore): a thread in join()
	// sits in a futex on it until task_done() has been called for every
	// item put (the object's unfinished_tasks, read from a live process).
	JoinWait Addr `json:"join_wait,omitempty"`
}

// FutexHere is the futex word a child waits on, as the target's address
// space has it (TargetFutex where the child maps it elsewhere).
func (c *ChildProcess) FutexHere() Addr {
	if c.TargetFutex != 0 {
		return c.TargetFutex
	}
	return c.Futex
}
