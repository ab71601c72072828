//go:build linux

package live

import (
	"errors"
	"io/fs"

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
