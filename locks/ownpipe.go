package locks

import (
	"strconv"

	"github.com/pyhang/pyhang/snapshot"
)

// ownPipeWait is the wait of a thread that reads a pipe no other process can
// write to (or writes a full pipe no other process can read): only a thread
// of its own process can end it, by writing, reading or closing its end.
// The thread's call is one ownPipe says is on such a pipe.
func (a *Analysis) ownPipeWait(th *snapshot.Thread) *Wait {
	k := th.Kernel
	id := KindPipe + "@" + strconv.FormatUint(k.PipeInode, 10)
	var fd int
	var name string
	if k.FD != nil {
		fd = *k.FD
		name = "fd " + strconv.Itoa(fd)
	} else { // a poll or select of pipes: named by its descriptors
		fd = k.FDs[0]
		name = "fd"
		if len(k.FDs) > 1 {
			name = "fds"
		}
		for i, f := range k.FDs {
			if i > 0 {
				name += ","
			}
			name += " " + strconv.Itoa(f)
		}
	}
	a.extra(&snapshot.Object{ID: id, Kind: KindPipe, Type: "pipe", FD: &fd})
	return &Wait{Ref: Ref{Kind: KindPipe, ID: id, Name: &name}, Frame: userFrame(th),
		Evidence: []Evidence{{Basis: BasisOwnPipe, Syscall: k.Syscall, FD: &fd}}}
}

// ownPipe tells whether the kernel says the call is on a pipe only the
// target holds the other end of, or a poll of such pipes (never from a core).
func ownPipe(k *snapshot.Kernel) bool {
	return k.PipeOwnOnly && k.PipeInode != 0 && (k.FD != nil || len(k.FDs) > 0)
}
