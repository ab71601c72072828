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
