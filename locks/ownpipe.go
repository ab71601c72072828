package locks

import (
	"strconv"

	"github.com/pyhang/pyhang/snapshot"
)

// ownPipeWait is the wait of a thread that reads a pipe no other process can
// write to (or writes a full pipe no other process can read): only a thread
// of its own process can end it, by writing, reading or closing its end.
// nil when the kernel does not say so (a core, a pipe another process holds).
func (a *Analysis) ownPipeWait(th *snapshot.Thread) *Wait {
	k := th.Kernel
	if k == nil || !k.PipeOwnOnly || k.PipeInode == 0 || k.FD == nil {
		return nil
	}
	id := KindPipe + "@" + strconv.FormatUint(k.PipeInode, 10)
	fd := *k.FD
	a.extra(&snapshot.Object{ID: id, Kind: KindPipe, Type: "pipe", FD: &fd})
	name := "fd " + strconv.Itoa(fd)
	return &Wait{Ref: Ref{Kind: KindPipe, ID: id, Name: &name}, Frame: userFrame(th),
		Evidence: []Evidence{{Basis: BasisOwnPipe, Syscall: k.Syscall, FD: &fd}}}
}
