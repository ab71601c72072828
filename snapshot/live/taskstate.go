//go:build linux && amd64

package live

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Blocked re-reads, without stopping it, whether thread tid sits in a system
// call and where: the call and its arguments, and its stack and program
// counters (/proc/PID/task/TID/syscall).
func (p *Process) Blocked(tid int) (target.Thread, bool) {
	t := target.Thread{TID: tid}
	b, err := readProc(procPath(p.pid, "task", strconv.Itoa(tid), "syscall"))
	if err != nil {
		return t, false
	}
	si, err := parseSyscallFile(b)
	if err != nil || si.Running || !si.InSyscall || si.SP == 0 {
		return t, false
	}
	t.InSyscall, t.Syscall, t.Args = true, si.Nr, si.Args
	t.Regs = &target.Regs{RSP: si.SP, RIP: si.PC, Partial: true}
	return t, true
}

// CPUTime is how long thread tid has run, in nanoseconds (the first field
// of /proc/PID/task/TID/schedstat): unchanged over an interval, the thread
// did not run in it.
func (p *Process) CPUTime(tid int) (uint64, error) {
	b, err := readProc(procPath(p.pid, "task", strconv.Itoa(tid), "schedstat"))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("empty schedstat of thread %d", tid)
	}
	return strconv.ParseUint(f[0], 10, 64)
}
