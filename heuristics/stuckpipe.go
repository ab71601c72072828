package heuristics

import (
	"slices"
	"strconv"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// A thread blocked writing to a pipe waits for the processes that hold the
// pipe's read end to read it: the pipe is full. When none of them reads it
// now (each is stopped, or blocked in something else: no read of the pipe,
// no poll that may watch it, no thread on a CPU), the write stays blocked
// until one does, and so does every thread waiting for a lock the writer
// holds (logging's handler lock, typically): stuck I/O, a warning, as the
// reader may yet come back to the pipe. A parent that waits for the target
// to exit is no such reader: that is a deadlock (parentpipe.go).

// StuckPipeDetails lists the threads blocked writing to full pipes nobody
// reads, and the threads that wait for them.
type StuckPipeDetails struct {
	Stuck []StuckPipeWrite `json:"stuck_pipes"`
	// Dependents wait only for stuck writers (a lock one holds, a join).
	Dependents []ThreadWait `json:"dependents,omitempty"`
}

// StuckPipeWrite is one thread blocked writing to a full pipe.
type StuckPipeWrite struct {
	// ThreadWait names the pipe (kind pipe, "fd N"); Frame is the
	// program's own frame that wrote.
	ThreadWait
	Syscall string `json:"syscall"`
	FD      int    `json:"fd"`
	Pipe    uint64 `json:"pipe_inode"`
	// Readers are the processes holding the read end, none reading it.
	Readers []snapshot.PipeReader `json:"readers"`
	// Holds are the locks the writer holds while it waits.
	Holds []locks.Ref `json:"holds,omitempty"`
}

// stuckPipes finds them (live targets: Kernel.ReadEnd). A writer that a
// deadlock found before holds (across pipes with a child, say) is that
// finding's.
func stuckPipes(s *snapshot.Snapshot, a *locks.Analysis, found []Finding) (Finding, bool) {
	inDeadlock := map[int]bool{}
	for _, f := range found {
		if f.Kind == Deadlock {
			for _, tid := range f.Threads {
				inDeadlock[tid] = true
			}
		}
	}
	d := &StuckPipeDetails{}
	stuck := map[int]bool{}
	var objs []string
	for i := range s.Threads {
		t := &s.Threads[i]
		k := t.Kernel
		if k == nil || k.FD == nil || t.State != snapshot.StateIO || k.Timed || len(k.ReadEnd) == 0 ||
			(k.Syscall != "write" && k.Syscall != "writev") || waitingParent(s, k) || inDeadlock[t.TID] {
			continue
		}
		// The target holding the read end too may read it from another
		// thread: not claimed.
		reading := slices.ContainsFunc(s.Target.OpenPipes, func(e snapshot.OpenPipe) bool { return e.Inode == k.PipeInode && !e.Write })
		for _, r := range k.ReadEnd {
			reading = reading || r.Reading
		}
		if reading {
			continue
		}
		name := "fd " + strconv.Itoa(*k.FD)
		st := StuckPipeWrite{ThreadWait: ThreadWait{Thread: t.TID, Frame: locks.UserFrame(t),
			Waits: locks.Ref{Kind: locks.KindPipe, ID: locks.KindPipe + "@" + strconv.FormatUint(k.PipeInode, 10), Name: &name}},
			Syscall: k.Syscall, FD: *k.FD, Pipe: k.PipeInode, Readers: k.ReadEnd}
		for _, h := range a.Holds[t.TID] {
			st.Holds = append(st.Holds, h.Ref)
			objs = append(objs, h.ID)
		}
		d.Stuck = append(d.Stuck, st)
		stuck[t.TID] = true
	}
	if len(d.Stuck) == 0 {
		return Finding{}, false
	}
	f := Finding{Kind: StuckIO, Severity: Warning, Details: d}
	for _, st := range d.Stuck {
		f.Threads = append(f.Threads, st.Thread)
	}
	d.Dependents = dependents(s, a, stuck, &f, &objs)
	f.Threads = sortedUnique(f.Threads)
	f.Objects = sortedUnique(append([]string{}, objs...))
	return f, true
}

// waitingParent says whether the write's one reader is the target's parent
// waiting for the target to exit: a deadlock, told by parentPipeDeadlocks.
func waitingParent(s *snapshot.Snapshot, k *snapshot.Kernel) bool {
	p := s.Target.Parent
	return p != nil && p.Waits != "" && len(k.PipeReaders) == 1 && k.PipeReaders[0] == p.PID
}
