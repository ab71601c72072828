//go:build linux

package live

import (
	"errors"
	"io/fs"
	"strconv"

	"golang.org/x/sys/unix"
)

// maxProcFile bounds what readProc reads: the small per-thread files
// (stat, syscall, status, wchan, stack) are far below it.
const maxProcFile = 64 << 10

// readProc reads a small /proc file with three system calls. os.ReadFile
// costs four times that (stat, poller registration, a growing buffer), and a
// snapshot reads a few files per thread.
func readProc(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 512)
	for len(buf) < maxProcFile {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			break
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

// taskDir reads the small files of a process's threads (stat, syscall)
// through one descriptor of its /proc/PID/task directory: each path is
// resolved from there, two components and not five, and a file that fits
// the buffer is read in one call. These files are made whole by the first
// read (a seq_file of one record), so a read that does not fill the buffer
// holds all of it. A hundred threads read this way cost a quarter less.
type taskDir struct {
	pid int
	fd  int // -1 when the directory could not be opened: each file is read by its path
	buf [4096]byte
}

func openTaskDir(pid int) *taskDir {
	d := &taskDir{pid: pid, fd: -1}
	fd, err := unix.Open(procPath(pid, "task"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Open(procPath(pid, "task"), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err == nil {
		d.fd = fd
	}
	return d
}

func (d *taskDir) close() {
	if d.fd >= 0 {
		unix.Close(d.fd)
		d.fd = -1
	}
}

// read returns file name of thread tid, valid until the next read.
func (d *taskDir) read(tid int, name string) ([]byte, error) {
	if d.fd < 0 {
		return readProc(procPath(d.pid, "task", strconv.Itoa(tid), name))
	}
	rel := strconv.Itoa(tid) + "/" + name
	fd, err := unix.Openat(d.fd, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Openat(d.fd, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: procPath(d.pid, "task", rel), Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, d.buf[:])
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Read(fd, d.buf[:])
	}
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: procPath(d.pid, "task", rel), Err: err}
	}
	if n < len(d.buf) {
		return d.buf[:n], nil
	}
	// Bigger than the buffer: the rest as readProc reads it.
	return readProc(procPath(d.pid, "task", rel))
}

// pipeAt reads the link name in the directory open as dirFD, a process's
// fd directory, and parses the pipe's inode from it ("pipe:[1234]"). A link
// that does not fit the buffer is no pipe.
func pipeAt(dirFD int, name string) (uint64, bool) {
	var buf [64]byte
	n, err := unix.Readlinkat(dirFD, name, buf[:])
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Readlinkat(dirFD, name, buf[:])
	}
	if err != nil || n >= len(buf) {
		return 0, false
	}
	return pipeLinkInode(string(buf[:n]))
}
