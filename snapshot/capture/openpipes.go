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
	pipes := map[int]uint64{}
	if ends, err := live.OpenPipes(t.PID()); err == nil {
		for _, e := range ends {
			s.Target.OpenPipes = append(s.Target.OpenPipes, snapshot.OpenPipe{FD: e.FD, Inode: e.Inode, Write: e.Write})
			pipes[e.FD] = e.Inode
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
		if k.FD != nil {
			if ino, ok := pipes[*k.FD]; ok {
				k.PipeInode = ino
				k.PipeOwnOnly = ownPipe(t.PID(), k, others)
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
	h, ok := held[end]
	if !ok {
		elsewhere, complete := live.PipeHeldElsewhere(pid, end.inode, end.write)
		h = elsewhere || !complete
		held[end] = h
	}
	return !h
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
