package heuristics

import (
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// A parent that waits for its child while the child waits for the parent:
// the child writes to a pipe the parent should read (its stdout) and the
// pipe is full, or reads from a pipe the parent should close (its stdin).
// The parent sits in wait4, so neither moves. The cycle runs across two
// processes: the waiting thread is its one thread node, the child and the
// pipe its resources.

// PipeDeadlock is the cross-process part of such a deadlock.
type PipeDeadlock struct {
	// Thread waits for the child (Popen.wait(), os.waitpid()).
	Thread int `json:"thread"`
	// Popen is the subprocess.Popen waited in, when there is one.
	Popen *locks.Ref `json:"popen,omitempty"`
	Child int        `json:"child_pid"`
	// Comm is the child's command name (live); Args its command line as the
	// Popen holds it.
	Comm string `json:"comm,omitempty"`
	Args string `json:"args,omitempty"`
	// Proven is true when the kernel shows the child blocked on the pipe
	// (a live target). False: from memory alone (a core), the parent waits
	// with pipes from the child that it does not read, and the child's
	// state is unknown.
	Proven bool `json:"proven"`
	// ChildSyscall, ChildFD: the child's blocked read or write and its
	// descriptor (1 is its stdout, 2 its stderr, 0 its stdin).
	ChildSyscall string `json:"child_syscall,omitempty"`
	ChildFD      *int   `json:"child_fd,omitempty"`
	// Pipe is the pipe's inode; TargetFD the target's end of it, which the
	// child waits for the target to read (or close).
	Pipe     uint64 `json:"pipe_inode,omitempty"`
	TargetFD *int   `json:"target_fd,omitempty"`
	// Pipes are the Popen's streams connected to pipes.
	Pipes []string `json:"pipes,omitempty"`
	// ReadFD is set when Thread reads a pipe rather than waits for the
	// child to exit: the target's descriptor it reads, a pipe only the
	// child feeds (ReadPipe its inode), while the child waits to write to
	// another pipe only the target reads (TargetFD).
	ReadFD   *int   `json:"read_fd,omitempty"`
	ReadPipe uint64 `json:"read_pipe_inode,omitempty"`
	// WriteFD is set, as ReadFD is, when Thread writes to a full pipe only
	// the child reads (its stdin), while the child waits on another pipe
	// only the target holds the other end of (WritePipe its inode).
	WriteFD   *int   `json:"write_fd,omitempty"`
	WritePipe uint64 `json:"write_pipe_inode,omitempty"`
	// ChildThread is set when the child's call is not its main thread's
	// but another thread's, which the main thread waits for (its join), as
	// every other thread does: the child cannot exit (ChildThreadComm is
	// the thread's name, snapshot.ChildProcess.Thread).
	ChildThread     int    `json:"child_thread,omitempty"`
	ChildThreadComm string `json:"child_thread_comm,omitempty"`
	// Queue is the multiprocessing queue whose pipe it is: TargetFD is its
	// reader's descriptor in the target.
	Queue *locks.Ref `json:"queue,omitempty"`
}

func pipeDeadlocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	var out []Finding
	for _, tid := range sortedWaiters(a) {
		w := a.Waits[tid]
		if w.Kind != locks.KindProcess {
			continue
		}
		// In wait4, or polling a sentinel (a fork server's child).
		t := threadOf(s, tid)
		if t == nil || (t.State != snapshot.StateBlocked && t.State != snapshot.StateIO) || w.Timed() {
			continue
		}
		var popen *snapshot.Object
		if ob := s.Objects[w.Object]; ob != nil && ob.Child != nil {
			popen = ob
		}
		d := &PipeDeadlock{Thread: tid}
		if popen != nil {
			r := locks.RefOf(popen)
			d.Popen, d.Child, d.Args, d.Pipes = &r, popen.Child.PID, popen.Child.Args, popen.Child.Pipes
		}
		sev := Error
		if c := locks.ChildOf(s, w); c != nil {
			d.Child, d.Comm = c.PID, c.Comm
			fd, ok := blockedOnTarget(c)
			if !ok || !othersStuck(s, a, map[int]bool{tid: true}) {
				continue
			}
			d.Proven, d.ChildSyscall, d.ChildFD, d.Pipe, d.TargetFD = true, c.Syscall, c.FD, c.Pipe.Inode, &fd
			d.ChildThread, d.ChildThreadComm = c.Thread, c.ThreadComm
			if q := queueReadingFD(s, fd); q != nil {
				r := locks.RefOf(q)
				d.Queue = &r
			}
		} else {
			// No kernel facts (a core): the parent waits while pipes from
			// the child stay unread.
			if s.Target.Kind == "pid" || popen == nil || popen.Child.ReturnCode != nil || !readsFromChild(popen.Child.Pipes) {
				continue
			}
			sev = Warning
		}
		f := Finding{Kind: Deadlock, Severity: sev, Threads: []int{tid}, Objects: []string{w.ID},
			Details: &DeadlockDetails{Cycle: []CycleStep{{ThreadWait: threadWait(a, tid)}}, Pipe: d}}
		if d.Queue != nil && d.Queue.ID != w.ID {
			f.Objects = append(f.Objects, d.Queue.ID)
			sort.Strings(f.Objects)
		}
		out = append(out, f)
	}
	out = append(out, parentPipeDeadlocks(s, a)...)
	return append(out, crossPipeDeadlocks(s, a)...)
}

// crossPipeDeadlocks finds a thread waiting on a pipe whose other end only
// a child holds, while that child waits on another pipe whose other end
// only the target holds, and no other thread of the target can run: the
// parent reads the child's stdout to its end while the child blocks on a
// full stderr, or waits for a stdin the parent never closes; the parent
// writes a full stdin while the child blocks on a full stdout. The kernel
// shows both (live targets), and a whole scan of every process's
// descriptors who holds the ends.
func crossPipeDeadlocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	var out []Finding
	for i := range s.Threads {
		t := &s.Threads[i]
		k := t.Kernel
		if k == nil || k.FD == nil || t.State != snapshot.StateIO {
			continue
		}
		others, reads := k.PipeWriters, true
		if len(k.PipeReaders) > 0 {
			others, reads = k.PipeReaders, false
		}
		if len(others) != 1 {
			continue
		}
		c := childByPID(s, others[0])
		if c == nil || c.Pipe == nil || !c.Pipe.OnlyTarget || c.Pipe.Inode == k.PipeInode {
			continue
		}
		fd, ok := blockedOnTarget(c)
		if !ok || !othersStuck(s, a, map[int]bool{t.TID: true}) {
			continue
		}
		own := *k.FD
		d := &PipeDeadlock{Thread: t.TID, Child: c.PID, Comm: c.Comm, Proven: true, ChildSyscall: c.Syscall, ChildFD: c.FD,
			Pipe: c.Pipe.Inode, TargetFD: &fd}
		if reads {
			d.ReadFD, d.ReadPipe = &own, k.PipeInode
		} else {
			d.WriteFD, d.WritePipe = &own, k.PipeInode
		}
		f := Finding{Kind: Deadlock, Severity: Error, Threads: []int{t.TID}, Objects: []string{}}
		if popen := popenOf(s, c.PID); popen != nil {
			r := locks.RefOf(popen)
			d.Popen, d.Args, d.Pipes = &r, popen.Child.Args, popen.Child.Pipes
			f.Objects = append(f.Objects, popen.ID)
		}
		step := CycleStep{ThreadWait: ThreadWait{Thread: t.TID, Frame: locks.OwnFrame(t, 0)}}
		if a.Waits[t.TID] != nil {
			step.ThreadWait = threadWait(a, t.TID)
		}
		f.Details = &DeadlockDetails{Cycle: []CycleStep{step}, Pipe: d}
		out = append(out, f)
	}
	return out
}

// queueReadingFD is the multiprocessing queue whose pipe's read end is the
// target's descriptor fd, or nil.
func queueReadingFD(s *snapshot.Snapshot, fd int) *snapshot.Object {
	var best *snapshot.Object
	for _, ob := range s.Objects {
		if ob.MPQueue != nil && ob.MPQueue.ReaderFD != nil && *ob.MPQueue.ReaderFD == fd && (best == nil || ob.ID < best.ID) {
			best = ob
		}
	}
	return best
}

// childByPID is the target's child process pid, or nil.
func childByPID(s *snapshot.Snapshot, pid int) *snapshot.ChildProcess {
	for i := range s.Target.Children {
		if s.Target.Children[i].PID == pid {
			return &s.Target.Children[i]
		}
	}
	return nil
}

// popenOf is the subprocess.Popen object of child pid, when memory holds
// one.
func popenOf(s *snapshot.Snapshot, pid int) *snapshot.Object {
	var best *snapshot.Object
	for _, ob := range s.Objects {
		if ob.Child != nil && ob.Child.PID == pid && (best == nil || ob.ID < best.ID) {
			best = ob
		}
	}
	return best
}

// blockedOnTarget: the child is blocked writing to a pipe whose read end
// the target holds, or reading a pipe whose write end it holds; the
// target's descriptor.
func blockedOnTarget(c *snapshot.ChildProcess) (int, bool) {
	if c.Pipe == nil || c.State == "Z" {
		return 0, false
	}
	var wantWrite bool
	switch c.Syscall {
	case "write", "writev":
		wantWrite = false // the target must read: it holds the read end
	case "read", "readv":
		wantWrite = true // the target must close its write end
	default:
		return 0, false
	}
	for _, e := range c.Pipe.Ends {
		if e.Write == wantWrite {
			return e.FD, true
		}
	}
	return 0, false
}

func readsFromChild(pipes []string) bool {
	for _, p := range pipes {
		if p == "stdout" || p == "stderr" {
			return true
		}
	}
	return false
}

func sortedWaiters(a *locks.Analysis) []int {
	out := make([]int, 0, len(a.Waits))
	for tid := range a.Waits {
		out = append(out, tid)
	}
	sort.Ints(out)
	return out
}
