package locks

import (
	"github.com/pyhang/pyhang/snapshot"
)

// KindFileLock is a file a thread waits to lock with flock() or fcntl():
// the kernel's lock on an inode, held by a process (or an open file
// description), not by a thread.
const KindFileLock = "file-lock"

// BasisFileLock: the thread sits in flock() or fcntl(F_SETLKW) on FD, a
// descriptor of the file (snapshot.Kernel.FileLock, from /proc).
const BasisFileLock Basis = "file-lock"

// BasisFileLockHolder: /proc/locks names PID as holding a lock on the file
// (-1: an open file description's lock, which names no process); Type is
// its command name, FD the target's own descriptor holding it, when the
// holder is the target.
const BasisFileLockHolder Basis = "file-lock-holder"

// fileLockWait is the wait of a thread for a file lock. Another process
// holding a lock on the file makes it AnotherProcess: only that process can
// end it. Held by the target itself (through another descriptor, or by
// another thread), it names no holding thread: a lock of an open file is
// the process's, and any of its threads may unlock or close it.
func (a *Analysis) fileLockWait(th *snapshot.Thread) *Wait {
	k := th.Kernel
	fl := k.FileLock
	id := KindFileLock + "@" + fl.File
	name := fl.Path
	a.extra(&snapshot.Object{ID: id, Kind: KindFileLock, Type: "file", FD: k.FD, Names: []string{fl.Path}})
	w := &Wait{Ref: Ref{Kind: KindFileLock, ID: id, Name: &name}, Frame: userFrame(th),
		Evidence: []Evidence{{Basis: BasisFileLock, Syscall: k.Syscall, FD: k.FD}}}
	// No holder seen (released meanwhile, or a process /proc does not
	// show): anyone may end it, as far as pyhang knows.
	w.AnotherProcess = len(fl.Holders) == 0
	for _, h := range fl.Holders {
		if h.PID != a.Snap.Target.PID {
			w.AnotherProcess = true
		}
		ev := Evidence{Basis: BasisFileLockHolder, PID: h.PID, Type: h.Comm}
		if len(h.FDs) > 0 {
			fd := h.FDs[0]
			ev.FD = &fd
		}
		w.Evidence = append(w.Evidence, ev)
	}
	return w
}
