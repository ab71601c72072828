package live

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strconv"
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

// PipeHeldElsewhere tells whether a process other than pid holds one end of
// a pipe (the write end when write, else the read end). It reads the
// descriptors of pid's children and parent first (where a pipe's other end
// usually is), then of every other process, and stops at the first holder.
//
// complete is false when the answer covers less than every process: pyhang
// does not run in the first pid namespace, a process's descriptors could
// not be read (another user's, without the rights), or maxScannedFDs was
// reached. Only a complete "not held" proves that the target's own threads
// are the only ones that can end a wait on the pipe.
func PipeHeldElsewhere(pid int, inode uint64, write bool) (held, complete bool) {
	if ns, err := os.Readlink("/proc/self/ns/pid"); err != nil || ns != initPIDNamespace {
		return false, false
	}
	procs, err := allPIDs()
	if err != nil {
		return false, false
	}
	first := HostChildren(pid)
	if pp, err := statusInt(pid, "PPid"); err == nil && pp > 0 {
		first = append(first, pp)
	}
	seen := map[int]bool{pid: true}
	budget := maxScannedFDs
	for _, p := range append(first, procs...) {
		if seen[p] {
			continue
		}
		seen[p] = true
		has, ok := holdsPipeEnd(p, inode, write, &budget)
		if !ok {
			return false, false
		}
		if has {
			return true, true
		}
	}
	return false, true
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

// holdsPipeEnd tells whether process p has a descriptor open on the given
// end of the pipe. ok is false when that cannot be told: its descriptors
// cannot be read, or the budget of descriptors ran out. A process that
// ended meanwhile holds nothing.
func holdsPipeEnd(p int, inode uint64, write bool, budget *int) (has, ok bool) {
	f, err := os.Open(procPath(p, "fd"))
	if err != nil {
		return false, gone(err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return false, gone(err)
	}
	if *budget -= len(names); *budget < 0 {
		return false, false
	}
	want := "pipe:[" + strconv.FormatUint(inode, 10) + "]"
	for _, n := range names {
		link, err := os.Readlink(procPath(p, "fd", n))
		if err != nil || link != want {
			continue
		}
		b, err := readSmall(procPath(p, "fdinfo", n), 4096)
		if err != nil {
			continue // closed meanwhile
		}
		mode, known := fdinfoAccess(string(b))
		if !known {
			return false, false
		}
		// O_RDWR (a pipe opened through /proc/PID/fd) is both ends.
		if mode == oRDWR || (mode == oWRONLY) == write {
			return true, true
		}
	}
	return false, true
}

// gone tells whether err says the process (or the descriptor) no longer
// exists, which is an answer; any other error (no rights) is not.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}
