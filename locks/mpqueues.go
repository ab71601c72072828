package locks

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// A multiprocessing queue is a pipe and a lock shared by processes. A thread
// that takes from one reads the pipe, holding the queue's read lock, or
// waits for that lock: a semaphore in memory the processes share, so the
// futex a waiter sleeps on is the semaphore's address. Neither is a lock of
// this process alone; what ends the wait is another process's put().

// mpQueueOf finds the multiprocessing queue a thread waits on, and the call
// it waits in: get(), or a JoinableQueue's join().
func mpQueueOf(x *index, th *snapshot.Thread) (*snapshot.Object, string, Evidence) {
	if x.mpQueues == nil {
		x.mpQueues = []*snapshot.Object{}
		for _, ob := range x.s.Objects {
			if ob.MPQueue != nil {
				x.mpQueues = append(x.mpQueues, ob)
			}
		}
		sort.Slice(x.mpQueues, func(i, j int) bool { return x.mpQueues[i].ID < x.mpQueues[j].ID })
	}
	k := th.Kernel
	for _, ob := range x.mpQueues {
		q := ob.MPQueue
		switch {
		case k.FD != nil && q.ReaderFD != nil && *k.FD == *q.ReaderFD && (k.Syscall == "read" || k.Syscall == "readv" || k.Syscall == "poll" || k.Syscall == "ppoll"):
			fd := *k.FD
			return ob, "get", Evidence{Basis: BasisPipeFD, Syscall: k.Syscall, FD: &fd}
		case q.ReaderFD != nil && containsInt(k.FDs, *q.ReaderFD):
			fd := *q.ReaderFD
			return ob, "get", Evidence{Basis: BasisPipeFD, Syscall: k.Syscall, FD: &fd}
		case k.Futex != 0 && q.ReadLock != 0 && k.Futex == q.ReadLock:
			return ob, "get", Evidence{Basis: BasisSemaphore, Addr: k.Futex}
		case k.Futex != 0 && q.JoinWait != 0 && k.Futex == q.JoinWait:
			return ob, "join", Evidence{Basis: BasisJoinWait, Addr: k.Futex}
		}
	}
	return nil, "", Evidence{}
}

func (a *Analysis) mpQueueWait(th *snapshot.Thread, q *snapshot.Object, call string, how Evidence) *Wait {
	w := &Wait{Ref: ref(q), Evidence: []Evidence{how}, Object: q.ID, Call: call, Frame: userFrame(th)}
	if th.Kernel.Timed {
		w.Evidence = append(w.Evidence, Evidence{Basis: BasisTimeout})
	}
	return w
}

// pastPoolFrames moves a frame index out of multiprocessing.pool's own
// frames (Pool.map calling MapResult.get), to the program's call.
func pastPoolFrames(th *snapshot.Thread, i int) int {
	for j := i; j < len(th.Frames); j++ {
		f := th.Frames[j].File
		if filepath.Base(f) != "pool.py" || !strings.Contains(f, "multiprocessing") {
			return j
		}
	}
	return i
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
