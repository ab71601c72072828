package live

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// initPIDNamespace is how /proc/self/ns/pid reads in the machine's first pid
// namespace (PROC_PID_INIT_INO, include/linux/proc_ns.h). Only a pyhang
// running there sees every process in /proc; one in a container's
// namespace would miss the processes outside it.
const initPIDNamespace = "pid:[4026531836]"

// maxScannedFDs bounds the descriptors read while looking for the holders of
// a pipe's other end, over all processes: beyond it the answer is unknown.
const maxScannedFDs = 1 << 18

// PipeEndRef names one end of a pipe: the pipe's inode (which names it in
// every process that has an end of it), and whether it is the write end.
type PipeEndRef struct {
	Inode uint64
	Write bool
}

// PipeEndsHeldElsewhere tells, for each of ends, whether a process other
// than pid holds it. It reads the descriptors of the processes in first
// (the target's children and parent, where a pipe's other end usually is),
// then of every other process, each process once for all the ends, and
// stops once every end is found held.
//
// complete is false when the answer covers less than every process: pyhang
// does not run in the first pid namespace, a process's descriptors could
// not be read (another user's, without the rights), or maxScannedFDs was
// reached. Only a complete "not held" proves that the target's own threads
// are the only ones that can end a wait on the pipe.
func PipeEndsHeldElsewhere(pid int, first []int, ends []PipeEndRef) (held []bool, complete bool) {
	held = make([]bool, len(ends))
	if len(ends) == 0 {
		return held, true
	}
	procs, want, ok := scanOf(ends)
	if !ok {
		return held, false
	}
	if pp, err := statusInt(pid, "PPid"); err == nil && pp > 0 {
		first = append(first[:len(first):len(first)], pp)
	}
	seen := map[int]bool{pid: true}
	left, budget := len(ends), maxScannedFDs
	found := func(_ int, i int) {
		if !held[i] {
			held[i] = true
			left--
		}
	}
	for _, p := range append(first, procs...) {
		if seen[p] {
			continue
		}
		seen[p] = true
		if !holdsPipeEnds(p, ends, want, found, &budget) {
			return held, false
		}
		if left == 0 {
			break
		}
	}
	return held, true
}

// PipeEndHolders lists, for each of ends, every process other than pid
// that holds it (host pids, in scan order), reading every process's
// descriptors: no early end, so it costs a whole scan. complete is as for
// PipeEndsHeldElsewhere; only a complete list proves who alone can end a
// wait on the pipe.
func PipeEndHolders(pid int, ends []PipeEndRef) (holders [][]int, complete bool) {
	holders = make([][]int, len(ends))
	if len(ends) == 0 {
		return holders, true
	}
	procs, want, ok := scanOf(ends)
	if !ok {
		return holders, false
	}
	budget := maxScannedFDs
	found := func(p, i int) {
		if n := len(holders[i]); n == 0 || holders[i][n-1] != p {
			holders[i] = append(holders[i], p)
		}
	}
	for _, p := range procs {
		if p != pid && !holdsPipeEnds(p, ends, want, found, &budget) {
			return holders, false
		}
	}
	return holders, true
}

// scanOf is what a scan for the holders of ends needs: every process of the
// machine (false when pyhang runs outside the first pid namespace, where it
// would miss the processes outside its own, or /proc cannot be listed), and
// the indexes of ends by pipe inode.
func scanOf(ends []PipeEndRef) (procs []int, want map[uint64][]int, ok bool) {
	if ns, err := os.Readlink("/proc/self/ns/pid"); err != nil || ns != initPIDNamespace {
		return nil, nil, false
	}
	procs, err := allPIDs()
	if err != nil {
		return nil, nil, false
	}
	want = map[uint64][]int{}
	for i, e := range ends {
		want[e.Inode] = append(want[e.Inode], i)
	}
	return procs, want, true
}

// allPIDs lists the processes in /proc.
func allPIDs() ([]int, error) {
	f, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	var out []int
	for _, n := range names {
		if p, err := strconv.Atoi(n); err == nil && p > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// holdsPipeEnds calls found(p, i) for each of the ends (want: their indexes
// by inode) that process p has a descriptor open on. It returns false when
// that cannot be told: p's descriptors cannot be read, or the budget of
// descriptors ran out. A process that ended meanwhile holds nothing. Each link is read relative to p's fd directory
// (pipeAt): one path component to resolve, not four.
func holdsPipeEnds(p int, ends []PipeEndRef, want map[uint64][]int, found func(p, i int), budget *int) bool {
	dir, err := os.Open(procPath(p, "fd"))
	if err != nil {
		return gone(err)
	}
	defer dir.Close()
	// No more names than the budget has room for: a process may hold
	// millions of descriptors.
	names, err := dir.Readdirnames(*budget + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return gone(err)
	}
	if *budget -= len(names); *budget < 0 {
		return false
	}
	dirFD := int(dir.Fd())
	for _, n := range names {
		ino, ok := pipeAt(dirFD, n)
		if !ok || want[ino] == nil {
			continue
		}
		b, err := readSmall(procPath(p, "fdinfo", n), 4096)
		if err != nil {
			continue // closed meanwhile
		}
		mode, known := fdinfoAccess(string(b))
		if !known {
			return false
		}
		for _, i := range want[ino] {
			// O_RDWR (a pipe opened through /proc/PID/fd) is both ends.
			if mode == oRDWR || (mode == oWRONLY) == ends[i].Write {
				found(p, i)
			}
		}
	}
	return true
}

// pipeLinkInode parses a descriptor's link "pipe:[1234]".
func pipeLinkInode(link string) (uint64, bool) {
	s, ok := strings.CutPrefix(link, "pipe:[")
	if !ok || !strings.HasSuffix(s, "]") {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:len(s)-1], 10, 64)
	return n, err == nil
}

// gone tells whether err says the process (or the descriptor) no longer
// exists, which is an answer; any other error (no rights) is not.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}
