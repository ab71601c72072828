package capture

import (
	"time"

	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Stopped is a live process whose threads stay stopped until Close: what a
// snapshot copies its memory from. *live.Process is one; a process pyhang
// already traces (pyhang run, pyhang watch) is stopped by its tracer instead.
type Stopped interface {
	target.Memory
	// ReadBatch is called from two goroutines at once (pageCopy).
	ReadBatch(reqs []live.Request)
	Threads() []target.Thread // with their registers
	Mappings() []target.Mapping
	// Signal is the signal a thread stopped to take, when the stop is its
	// delivery (a crash caught before it kills the process); nil otherwise.
	Signal() *target.SigInfo
	Warnings() []string
	Paused() time.Duration
	Close() error // lets the threads go
}

// Keeper keeps more of a live target than a snapshot reads, in the same
// pause (the memory a core file needs).
type Keeper interface {
	// Plan runs before the target is stopped, on the unstopped view, once
	// the snapshot has learned which pages it reads.
	Plan(t target.Target) error
	// Keep runs while the target is stopped, after the snapshot's pages
	// (pages, by page address) were copied.
	Keep(s Stopped, pages map[uint64][]byte)
}

// stop stops the process of peek, an unstopped view of it, the way opts say.
func (o Options) stop(peek *live.Process) (Stopped, error) {
	if o.Stop != nil {
		return o.Stop(peek.PID())
	}
	return peek.Stop(live.Options{})
}
