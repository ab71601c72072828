package capture

import (
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/live"
)

// kin is a live target's children as the kernel shows them, and the
// target's own descriptors on the pipes they read or write.
type kin struct {
	children []live.ChildProc
	ends     []live.PipeEnd
	// pipesHeld tells, for the pipe ends the threads' waits depended on
	// before the stop, whether another process may hold them
	// (pipeHoldersAhead).
	pipesHeld map[live.PipeEndRef]bool
}

// readKin reads the children of live process pid. It runs beside the first
// read of the target's memory (a moment before the stop: a stable hang does
// not change in between), since it reads a /proc file per thread.
func readKin(pid int) *kin {
	k := &kin{children: live.Children(pid)}
	inodes := map[uint64]bool{}
	for _, c := range k.children {
		if c.FDPipe != 0 {
			inodes[c.FDPipe] = true
		}
		if c.Blocker != nil {
			inodes[c.Blocker.PipeIno] = true
		}
	}
	k.ends = live.PipeEnds(pid, inodes)
	return k
}

// sharedAt reports whether a lock of s shared between processes has its
// state at addr.
func sharedAt(s *snapshot.Snapshot, addr snapshot.Addr) bool {
	for _, ob := range s.Objects {
		if ob.Shared && ob.WaitKey == addr {
			return true
		}
	}
	return false
}

// addFamily records a live target's parent and its children (k). A child's
// pipe is matched to the target's own descriptors on it; the parent is
// asked which Thread objects of the target's memory, whose thread the
// target does not have, are its threads.
func addFamily(s *snapshot.Snapshot, pid int, k *kin) {
	for _, c := range k.children {
		ch := snapshot.ChildProcess{PID: c.PID, Comm: c.Comm, State: c.State, Parent: c.Parent, Alone: c.Alone, Helper: c.Helper}
		if c.ExitCode != nil {
			if sig := *c.ExitCode & 0x7f; sig != 0 {
				ch.ExitSignal = sig
			} else {
				st := *c.ExitCode >> 8 & 0xff
				ch.ExitStatus = &st
			}
		}
		if c.InSyscall {
			ch.Syscall = syscallName(c.Nr)
			if fd, ok := fdOf(c.Nr, c.Args); ok {
				ch.FD = &fd
			}
			if fd, ok := lockFD(c.Nr, c.Args); ok {
				ch.FileLock, _ = live.FileLockOf(c.HostPID, fd)
				for i, h := range holdersOf(ch.FileLock) {
					if h.PID == pid {
						ch.FileLock.Holders[i].FDs = live.LockingFDs(pid, -1, ch.FileLock.File)
					}
				}
			}
			if c.Nr == sysFutex {
				ch.Futex = snapshot.Addr(c.Args[0])
				if sharedAt(s, ch.Futex) {
					// Read only for a futex word where a lock of the
					// target's is: a pool's idle workers all wait in
					// futex, and a process's maps are hundreds of lines.
					ch.FutexFile = live.MappedFile(c.HostPID, c.Args[0])
				} else if path, id, off := live.MappedFileAt(c.HostPID, c.Args[0]); strings.HasPrefix(path, "/dev/shm/") {
					// A child started by spawn or a fork server maps the
					// semaphore's file elsewhere (and by another name):
					// the same word is where the target maps that offset
					// of the same file.
					if addr, here, ok := live.AddrOfFile(pid, id, off); ok {
						ch.FutexFile, ch.TargetFutex = here, snapshot.Addr(addr)
					}
				}
			}
		}
		if c.FDPipe != 0 {
			ch.Pipe = &snapshot.Pipe{Inode: c.FDPipe}
		}
		if c.Blocker != nil && pipeOnlyBetween(pid, c) {
			b := c.Blocker
			ch.Syscall, ch.FD, ch.Futex, ch.FutexFile, ch.TargetFutex = syscallName(b.Nr), nil, 0, "", 0
			if fd, ok := fdOf(b.Nr, b.Args); ok {
				ch.FD = &fd
			}
			ch.Pipe = &snapshot.Pipe{Inode: b.PipeIno}
			ch.Thread, ch.ThreadComm = b.NSTID, b.Comm
		}
		s.Target.Children = append(s.Target.Children, ch)
	}
	sort.Slice(s.Target.Children, func(i, j int) bool { return s.Target.Children[i].PID < s.Target.Children[j].PID })
	for i := range s.Target.Children {
		p := s.Target.Children[i].Pipe
		if p == nil {
			continue
		}
		for _, e := range k.ends {
			if e.Inode == p.Inode {
				p.Ends = append(p.Ends, snapshot.PipeEnd{FD: e.FD, Write: e.Write})
			}
		}
		sort.Slice(p.Ends, func(a, b int) bool { return p.Ends[a].FD < p.Ends[b].FD })
	}

	own := map[uint64]bool{}
	for _, th := range s.Threads {
		own[th.Ident] = true
	}
	var gone []int
	for _, ob := range s.Objects {
		if ob.Kind == snapshot.KindThread && ob.Ident != 0 && !own[ob.Ident] && ob.NativeID > 0 {
			gone = append(gone, ob.NativeID)
		}
	}
	sort.Ints(gone)
	if pp := live.Parent(pid, gone); pp != nil {
		s.Target.Parent = &snapshot.ParentProcess{PID: pp.PID, Threads: pp.Threads}
	}
}

// pipeOnlyBetween says whether the other end of the pipe that child c's
// blocked thread waits on (the read end for a write) is held by no process
// but the target (pid) and c itself, whose every other thread waits
// forever (live.ChildThread): then only the target could end the wait. It
// takes a scan of every process's descriptors, made only for such a child.
func pipeOnlyBetween(pid int, c live.ChildProc) bool {
	b := c.Blocker
	var awaited live.PipeEndRef
	switch syscallName(b.Nr) {
	case "write", "writev":
		awaited = live.PipeEndRef{Inode: b.PipeIno, Write: false}
	case "read", "readv":
		awaited = live.PipeEndRef{Inode: b.PipeIno, Write: true}
	default:
		return false
	}
	holders, complete := live.PipeEndHolders(pid, []live.PipeEndRef{awaited})
	if !complete {
		return false
	}
	for _, h := range holders[0] {
		if h != c.HostPID {
			return false
		}
	}
	return true
}

// holdersOf is a file lock's holders, none for nil.
func holdersOf(fl *snapshot.FileLock) []snapshot.FileLockHolder {
	if fl == nil {
		return nil
	}
	return fl.Holders
}
