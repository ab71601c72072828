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
	fd := *k.FD
	a.extra(&snapshot.Object{ID: id, Kind: KindPipe, Type: "pipe", FD: &fd})
	name := "fd " + strconv.Itoa(fd)
	return &Wait{Ref: Ref{Kind: KindPipe, ID: id, Name: &name}, Frame: userFrame(th),
		Evidence: []Evidence{{Basis: BasisOwnPipe, Syscall: k.Syscall, FD: &fd}}}
}

// ownPipe tells whether the kernel says the call is on a pipe only the
// target holds the other end of (never from a core).
func ownPipe(k *snapshot.Kernel) bool {
	return k.PipeOwnOnly && k.PipeInode != 0 && k.FD != nil
}
