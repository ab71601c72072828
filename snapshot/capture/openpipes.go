package capture

import (
	"cmp"
	"encoding/binary"
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
	own, _ := live.OpenPipes(t.PID())
	for _, e := range own {
		s.Target.OpenPipes = append(s.Target.OpenPipes, snapshot.OpenPipe{FD: e.FD, Inode: e.Inode, Write: e.Write})
	}
	pipes := pipesByFD(own)
	args := map[int][6]uint64{}
	for _, kt := range t.Threads() {
		if kt.InSyscall {
			args[kt.TID] = kt.Args
		}
	}
	// Each thread's wait can be ended only by the other ends of its pipes
	// (awaited[i]): whether another process holds them is learnt for all
	// threads in one scan of every process's descriptors, or was learnt
	// before the stop (pipeHoldersAhead).
	awaited := make([][]live.PipeEndRef, len(s.Threads))
	ends := map[live.PipeEndRef]bool{} // each end awaited: whether another process holds it
	for i := range s.Threads {
		kn := s.Threads[i].Kernel
		if kn == nil {
			continue
		}
		if kn.FD != nil {
			if end, ok := pipes[*kn.FD]; ok {
				kn.PipeInode = end.Inode
			}
		}
		awaited[i] = awaitedEnds(kn.Nr, kn.FD, kn.FDs, kn.Timed, pipes)
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
	defer feedingChildren(s, t.PID(), k)
	var known map[live.PipeEndRef]bool
	if k != nil {
		known = k.pipesHeld
	}
	var unknown []live.PipeEndRef
	for e := range ends {
		if held, ok := known[e]; ok {
			ends[e] = held
		} else {
			unknown = append(unknown, e)
		}
	}
	maps.Copy(ends, pipeHolders(t.PID(), k, unknown))
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

// feedingChildren looks, for a live target, for a thread that waits on a
// pipe while a child of the target waits on another pipe the target holds
// the other end of: a parent reading a child's stdout to its end while the
// child blocks on a full stderr, or waits to read a stdin the parent never
// closes; a parent writing a full stdin while the child blocks writing a
// full stdout. Only a whole scan of every process's descriptors tells who
// holds the ends (Kernel.PipeWriters and PipeReaders, Pipe.OnlyTarget), so
// it is made only then.
func feedingChildren(s *snapshot.Snapshot, pid int, k *kin) {
	if k == nil {
		return
	}
	var children []*snapshot.ChildProcess
	var childEnds []live.PipeEndRef
	for i := range s.Target.Children {
		c := &s.Target.Children[i]
		if c.Pipe == nil || c.State == "Z" {
			continue
		}
		// The end the child waits on the target for: the read end of the
		// pipe it writes to, the write end of the pipe it reads.
		var write bool
		switch c.Syscall {
		case "write", "writev":
		case "read", "readv":
			write = true
		default:
			continue
		}
		if slices.ContainsFunc(c.Pipe.Ends, func(e snapshot.PipeEnd) bool { return e.Write == write }) {
			children = append(children, c)
			childEnds = append(childEnds, live.PipeEndRef{Inode: c.Pipe.Inode, Write: write})
		}
	}
	var threads []*snapshot.Kernel
	var threadEnds []live.PipeEndRef
	for i := range s.Threads {
		kn := s.Threads[i].Kernel
		if kn == nil || kn.PipeInode == 0 || kn.PipeOwnOnly || kn.FD == nil {
			continue
		}
		switch kn.Nr {
		case sysRead, sysReadv:
			threads = append(threads, kn)
			threadEnds = append(threadEnds, live.PipeEndRef{Inode: kn.PipeInode, Write: true})
		case sysWrite, sysWritev:
			threads = append(threads, kn)
			threadEnds = append(threadEnds, live.PipeEndRef{Inode: kn.PipeInode, Write: false})
		}
	}
	if len(children) == 0 || len(threads) == 0 {
		return
	}
	holders, complete := live.PipeEndHolders(pid, append(threadEnds, childEnds...))
	if !complete {
		return
	}
	child := map[int]int{} // host pid → pid in the target's namespace
	for _, c := range k.children {
		child[c.HostPID] = c.PID
	}
	for i, kn := range threads {
		var pids []int
		for _, h := range holders[i] {
			p, ok := child[h]
			if !ok {
				pids = nil // a process that is no child of the target: not told
				break
			}
			pids = append(pids, p)
		}
		if threadEnds[i].Write {
			kn.PipeWriters = pids
		} else {
			kn.PipeReaders = pids
		}
	}
	for j, c := range children {
		c.Pipe.OnlyTarget = len(holders[len(threads)+j]) == 0
	}
}

// pipeHoldersAhead learns, before the stop, whether other processes hold
// the pipe ends that the waits of the threads, as they are seen then, depend
// on: the scan of every process's descriptors (0.8 ms for 71 processes)
// then runs beside the first decode rather than after the stop. A thread
// that waits on another pipe at the stop has that pipe scanned then. A
// process may open or close an end at any moment, before the stop or
// after it: a scan is of the moment it reads each process, either way.
func pipeHoldersAhead(peek *live.Process, k *kin) {
	if ends := awaitedPipeEnds(peek); len(ends) > 0 {
		k.pipesHeld = pipeHolders(peek.PID(), k, ends)
	}
}

// awaitedPipeEnds are the pipe ends the threads' waits, as they are seen
// now, depend on: what pipeHoldersAhead scans for. It reads the target's
// memory (the descriptors a poll waits on), the scan does not.
func awaitedPipeEnds(peek *live.Process) []live.PipeEndRef {
	word := func(addr uint64) (uint64, error) {
		var b [8]byte
		_, err := peek.ReadAt(b[:], addr)
		return binary.LittleEndian.Uint64(b[:]), err
	}
	// The waits a pipe might end, before the target's descriptors are read.
	type wait struct {
		nr    int
		fd    *int
		fds   []int
		timed bool
	}
	var waits []wait
	for _, kt := range peek.Threads() {
		if !kt.InSyscall {
			continue
		}
		w := wait{nr: kt.Syscall}
		if f, ok := fdOf(kt.Syscall, kt.Args); ok {
			w.fd = &f
		} else if polls(kt.Syscall) {
			if w.fds, w.timed, _ = waitArgs(word, kt.Syscall, kt.Args); w.timed || len(w.fds) == 0 {
				continue
			}
		} else {
			continue
		}
		waits = append(waits, w)
	}
	if len(waits) == 0 {
		return nil
	}
	own, err := live.OpenPipes(peek.PID())
	if err != nil || len(own) == 0 {
		return nil
	}
	pipes := pipesByFD(own)
	var ends []live.PipeEndRef
	for _, w := range waits {
		ends = append(ends, awaitedEnds(w.nr, w.fd, w.fds, w.timed, pipes)...)
	}
	return ends
}

// pipesByFD indexes a process's pipe ends by descriptor.
func pipesByFD(ends []live.PipeEnd) map[int]live.PipeEndRef {
	out := make(map[int]live.PipeEndRef, len(ends))
	for _, e := range ends {
		out[e.FD] = live.PipeEndRef{Inode: e.Inode, Write: e.Write}
	}
	return out
}

// pipeHolders tells, for each of ends, whether a process other than pid
// may hold it: one that does, or any, when the scan could not cover every
// process. k's children are looked at first.
func pipeHolders(pid int, k *kin, ends []live.PipeEndRef) map[live.PipeEndRef]bool {
	ends = slices.Compact(slices.SortedFunc(slices.Values(ends), comparePipeEnds))
	var first []int
	if k != nil {
		for _, c := range k.children {
			first = append(first, c.HostPID)
		}
	}
	found, complete := live.PipeEndsHeldElsewhere(pid, first, ends)
	out := make(map[live.PipeEndRef]bool, len(ends))
	for i, e := range ends {
		out[e] = found[i] || !complete // a scan cut short proves nothing
	}
	return out
}

func comparePipeEnds(a, b live.PipeEndRef) int {
	if c := cmp.Compare(a.Inode, b.Inode); c != 0 {
		return c
	}
	switch {
	case a.Write == b.Write:
		return 0
	case b.Write:
		return -1
	}
	return 1
}

// awaitedEnds is the pipe ends whose holders alone can end a wait in
// system call nr: the other end of the pipe a read or a write is on (fd),
// or of each pipe a poll or select without a timeout waits on (fds), when
// it waits on nothing but pipes. Whatever the events asked for, only the
// other end can wake a pipe end: a read end gets data or a hang-up from the
// write end's holders, a write end room or an error from the read end's.
// nil when anything else can end the wait: a socket, a terminal, an
// eventfd, a timeout.
func awaitedEnds(nr int, fd *int, fds []int, timed bool, pipes map[int]live.PipeEndRef) []live.PipeEndRef {
	if fd != nil {
		end, ok := pipes[*fd]
		if !ok {
			return nil
		}
		if other, ok := otherEnd(nr, end.Inode); ok {
			return []live.PipeEndRef{other}
		}
		return nil
	}
	if len(fds) == 0 || timed || !polls(nr) {
		return nil
	}
	out := make([]live.PipeEndRef, 0, len(fds))
	for _, fd := range fds {
		end, ok := pipes[fd]
		if !ok {
			return nil
		}
		out = append(out, live.PipeEndRef{Inode: end.Inode, Write: !end.Write})
	}
	return out
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

// fileLocks records, for a live process, the file each thread waiting for a
// file lock waits to lock, and who holds locks on it. A core records none.
func fileLocks(s *snapshot.Snapshot, t target.Target) {
	if t.Kind() != "pid" {
		return
	}
	for i := range s.Threads {
		kn := s.Threads[i].Kernel
		if kn == nil || kn.FD == nil || (kn.Nr != sysFlock && kn.Nr != sysFcntl) {
			continue
		}
		if fl, err := live.FileLockOf(t.PID(), *kn.FD); err == nil {
			kn.FileLock = fl
		}
	}
}

// pipeReaders reads, for a live target's threads blocked writing to a pipe
// whose read end other processes hold, which processes hold it and what
// each does (Kernel.ReadEnd): a full pipe none of them reads stays full.
// When the parent alone holds it and every thread of the parent waits for
// the target to exit (a child writing a full stdout to a parent in
// Popen.wait()), neither can move (Kernel.PipeReaders, ParentProcess.Waits).
// Only a whole scan of every process's descriptors tells who holds the
// ends, made once for all such threads.
func pipeReaders(s *snapshot.Snapshot, pid int) {
	parent := s.Target.Parent
	var writers []*snapshot.Kernel
	var ends []live.PipeEndRef
	for i := range s.Threads {
		kn := s.Threads[i].Kernel
		if kn == nil || kn.PipeInode == 0 || kn.PipeOwnOnly || kn.FD == nil || (kn.Nr != sysWrite && kn.Nr != sysWritev) {
			continue
		}
		writers = append(writers, kn)
		ends = append(ends, live.PipeEndRef{Inode: kn.PipeInode, Write: false})
	}
	if len(writers) == 0 {
		return
	}
	holders, complete := live.PipeEndHolders(pid, ends)
	if !complete {
		return
	}
	var pw *live.ParentWait
	type readerKey struct {
		host  int
		inode uint64
	}
	seen := map[readerKey]snapshot.PipeReader{} // threads writing one pipe share its readers
	for i, kn := range writers {
		hs := holders[i]
		if len(hs) == 0 || len(hs) > maxReadEnd {
			continue
		}
		for _, h := range hs {
			key := readerKey{h, kn.PipeInode}
			pr, ok := seen[key]
			if !ok {
				r := live.ReaderOf(h, kn.PipeInode)
				pr = snapshot.PipeReader{PID: h, Comm: r.Comm, State: r.State, Reading: r.Reading}
				if r.Nr >= 0 {
					pr.Syscall = syscallName(r.Nr)
				}
				seen[key] = pr
			}
			kn.ReadEnd = append(kn.ReadEnd, pr)
		}
		if len(hs) == 1 && parent != nil {
			if pw == nil {
				pw = live.ParentWaiting(pid)
			}
			if pw != nil && hs[0] == pw.Host {
				kn.PipeReaders = []int{parent.PID}
				parent.Waits, parent.Comm = pw.Syscall, pw.Comm
			}
		}
	}
}

// maxReadEnd bounds the processes holding a pipe's read end that
// pipeReaders reads the state of.
const maxReadEnd = 8
