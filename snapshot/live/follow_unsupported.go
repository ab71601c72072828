//go:build !linux || !amd64

package live

import (
	"os"
	"time"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Follower follows processes; on this platform it cannot be made.
type Follower struct{}

// StartFollowed fails with ErrUnsupported here.
func StartFollowed(argv []string, attr *os.ProcAttr, opts FollowOptions) (*Follower, error) {
	return nil, ErrUnsupported
}

// Follow fails with ErrUnsupported here.
func Follow(pid int, opts FollowOptions) (*Follower, error) { return nil, ErrUnsupported }

func (f *Follower) PID() int                                       { return 0 }
func (f *Follower) Next(timeout time.Duration) (FollowEvent, bool) { return FollowEvent{}, false }
func (f *Follower) Stop(pid int, maxPause time.Duration) (*Held, error) {
	return nil, ErrUnsupported
}
func (f *Follower) Deliver(pid int) error { return ErrUnsupported }
func (f *Follower) Detach() error         { return ErrUnsupported }
func (f *Follower) Close()                {}

// Held is a stopped followed process; never made here.
type Held struct{ target.Target }

func (h *Held) ReadBatch(reqs []Request)   {}
func (h *Held) Paused() time.Duration      { return 0 }
func (h *Held) Signal() *target.SigInfo    { return nil }
func (h *Held) Threads() []target.Thread   { return nil }
func (h *Held) Mappings() []target.Mapping { return nil }
