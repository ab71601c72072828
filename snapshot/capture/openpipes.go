package capture

import (
	"maps"
	"slices"

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
// in every process that has an end of it), and whether the pipe's other end
// is the target's own (PipeOwnOnly); and on a thread in waitid, the child
// it waits for (wait4 is recorded with the kernel state). k is the
// target's children, read ahead. A core records none of this.
func openPipes(s *snapshot.Snapshot, t target.Target, k *kin) {
	if t.Kind() != "pid" {
		return
	}
	pipes := map[int]live.PipeEndRef{}
	if ends, err := live.OpenPipes(t.PID()); err == nil {
		for _, e := range ends {
			s.Target.OpenPipes = append(s.Target.OpenPipes, snapshot.OpenPipe{FD: e.FD, Inode: e.Inode, Write: e.Write})
			pipes[e.FD] = live.PipeEndRef{Inode: e.Inode, Write: e.Write}
		}
	}
	args := map[int][6]uint64{}
	for _, kt := range t.Threads() {
		if kt.InSyscall {
			args[kt.TID] = kt.Args
		}
	}
	// Each thread's wait can be ended only by the other ends of its pipes
	// (awaited[i]): whether another process holds them is learnt for all
	// threads in one scan of every process's descriptors.
	awaited := make([][]live.PipeEndRef, len(s.Threads))
	ends := map[live.PipeEndRef]bool{} // each end awaited: whether another process holds it
	for i := range s.Threads {
		kn := s.Threads[i].Kernel
		if kn == nil {
			continue
		}
		switch {
		case kn.FD != nil:
			if end, ok := pipes[*kn.FD]; ok {
				kn.PipeInode = end.Inode
				if other, ok := otherEnd(kn.Nr, end.Inode); ok {
					awaited[i] = []live.PipeEndRef{other}
				}
			}
		case len(kn.FDs) > 0 && !kn.Timed && polls(kn.Nr):
			awaited[i] = polledOthers(kn.FDs, pipes)
		}
		for _, e := range awaited[i] {
			ends[e] = false
		}
		if a, ok := args[s.Threads[i].TID]; ok && kn.Nr == sysWaitid && kn.WaitPID == nil {
			switch a[0] {
			case waitidAll:
				p := -1
				kn.WaitPID = &p
			case waitidPID:
				p := int(int32(a[1]))
				kn.WaitPID = &p
			}
		}
	}
	if len(ends) == 0 {
		return
	}
	var first []int
	if k != nil {
		for _, c := range k.children {
			first = append(first, c.HostPID)
		}
	}
	all := slices.Collect(maps.Keys(ends))
	found, complete := live.PipeEndsHeldElsewhere(t.PID(), first, all)
	for i, e := range all {
		// A scan cut short proves nothing: another process may hold it.
		ends[e] = found[i] || !complete
	}
	for i := range s.Threads {
		if len(awaited[i]) == 0 {
			continue
		}
		kn := s.Threads[i].Kernel
		own := true
		for _, e := range awaited[i] {
			own = own && !ends[e]
		}
		kn.PipeOwnOnly = own
		if own && kn.FD == nil {
			kn.PipeInode = pipes[kn.FDs[0]].Inode
		}
	}
}

// otherEnd is the end of pipe inode that can end a read (the write end) or
// a write (the read end) in system call nr.
func otherEnd(nr int, inode uint64) (live.PipeEndRef, bool) {
	switch nr {
	case sysRead, sysReadv:
		return live.PipeEndRef{Inode: inode, Write: true}, true
	case sysWrite, sysWritev:
		return live.PipeEndRef{Inode: inode, Write: false}, true
	}
	return live.PipeEndRef{}, false
}

// polls says whether nr is a poll or select: it waits on descriptors (Kernel.FDs).
func polls(nr int) bool {
	switch nr {
	case sysPoll, sysPpoll, sysSelect, sysPselect6:
		return true
	}
	return false
}

// polledOthers is the other ends of the pipes a poll or select without a
// timeout waits on, when every descriptor it waits on is a pipe end (nil
// otherwise: a socket, a terminal, an eventfd … can be woken by anything).
// Whatever the events asked for, only the other end can wake a pipe end: a
// read end gets data or a hang-up from the write end's holders, a write end
// room or an error from the read end's.
func polledOthers(fds []int, pipes map[int]live.PipeEndRef) []live.PipeEndRef {
	var out []live.PipeEndRef
	for _, fd := range fds {
		end, ok := pipes[fd]
		if !ok {
			return nil
		}
		out = append(out, live.PipeEndRef{Inode: end.Inode, Write: !end.Write})
	}
	return out
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
