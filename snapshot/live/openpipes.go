package live

import (
	"errors"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// OpenPipes lists every pipe end pid has open: the descriptor, the pipe's
// inode (which names the pipe in every process that has an end of it) and
// whether it is the write end. It is what tells, across processes, who could
// still write to a pipe a thread reads.
func OpenPipes(pid int) ([]PipeEnd, error) {
	f, err := os.Open(procPath(pid, "fd"))
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(maxFDs)
	f.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	var out []PipeEnd
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		ino := pipeInode(pid, fd)
		if ino == 0 {
			continue
		}
		e := PipeEnd{FD: fd, Inode: ino}
		if b, err := readSmall(procPath(pid, "fdinfo", n), 4096); err == nil {
			e.Write = fdinfoWritable(string(b))
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].FD < out[j].FD })
	return out, nil
}

// Access modes of a descriptor (the low bits of open()'s flags).
const (
	oWRONLY = 1
	oRDWR   = 2
)

// fdinfoWritable reads whether an fdinfo's descriptor can write: O_WRONLY
// or O_RDWR.
func fdinfoWritable(info string) bool {
	mode, ok := fdinfoAccess(info)
	return ok && mode != 0
}

// fdinfoAccess reads the access mode from an fdinfo's "flags:" (octal).
func fdinfoAccess(info string) (mode uint64, ok bool) {
	for line := range strings.Lines(info) {
		if v, found := strings.CutPrefix(line, "flags:"); found {
			f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return f & 3, err == nil
		}
	}
	return 0, false
}

// HostChildren lists the child processes of pid by their ids in this
// machine's /proc, the ones to read them by.
func HostChildren(pid int) []int {
	var out []int
	for _, c := range Children(pid) {
		out = append(out, c.HostPID)
	}
	sort.Ints(out)
	return out
}

// Executable returns the path of pid's executable, as the process sees it.
func Executable(pid int) (string, error) {
	return os.Readlink(procPath(pid, "exe"))
}
