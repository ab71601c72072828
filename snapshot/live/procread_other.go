//go:build !linux

package live

import (
	"os"
	"strconv"
)

func readProc(path string) ([]byte, error) { return os.ReadFile(path) }

// taskDir reads the files of a process's threads by their paths.
type taskDir struct{ pid int }

func openTaskDir(pid int) *taskDir { return &taskDir{pid: pid} }

func (d *taskDir) close() {}

func (d *taskDir) read(tid int, name string) ([]byte, error) {
	return readProc(procPath(d.pid, "task", strconv.Itoa(tid), name))
}

// pipeAt reads the link name in the directory open as dirFD, a process's
// fd directory, and parses the pipe's inode from it ("pipe:[1234]").
func pipeAt(dirFD int, name string) (uint64, bool) {
	link, err := os.Readlink("/dev/fd/" + strconv.Itoa(dirFD) + "/" + name)
	if err != nil {
		return 0, false
	}
	return pipeLinkInode(link)
}
