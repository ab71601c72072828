package heuristics

import (
	"slices"
	"strconv"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// The child's side of a pipe deadlock with its parent: a thread of the
// target writes to a full pipe (its stdout, its stderr) whose read end no
// process but its parent holds, while every thread of the parent waits for
// the target to exit (Popen.wait() on a Popen whose output it never reads).
// The parent reads nothing until the target exits, and the target cannot
// exit while that write is blocked and no other thread of it can run.

// ParentPipeDeadlock is that deadlock, seen from the child.
type ParentPipeDeadlock struct {
	// Thread is the target's thread blocked in the write, on FD; Pipe is
	// the pipe's inode.
	Thread  int    `json:"thread"`
	Syscall string `json:"syscall"`
	FD      int    `json:"fd"`
	Pipe    uint64 `json:"pipe_inode"`
	// Parent is the parent's pid, Comm its command name, and Waits the
	// call every thread of it waits in (wait4 or waitid).
	Parent int    `json:"parent_pid"`
	Comm   string `json:"parent_comm,omitempty"`
	Waits  string `json:"parent_waits"`
	// Holds are the locks Thread holds while it writes: the threads that
	// wait for them wait for the pipe too.
	Holds []locks.Ref `json:"holds,omitempty"`
}

// parentPipeDeadlocks finds a thread of a live target writing to a pipe
// only its waiting parent reads (Kernel.PipeReaders, ParentProcess.Waits),
// when every other thread of the target waits forever on something of the
// target's own: the target cannot exit.
func parentPipeDeadlocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	parent := s.Target.Parent
	if parent == nil || parent.Waits == "" {
		return nil
	}
	var out []Finding
	for i := range s.Threads {
		t := &s.Threads[i]
		k := t.Kernel
		if k == nil || k.FD == nil || t.State != snapshot.StateIO || k.Timed || !slices.Equal(k.PipeReaders, []int{parent.PID}) {
			continue
		}
		if !othersStuck(s, a, map[int]bool{t.TID: true}) {
			continue
		}
		d := &ParentPipeDeadlock{Thread: t.TID, Syscall: k.Syscall, FD: *k.FD, Pipe: k.PipeInode,
			Parent: parent.PID, Comm: parent.Comm, Waits: parent.Waits}
		f := Finding{Kind: Deadlock, Severity: Error, Threads: []int{t.TID}, Objects: []string{}}
		for _, h := range a.Holds[t.TID] {
			d.Holds = append(d.Holds, h.Ref)
			f.Objects = append(f.Objects, h.ID)
			for _, w := range waitersOn(a, h.ID) {
				if !slices.Contains(f.Threads, w) {
					f.Threads = append(f.Threads, w)
				}
			}
		}
		name := "fd " + strconv.Itoa(d.FD)
		step := CycleStep{ThreadWait: ThreadWait{Thread: t.TID, Frame: locks.UserFrame(t),
			Waits: locks.Ref{Kind: locks.KindPipe, ID: locks.KindPipe + "@" + strconv.FormatUint(d.Pipe, 10), Name: &name}}}
		f.Details = &DeadlockDetails{Cycle: []CycleStep{step}, ParentPipe: d}
		out = append(out, f)
	}
	return out
}
