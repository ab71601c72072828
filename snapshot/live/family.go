package live

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot/target"
)

// A live target's parent and children, as the kernel shows them in /proc: a
// Python process that waits for a child (subprocess, multiprocessing) or that
// is itself a fork of a Python process can only be understood beside them.
// Process ids are read in this machine's /proc and given back in the
// target's own pid namespace (the last NSpid entry), the numbers its memory
// and its system calls use. Nothing here stops or touches the processes.

// Bounds on what /proc may hand us.
const (
	maxChildren = 256
	maxFDs      = 1 << 14
)

// ChildProc is a child process of the target.
type ChildProc struct {
	PID     int // in the target's pid namespace
	HostPID int // in this machine's /proc
	Comm    string
	State   string // state letter: "S", "R", "D", "Z" (dead, not reaped yet) …
	// ExitCode is the wait status of a dead child (state Z): exit status <<
	// 8, or the number of the signal that killed it.
	ExitCode *int
	// InSyscall, Nr, Args: the system call the child is blocked in.
	InSyscall bool
	Nr        int
	Args      [6]uint64
	// FDPipe is the inode of the pipe that the descriptor of its read or
	// write (Args[0]) is, 0 when it is not a pipe.
	FDPipe uint64
	// Parent is the pid of the multiprocessing fork server that started it,
	// 0 for the target's own child (see Children).
	Parent int
	// Blocker, when set, is the one thread of the child blocked on a pipe
	// while its main thread (InSyscall, Nr, Args) and every other thread
	// wait forever on futexes of the child's own (pipeThread).
	Blocker *ChildThread
	// Alone is set for a child whose main thread waits in a futex when no
	// other of its threads can run (each waits forever on a futex of the
	// child's own) and it has no child process: nothing of the child's
	// but its main thread could act on what that thread waits for.
	Alone bool
	// Helper is "forkserver" or "resource_tracker" for those
	// multiprocessing helper processes (mpHelper).
	Helper string
}

// PipeEnd is one of the target's descriptors open on a pipe.
type PipeEnd struct {
	FD    int
	Inode uint64
	Write bool // opened for writing (the pipe's write end)
}

// Children lists the target's child processes (at most maxChildren), and
// the children of a multiprocessing fork server among them: the processes
// the target starts with the forkserver start method (3.14's default on
// Linux), which the server forks for it.
func Children(pid int) []ChildProc {
	var out []ChildProc
	seen := map[int]bool{}
	for _, c := range childPIDs(pid) {
		if seen[c] || len(out) >= maxChildren {
			continue
		}
		seen[c] = true
		ch, ok := childProc(c)
		if !ok {
			continue
		}
		out = append(out, ch)
		if ch.State == "Z" || ch.Helper != "forkserver" {
			continue
		}
		for _, g := range childPIDs(c) {
			if seen[g] || len(out) >= maxChildren {
				continue
			}
			seen[g] = true
			if gc, ok := childProc(g); ok {
				gc.Parent = ch.PID
				out = append(out, gc)
			}
		}
	}
	return out
}

// childPIDs lists the children of process host, from every thread's
// children file.
func childPIDs(host int) []int {
	tids, err := listTasks(host)
	if err != nil {
		return nil
	}
	var out []int
	for _, tid := range tids {
		b, err := readSmall(procPath(host, "task", strconv.Itoa(tid), "children"), 1<<16)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil && c > 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

// mpHelper names the multiprocessing helper process host is, by what its
// command line runs: "forkserver" (the fork server, which forks the
// processes started with that method) or "resource_tracker"; "" for any
// other process.
func mpHelper(host int) string {
	b, err := readSmall(procPath(host, "cmdline"), 4096)
	switch {
	case err != nil:
		return ""
	case bytes.Contains(b, []byte("multiprocessing.forkserver")):
		return "forkserver"
	case bytes.Contains(b, []byte("multiprocessing.resource_tracker")):
		return "resource_tracker"
	}
	return ""
}

func childProc(host int) (ChildProc, bool) {
	c := ChildProc{HostPID: host, PID: host}
	stat, err := readSmall(procPath(host, "stat"), 4096)
	if err != nil {
		return c, false
	}
	i, j := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
	if i < 0 || j < i {
		return c, false
	}
	c.Comm = string(stat[i+1 : j])
	fields := strings.Fields(string(stat[j+1:]))
	if len(fields) < 1 {
		return c, false
	}
	c.State = fields[0]
	// exit_code is field 52 of stat, the 50th after the command name.
	if c.State == "Z" && len(fields) >= 50 {
		if v, err := strconv.Atoi(fields[49]); err == nil {
			c.ExitCode = &v
		}
	}
	if ns := nsPID(host); ns > 0 {
		c.PID = ns
	}
	if c.State == "Z" {
		return c, true
	}
	c.Helper = mpHelper(host)
	if b, err := readSmall(procPath(host, "syscall"), 512); err == nil {
		if si, err := parseSyscallFile(b); err == nil && si.InSyscall {
			c.InSyscall, c.Nr, c.Args = true, si.Nr, si.Args
			c.FDPipe = pipeOf(host, si)
			if ownFutexForever(si) {
				c.Blocker = pipeThread(host)
			}
			if si.Nr == 202 {
				c.Alone = alone(host)
			}
		}
	}
	return c, true
}

// ChildThread is a thread of a child blocked in a system call on a pipe.
type ChildThread struct {
	TID     int // in this machine's /proc
	NSTID   int // in the target's pid namespace
	Comm    string
	Nr      int
	Args    [6]uint64
	PipeIno uint64 // the pipe that Args[0] is
}

// pipeOf is the inode of the pipe that a read or write (or readv, writev)
// of process host is on, 0 for another call or another file.
func pipeOf(host int, si syscallInfo) uint64 {
	if !si.InSyscall {
		return 0
	}
	switch si.Nr {
	case 0, 1, 19, 20: // read, write, readv, writev
		if si.Args[0] < maxFDs {
			return pipeInode(host, int(si.Args[0]))
		}
	}
	return 0
}

// ownFutexForever says whether a system call is a futex wait, without a
// timeout, on a futex private to the process (FUTEX_PRIVATE_FLAG): only
// another thread of the same process can end it. A thread's join and a
// lock's acquire() without a timeout wait so; a multiprocessing lock's
// semaphore, which other processes share, does not.
func ownFutexForever(si syscallInfo) bool {
	const (
		futexWait, futexWaitBitset = 0, 9
		private                    = 128
		cmdMask                    = ^uint64(128 | 256) // FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME
	)
	op := si.Args[1]
	cmd := op & cmdMask
	return si.InSyscall && si.Nr == 202 && op&private != 0 && (cmd == futexWait || cmd == futexWaitBitset) && si.Args[3] == 0
}

// alone says whether no thread of process host but its main one can run,
// every other waiting forever on a futex of the process's own, and the
// process has no child of its own.
func alone(host int) bool {
	calls, ok := otherCalls(host)
	if !ok || len(childPIDs(host)) > 0 {
		return false
	}
	for _, c := range calls {
		if !ownFutexForever(c.si) {
			return false
		}
	}
	return true
}

// taskCall is the system call a thread of a process sits in.
type taskCall struct {
	tid int
	si  syscallInfo
}

// otherCalls reads the system call of every thread of process host but its
// main one (at most maxChildThreads threads); false when one cannot be read.
func otherCalls(host int) ([]taskCall, bool) {
	tids, err := listTasks(host)
	if err != nil || len(tids) > maxChildThreads {
		return nil, false
	}
	var out []taskCall
	for _, t := range tids {
		if t == host {
			continue
		}
		b, err := readSmall(procPath(host, "task", strconv.Itoa(t), "syscall"), 512)
		if err != nil {
			return nil, false
		}
		si, err := parseSyscallFile(b)
		if err != nil {
			return nil, false
		}
		out = append(out, taskCall{t, si})
	}
	return out, true
}

// maxChildThreads bounds the threads of a child that otherCalls reads.
const maxChildThreads = 64

// pipeThread finds the thread that holds a child up whose main thread waits
// forever on a futex of its own: the one thread blocked in a read or write
// of a pipe, while every other thread waits forever as the main one does
// (a multiprocessing child exits only after its queue's feeder thread has
// written what was put, and that thread is blocked on a full pipe). Any
// other picture (a thread that runs, sleeps, waits with a timeout or on
// something else, or two on pipes) gives nothing. The child runs as this
// is read: a thread seen blocked may move on the next moment, which a
// thread that can never move does not.
func pipeThread(host int) *ChildThread {
	calls, ok := otherCalls(host)
	if !ok || len(calls) == 0 {
		return nil
	}
	var bt *ChildThread
	for _, c := range calls {
		switch {
		case ownFutexForever(c.si):
		case bt == nil && pipeOf(host, c.si) != 0:
			bt = &ChildThread{TID: c.tid, NSTID: c.tid, Nr: c.si.Nr, Args: c.si.Args, PipeIno: pipeOf(host, c.si)}
		default:
			return nil
		}
	}
	if bt == nil {
		return nil
	}
	task := procPath(host, "task", strconv.Itoa(bt.TID))
	if b, err := readSmall(task+"/comm", 64); err == nil {
		bt.Comm = strings.TrimSuffix(string(b), "\n")
	}
	if ns := nsPIDIn(task + "/status"); ns > 0 {
		bt.NSTID = ns
	}
	return bt
}

// MappedFile returns the path of the file process host (in this machine's
// /proc) maps at addr, "" for memory that is no file's or when its mappings
// cannot be read: a multiprocessing lock's semaphore is in a file of
// /dev/shm that the processes sharing it map.
func MappedFile(host int, addr uint64) string {
	path, _, _ := MappedFileAt(host, addr)
	return path
}

// FileID names a mapped file by its device and inode, as /proc/PID/maps
// writes them ("00:1b 9412"): a semaphore's /dev/shm file goes by one name
// in the process that made it (unlinked by then) and by another in a child
// that opened it by name.
type FileID string

// MappedFileAt is MappedFile, with the file's id and the offset in it that
// addr is at.
func MappedFileAt(host int, addr uint64) (path string, id FileID, off uint64) {
	eachMapping(host, func(m target.Mapping, fid FileID) bool {
		if addr < m.Start || addr >= m.End {
			return true
		}
		if strings.HasPrefix(m.Path, "/") {
			path, id, off = m.Path, fid, m.Offset+(addr-m.Start)
		}
		return false
	})
	return path, id, off
}

// AddrOfFile is where process host maps offset off of file id, and its
// path there: a process started by spawn or a fork server maps a
// semaphore's /dev/shm file at another address than its parent does.
func AddrOfFile(host int, id FileID, off uint64) (addr uint64, path string, ok bool) {
	eachMapping(host, func(m target.Mapping, fid FileID) bool {
		if fid == id && off >= m.Offset && off-m.Offset < m.End-m.Start {
			addr, path, ok = m.Start+(off-m.Offset), m.Path, true
			return false
		}
		return true
	})
	return addr, path, ok
}

// eachMapping calls visit with each file mapping of process host, and the
// file's id, in order, until it returns false.
func eachMapping(host int, visit func(target.Mapping, FileID) bool) {
	f, err := os.Open(procPath(host, "maps"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 4096), maxMapsLine)
	for n := 0; n < maxMappings && sc.Scan(); n++ {
		line := sc.Text()
		m, err := parseMapsLine(line)
		if err != nil {
			continue
		}
		// range perms offset dev inode path
		fs := strings.Fields(line)
		if len(fs) < 5 || fs[4] == "0" {
			continue // anonymous memory has inode 0
		}
		if !visit(m, FileID(fs[3]+" "+fs[4])) {
			return
		}
	}
}

// nsPID is the pid of a process in its own (innermost) pid namespace.
func nsPID(host int) int {
	return nsPIDIn(procPath(host, "status"))
}

// nsPIDIn is the innermost NSpid of a status file (a process's, or a
// thread's under task/), 0 when it has none.
func nsPIDIn(status string) int {
	b, err := readProc(status)
	if err != nil {
		return 0
	}
	var v string
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			v = rest
			break
		}
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[len(f)-1])
	return n
}

// pipeInode returns the inode of the pipe behind a descriptor, 0 for anything else.
func pipeInode(pid, fd int) uint64 {
	link, err := os.Readlink(procPath(pid, "fd", strconv.Itoa(fd)))
	if err != nil {
		return 0
	}
	n, _ := pipeLinkInode(link)
	return n
}

// PipeEnds lists the target's descriptors open on the given pipes.
func PipeEnds(pid int, inodes map[uint64]bool) []PipeEnd {
	if len(inodes) == 0 {
		return nil
	}
	f, err := os.Open(procPath(pid, "fd"))
	if err != nil {
		return nil
	}
	names, err := f.Readdirnames(maxFDs)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil
	}
	var out []PipeEnd
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		ino := pipeInode(pid, fd)
		if ino == 0 || !inodes[ino] {
			continue
		}
		e := PipeEnd{FD: fd, Inode: ino}
		if b, err := readSmall(procPath(pid, "fdinfo", n), 4096); err == nil {
			e.Write = fdinfoWritable(string(b))
		}
		out = append(out, e)
	}
	return out
}

// ParentProc is the target's parent process.
type ParentProc struct {
	PID int // in the target's pid namespace
	// Threads are those of the given thread ids (target namespace) that are
	// threads of the parent.
	Threads []int
}

// Parent reads the target's parent and, when it runs the same executable (a
// fork), which of tids are its threads.
func Parent(pid int, tids []int) *ParentProc {
	pp, err := statusInt(pid, "PPid")
	if err != nil || pp <= 0 {
		return nil
	}
	p := &ParentProc{PID: pp}
	if ns := nsPID(pp); ns > 0 {
		p.PID = ns
	}
	// A fork shares its parent's executable: any other parent cannot have
	// been the source of the target's memory, and a thread id it has now is
	// another thread's.
	exe, err1 := os.Readlink(procPath(pid, "exe"))
	pexe, err2 := os.Readlink(procPath(pp, "exe"))
	if len(tids) == 0 || err1 != nil || err2 != nil || exe != pexe {
		return p
	}
	// The parent's threads, by their ids in its own namespace.
	ptids, err := listTasks(pp)
	if err != nil {
		return p
	}
	own := false // the parent has a pid namespace of its own
	if v, err := statusField(pp, "NSpid"); err == nil && len(strings.Fields(v)) > 1 {
		own = true
	}
	inner := map[int]bool{}
	for _, t := range ptids {
		id := t
		if own {
			// A parent in a pid namespace of its own: translate each thread.
			b, err := readSmall(procPath(pp, "task", strconv.Itoa(t), "status"), 1<<16)
			if err == nil {
				for line := range strings.Lines(string(b)) {
					if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
						if f := strings.Fields(v); len(f) > 0 {
							id, _ = strconv.Atoi(f[len(f)-1])
						}
					}
				}
			}
		}
		inner[id] = true
	}
	for _, t := range tids {
		if inner[t] {
			p.Threads = append(p.Threads, t)
		}
	}
	return p
}

// readSmall reads at most max bytes of a /proc file.
func readSmall(path string, max int) ([]byte, error) {
	b, err := readProc(path) // three system calls, where os.Open and io.ReadAll take five
	if len(b) > max {
		b = b[:max]
	}
	return b, err
}

// ParentWait is a target's parent every thread of which waits for the
// target to exit.
type ParentWait struct {
	Host int    // the parent's pid in this machine's /proc
	Comm string // its command name
	// Syscall is its first thread's wait: "wait4" or "waitid".
	Syscall string
}

// ParentWaiting reads whether every thread of pid's parent sits in wait4 or
// waitid for pid (by its pid as the parent names it, or for any child):
// then the parent reads nothing until pid exits. nil for any other picture,
// or when a thread's call cannot be read. The parent runs as this is read;
// a thread in such a wait stays there until a child ends.
func ParentWaiting(pid int) *ParentWait {
	pp, err := statusInt(pid, "PPid")
	if err != nil || pp <= 1 {
		return nil
	}
	tids, err := listTasks(pp)
	if err != nil || len(tids) == 0 || len(tids) > maxChildThreads {
		return nil
	}
	names := map[int64]bool{-1: true, int64(pid): true}
	if ns := nsPID(pid); ns > 0 {
		names[int64(ns)] = true
	}
	w := &ParentWait{Host: pp}
	for _, t := range tids {
		b, err := readSmall(procPath(pp, "task", strconv.Itoa(t), "syscall"), 512)
		if err != nil {
			return nil
		}
		si, err := parseSyscallFile(b)
		if err != nil || !si.InSyscall {
			return nil
		}
		var call string
		switch si.Nr {
		case nrWait4:
			if !names[int64(int32(si.Args[0]))] {
				return nil
			}
			call = "wait4"
		case nrWaitid:
			// waitid(P_ALL, …) or waitid(P_PID, pid, …).
			if si.Args[0] != pAll && (si.Args[0] != pPID || !names[int64(int32(si.Args[1]))] || int32(si.Args[1]) == -1) {
				return nil
			}
			call = "waitid"
		default:
			return nil
		}
		if w.Syscall == "" {
			w.Syscall = call // the first thread's: they all wait for a child either way
		}
	}
	if b, err := readSmall(procPath(pp, "comm"), 64); err == nil {
		w.Comm = strings.TrimSuffix(string(b), "\n")
	}
	return w
}

// The system calls and id types ParentWaiting reads (x86-64).
const (
	nrWait4  = 61
	nrWaitid = 247
	pAll     = 0
	pPID     = 1
)

// PipeReader is a process that holds the read end of a pipe, and whether it
// may be reading it now.
type PipeReader struct {
	Host  int    // its pid in this machine's /proc
	Comm  string // its command name
	State string // its /proc state letter (T: stopped)
	// Reading is true when one of its threads reads the pipe (read or
	// readv on a descriptor of it), waits in a poll, select or epoll that
	// may watch it, or runs: it may drain the pipe at any moment.
	Reading bool
	// Nr is the system call its main thread sits in, -1 when it runs or
	// cannot be read.
	Nr int
}

// ReaderOf reads what process host, which holds the read end of pipe
// inode, is doing. A thread whose call cannot be read counts as reading.
func ReaderOf(host int, inode uint64) PipeReader {
	r := PipeReader{Host: host, Nr: -1}
	if b, err := readSmall(procPath(host, "comm"), 64); err == nil {
		r.Comm = strings.TrimSuffix(string(b), "\n")
	}
	if st, err := statusField(host, "State"); err == nil && st != "" {
		r.State = st[:1]
	}
	tids, err := listTasks(host)
	if err != nil || len(tids) == 0 || len(tids) > maxChildThreads {
		r.Reading = true
		return r
	}
	want := "pipe:[" + strconv.FormatUint(inode, 10) + "]"
	for _, t := range tids {
		b, err := readSmall(procPath(host, "task", strconv.Itoa(t), "syscall"), 512)
		if err != nil {
			r.Reading = true
			continue
		}
		si, err := parseSyscallFile(b)
		if err != nil || si.Running || !si.InSyscall {
			r.Reading = true
			continue
		}
		if t == host {
			r.Nr = si.Nr
		}
		switch si.Nr {
		case nrRead, nrReadv:
			if link, err := os.Readlink(procPath(host, "fd", strconv.Itoa(int(int32(si.Args[0]))))); err != nil || link == want {
				r.Reading = true
			}
		case nrSelect, nrPselect6:
			r.Reading = r.Reading || si.Args[0] != 0 // select(0, …): a sleep (time.sleep up to 3.10)
		case nrPoll, nrPpoll:
			r.Reading = r.Reading || si.Args[1] != 0 // poll(…, 0, …): a sleep
		case nrEpollWait, nrEpollPwait, nrEpollPwait2:
			r.Reading = true // it may watch the pipe
		}
	}
	return r
}

// The system calls ReaderOf tells apart (x86-64).
const (
	nrRead        = 0
	nrPoll        = 7
	nrReadv       = 19
	nrSelect      = 23
	nrEpollWait   = 232
	nrPselect6    = 270
	nrPpoll       = 271
	nrEpollPwait  = 281
	nrEpollPwait2 = 441
)
