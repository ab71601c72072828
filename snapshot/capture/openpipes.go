package capture

import (
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// waitid's idtype values (include/uapi/linux/wait.h).
const (
	waitidAll = 0 // P_ALL: any child
	waitidPID = 1 // P_PID: one child
)

// openPipes records, for a live process, the pipe ends it has open; on each
// thread that reads a pipe, which pipe (by its inode, which names the pipe
// in every process that has an end of it); and on a thread in waitid, the
// child it waits for (wait4 is recorded with the kernel state). A core
// records none of this.
func openPipes(s *snapshot.Snapshot, t target.Target) {
	if t.Kind() != "pid" {
		return
	}
	pipes := map[int]pipeEnd{}
	if ends, err := live.OpenPipes(t.PID()); err == nil {
		for _, e := range ends {
			s.Target.OpenPipes = append(s.Target.OpenPipes, snapshot.OpenPipe{FD: e.FD, Inode: e.Inode, Write: e.Write})
			pipes[e.FD] = pipeEnd{e.Inode, e.Write}
		}
	}
	others := map[pipeEnd]bool{}
	args := map[int][6]uint64{}
	for _, kt := range t.Threads() {
		if kt.InSyscall {
			args[kt.TID] = kt.Args
		}
	}
	for i := range s.Threads {
		k := s.Threads[i].Kernel
		if k == nil {
			continue
		}
		switch {
		case k.FD != nil:
			if end, ok := pipes[*k.FD]; ok {
				k.PipeInode = end.inode
				k.PipeOwnOnly = ownPipe(t.PID(), k, others)
			}
		case len(k.FDs) > 0 && !k.Timed && polls(k.Nr):
			k.PipeOwnOnly = ownPipesPolled(t.PID(), k.FDs, pipes, others)
			if k.PipeOwnOnly {
				k.PipeInode = pipes[k.FDs[0]].inode
			}
		}
		if a, ok := args[s.Threads[i].TID]; ok && k.Nr == sysWaitid && k.WaitPID == nil {
			switch a[0] {
			case waitidAll:
				p := -1
				k.WaitPID = &p
			case waitidPID:
				p := int(int32(a[1]))
				k.WaitPID = &p
			}
		}
	}
}

// pipeEnd is one end of a pipe: its inode, and whether the write end.
type pipeEnd struct {
	inode uint64
	write bool
}

// ownPipe tells whether k reads or writes a pipe whose other end no other
// process holds. held caches, by end, whether another process holds it:
// the scan reads every process's descriptors.
func ownPipe(pid int, k *snapshot.Kernel, held map[pipeEnd]bool) bool {
	var end pipeEnd
	switch k.Nr {
	case sysRead, sysReadv:
		end = pipeEnd{k.PipeInode, true}
	case sysWrite, sysWritev:
		end = pipeEnd{k.PipeInode, false}
	default:
		return false
	}
	return !heldElsewhere(pid, end, held)
}

// heldElsewhere tells whether a process other than pid holds the pipe end,
// or might (its scan was cut short); held caches the answers by end.
func heldElsewhere(pid int, end pipeEnd, held map[pipeEnd]bool) bool {
	h, ok := held[end]
	if !ok {
		elsewhere, complete := live.PipeHeldElsewhere(pid, end.inode, end.write)
		h = elsewhere || !complete
		held[end] = h
	}
	return h
}

// polls says whether nr is a poll or select: it waits on descriptors (Kernel.FDs).
func polls(nr int) bool {
	switch nr {
	case sysPoll, sysPpoll, sysSelect, sysPselect6:
		return true
	}
	return false
}

// ownPipesPolled tells whether every descriptor a poll or select without a
// timeout waits on is a pipe end whose other end no other process holds.
// Whatever the events asked for, only the other end can wake a pipe end:
// a read end gets data or a hang-up from the write end's holders, a write
// end room or an error from the read end's. held caches as for ownPipe.
func ownPipesPolled(pid int, fds []int, pipes map[int]pipeEnd, held map[pipeEnd]bool) bool {
	for _, fd := range fds {
		end, ok := pipes[fd]
		if !ok {
			return false // a socket, a terminal, an eventfd …: anything can wake it
		}
		if heldElsewhere(pid, pipeEnd{end.inode, !end.write}, held) {
			return false
		}
	}
	return true
}

// Children lists the live child processes of pid, by their ids in this
// machine's /proc.
func Children(pid int) []int { return live.HostChildren(pid) }

// ProcessInfo describes a live process pyhang could not snapshot: its pid,
// its parent and its executable, as far as /proc tells them.
func ProcessInfo(pid int) snapshot.TargetInfo {
	ti := snapshot.TargetInfo{Kind: "pid", PID: pid, Warnings: []string{}}
	if pp := live.Parent(pid, nil); pp != nil {
		ti.Parent = &snapshot.ParentProcess{PID: pp.PID}
	}
	if exe, err := live.Executable(pid); err == nil {
		ti.Executable = exe
	}
	return ti
}
