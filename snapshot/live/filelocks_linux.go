//go:build linux

package live

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot"
)

// maxLockLines bounds the lines of /proc/locks read: a machine with more
// locks than that has the waited-for file's among the first, or pyhang
// says no holder.
const maxLockLines = 1 << 16

// FileLockOf tells which file descriptor fd of process pid is, as a file a
// thread waits to lock (flock, fcntl F_SETLKW), and who holds locks on it:
// /proc/PID/fd/FD names the file in the target's own view and gives its
// device and inode, /proc/locks the processes holding locks on that inode
// (the lines that are not "->", the waiting ones), and the target's own
// fdinfo files which of its descriptors hold them.
func FileLockOf(pid, fd int) (*snapshot.FileLock, error) {
	link := procPath(pid, "fd", strconv.Itoa(fd))
	path, err := os.Readlink(link)
	if err != nil {
		return nil, fmt.Errorf("file lock on fd %d: %w", fd, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(link, &st); err != nil {
		return nil, fmt.Errorf("file lock on fd %d: %w", fd, err)
	}
	file := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	out := &snapshot.FileLock{Path: path, File: file, Holders: []snapshot.FileLockHolder{}}
	b, err := readProc("/proc/locks")
	if err != nil {
		return out, nil // the file is known; its holders are not
	}
	seen := map[int]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 0; sc.Scan() && n < maxLockLines; n++ {
		typ, holder, ok := lockLine(sc.Text(), file)
		if !ok || seen[holder] {
			continue
		}
		seen[holder] = true
		out.Type = typ
		h := snapshot.FileLockHolder{PID: holder}
		if holder > 0 {
			if c, err := readProc(procPath(holder, "comm")); err == nil {
				h.Comm = strings.TrimSpace(string(c))
			}
		}
		if holder == pid {
			h.FDs = LockingFDs(pid, fd, file)
		}
		out.Holders = append(out.Holders, h)
	}
	return out, nil
}

// lockLine parses one line of /proc/locks ("1: FLOCK  ADVISORY  WRITE 4321
// 00:2a:1234 0 EOF"): the lock's class and holder, when it is a granted
// lock (not "->", a waiter) on file.
func lockLine(line, file string) (typ string, pid int, ok bool) {
	f := strings.Fields(line)
	if len(f) < 6 || f[1] == "->" || f[5] != file {
		return "", 0, false
	}
	pid, err := strconv.Atoi(f[4])
	if err != nil {
		return "", 0, false
	}
	return f[1], pid, true
}

// maxLockFDs bounds the descriptors of a process whose fdinfo is read for
// its locks: a process may have a million open.
const maxLockFDs = 4096

// LockingFDs are the descriptors of pid, other than waiting (-1: none),
// whose fdinfo lists a granted lock on file ("00:2a:1234").
func LockingFDs(pid, waiting int, file string) []int {
	d, err := os.Open(procPath(pid, "fdinfo"))
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(maxLockFDs)
	d.Close()
	var out []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd == waiting {
			continue
		}
		b, err := readProc(procPath(pid, "fdinfo", n))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			rest, found := strings.CutPrefix(line, "lock:")
			if _, _, ok := lockLine(strings.TrimSpace(rest), file); found && ok {
				out = append(out, fd)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
