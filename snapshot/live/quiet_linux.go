//go:build linux && amd64

package live

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is the kernel's struct sigaction on amd64 (rt_sigaction).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// saNoCldStop is SA_NOCLDSTOP: no SIGCHLD when a child, or a tracee, stops.
const saNoCldStop = 1

func sigaction(sig unix.Signal, act, old *kernelSigaction) error {
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// quietStops keeps the kernel from sending pyhang a SIGCHLD for each thread
// it stops, until the returned function is called. Each such signal wakes a
// thread of pyhang to run the Go runtime's handler, for nothing: the tracer
// polls for the stops with wait4. On a hundred threads that was a tenth of
// the pause. The stops are still reported to wait4, and SIGCHLD still comes
// when a child exits. The handler itself is left as the Go runtime set it.
func quietStops() (restore func()) {
	var old kernelSigaction
	if sigaction(unix.SIGCHLD, nil, &old) != nil || old.flags&saNoCldStop != 0 {
		return func() {}
	}
	quiet := old
	quiet.flags |= saNoCldStop
	if sigaction(unix.SIGCHLD, &quiet, nil) != nil {
		return func() {}
	}
	return func() {
		// Only the flag is put back, and only on the same handler: a
		// signal.Notify meanwhile may have installed its own.
		var now kernelSigaction
		if sigaction(unix.SIGCHLD, nil, &now) == nil && now.handler == old.handler && now.flags&saNoCldStop != 0 {
			now.flags &^= saNoCldStop
			_ = sigaction(unix.SIGCHLD, &now, nil)
		}
	}
}

// urgently runs f, a burst of ptrace requests that each wake a tracee, with
// the calling thread at the lowest real-time priority when pyhang may
// raise it (CAP_SYS_NICE; otherwise f runs as it is). A woken tracee then
// cannot preempt the tracer on its CPU: the tracees take their turn after
// the burst, or on another CPU, and the burst is shorter. f must not wait
// for the tracees: at real-time priority, a wait that spins would keep them
// from the CPU they need.
func urgently(f func()) {
	var old *unix.SchedAttr
	if a, err := unix.SchedGetAttr(0, 0); err == nil && a.Policy == unix.SCHED_NORMAL {
		if unix.SchedSetAttr(0, &unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 1}, 0) == nil {
			old = a
		}
	}
	defer func() {
		if old != nil {
			_ = unix.SchedSetAttr(0, old, 0)
		}
	}()
	f()
}
