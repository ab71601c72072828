//go:build !linux || !amd64

package live

import (
	"errors"
	"time"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Process is a live process; on this platform Attach always fails.
type Process struct{ target.Target }

// Attach fails with ErrUnsupported: reading a live process needs Linux
// ptrace and x86-64 registers.
func Attach(pid int, opts Options) (*Process, error) {
	return nil, &AttachError{PID: pid, Kind: ErrUnsupported, Msg: ErrUnsupported.Error(), Err: errors.ErrUnsupported}
}

// Paused is always 0 here.
func (p *Process) Paused() time.Duration { return 0 }

// ReadBatch fails every request here.
func (p *Process) ReadBatch(reqs []Request) {
	for i := range reqs {
		reqs[i].N, reqs[i].Err = 0, ErrUnsupported
	}
}

// Stop fails with ErrUnsupported here.
func (p *Process) Stop(opts Options) (*Process, error) { return nil, ErrUnsupported }

// ReadThreads fails with ErrUnsupported here.
func (p *Process) ReadThreads() error { return ErrUnsupported }

// Seize fails with ErrUnsupported here.
func (p *Process) Seize() error { return ErrUnsupported }

// Blocked knows no thread here.
func (p *Process) Blocked(tid int) (target.Thread, bool) { return target.Thread{}, false }

// CPUTime fails with ErrUnsupported here.
func (p *Process) CPUTime(tid int) (uint64, error) { return 0, ErrUnsupported }
