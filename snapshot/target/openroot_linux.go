//go:build linux

package target

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// openFlags open a source file for reading only, never as a controlling
// terminal, and without blocking on a FIFO a hostile path may name.
const openFlags = unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK

// OpenInRoot opens the absolute path as if root were "/": "..", absolute
// symbolic links and /proc magic links all stay inside root.
func OpenInRoot(root, path string) (*os.File, error) {
	return openAt(root, strings.TrimLeft(path, "/"), unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS)
}

// OpenBeneath opens a relative path below dir, refusing to leave it.
func OpenBeneath(dir, path string) (*os.File, error) {
	return openAt(dir, path, unix.RESOLVE_BENEATH|unix.RESOLVE_NO_MAGICLINKS)
}

func openAt(dir, rel string, resolve uint64) (*os.File, error) {
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat2(dfd, rel, &unix.OpenHow{Flags: openFlags, Resolve: resolve})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: rel, Err: err}
	}
	return os.NewFile(uintptr(fd), rel), nil
}
