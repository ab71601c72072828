package snapshot

// Loop is one asyncio event loop. Its id is also an entry of the
// snapshot's objects (kind "loop").
type Loop struct {
	ID   string `json:"id"`   // loop@0x…
	Type string `json:"type"` // "_UnixSelectorEventLoop"
	// Thread is the tid of the thread running the loop, 0 when none runs it;
	// Ident is that thread's ident (loop._thread_id).
	Thread int    `json:"thread,omitempty"`
	Ident  uint64 `json:"ident,omitempty"`
	Closed bool   `json:"closed,omitempty"`
	// Ready counts the callbacks ready to run, Timers the scheduled ones not
	// cancelled, Signals the signal handlers; FDs are the file descriptors
	// its selector watches, its own self-pipe left out. Each is absent when
	// it could not be read (a loop not built on asyncio's BaseEventLoop).
	Ready *int `json:"ready,omitempty"`
	// ReadyCallbacks name the first of the ready callbacks, in the order
	// they would run: "Future.set_result", "Task.task_wakeup".
	ReadyCallbacks []string `json:"ready_callbacks,omitempty"`
	Timers         *int     `json:"timers,omitempty"`
	Signals        *int     `json:"signal_handlers,omitempty"`
	FDs            *[]int   `json:"fds,omitempty"`
	// Current is the id of the task whose coroutine runs now, if any.
	Current string `json:"current_task,omitempty"`
	Addr    Addr   `json:"addr"`
}

// Task states: the names asyncio's futures give them.
const (
	TaskPending   = "PENDING"
	TaskCancelled = "CANCELLED"
	TaskFinished  = "FINISHED"
)

// Task is one asyncio task.
type Task struct {
	ID   string `json:"id"`   // task@0x…, also an entry of the snapshot's objects
	Name string `json:"name"` // task.get_name()
	Type string `json:"type"` // "_asyncio.Task"
	Loop string `json:"loop"` // id of its loop ("" when unreadable)
	// State is PENDING, CANCELLED or FINISHED; Done is State != PENDING.
	State string `json:"state"`
	Done  bool   `json:"done"`
	// Running is true for the task whose coroutine executes right now on
	// its loop's thread; its Frames are then that thread's frames from the
	// innermost one out to the task's coroutine.
	Running bool `json:"running,omitempty"`
	// Coro is the qualified name of the task's coroutine function.
	Coro string `json:"coro,omitempty"`
	// Frames is the task's await chain, innermost first: the frame of each
	// coroutine the task awaits through, the way a thread's stack lists
	// calls. Empty for a task that is done.
	Frames []Frame `json:"frames"`
	// Awaits is the id of the future or task the innermost coroutine awaits
	// (task._fut_waiter), absent when it awaits none.
	Awaits string `json:"awaits,omitempty"`
	Addr   Addr   `json:"addr"`
}

// Handle is a task's human name: its name, else its id.
func (t *Task) Handle() string {
	if t.Name != "" {
		return t.Name
	}
	return t.ID
}
