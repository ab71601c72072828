package live

import (
	"fmt"

	"github.com/pyhang/pyhang/snapshot/target"
)

// FollowOptions say what a Follower follows.
type FollowOptions struct {
	// Children follows the processes the followed ones start (fork, vfork,
	// clone without CLONE_THREAD), and theirs, from their first instruction.
	Children bool
}

// EventKind is what happened to a followed process.
type EventKind int

// Kinds of FollowEvent.
const (
	// Exited: the process ended; ExitCode or Signal say how.
	Exited EventKind = iota
	// Crash: thread TID stopped to take a signal that will kill the process
	// (Sig); the process waits, its other threads running, until Deliver.
	Crash
	// Started: a new process is followed (a child, with Children).
	Started
	// Execed: the process executed a new program.
	Execed
)

// FollowEvent is one event of a followed process.
type FollowEvent struct {
	Kind     EventKind
	PID      int
	TID      int
	ExitCode int  // Exited normally
	Signal   int  // Exited by this signal
	Core     bool // Exited by a signal and dumped core
	Sig      *target.SigInfo
	// Fault is the signal the kernel raised in TID before the fatal one
	// (Crash), when a handler caught it and raised the signal again — the
	// fault address the program's handler hid (Python's faulthandler).
	Fault *target.SigInfo
}

func (e FollowEvent) String() string {
	switch e.Kind {
	case Exited:
		if e.Signal != 0 {
			return fmt.Sprintf("process %d killed by signal %d", e.PID, e.Signal)
		}
		return fmt.Sprintf("process %d exited with status %d", e.PID, e.ExitCode)
	case Crash:
		return fmt.Sprintf("thread %d of process %d about to die of signal %d", e.TID, e.PID, e.Sig.Signo)
	case Started:
		return fmt.Sprintf("process %d started", e.PID)
	}
	return fmt.Sprintf("process %d executed a new program", e.PID)
}
