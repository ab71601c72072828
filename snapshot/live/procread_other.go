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
