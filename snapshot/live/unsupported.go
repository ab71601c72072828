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
