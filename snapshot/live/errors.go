package live

import (
	"errors"
	"fmt"
)

// Sentinels wrapped by Attach's errors, so that the CLI can recognise the kind
// of failure; each error's text is already a complete one-line message.
var (
	// ErrNoProcess: no process has that pid.
	ErrNoProcess = errors.New("no such process")
	// ErrPermission: the kernel refused ptrace access to the process.
	ErrPermission = errors.New("permission denied")
	// ErrTraced: another tracer (gdb, strace, another pyhang) holds the process.
	ErrTraced = errors.New("process already traced")
	// ErrSelf: the pid is pyhang itself or its parent.
	ErrSelf = errors.New("refusing to inspect pyhang itself")
	// ErrZombie: the process has exited and waits to be reaped.
	ErrZombie = errors.New("zombie process")
	// ErrUnsupported: live processes can be read on linux/amd64 only.
	ErrUnsupported = errors.New("live processes are supported on linux/amd64 only")
)

// AttachError is an Attach failure: Msg is the one-line message for the user,
// Kind the sentinel for errors.Is, Err the underlying system error if any.
type AttachError struct {
	PID  int
	Kind error
	Msg  string
	Err  error
}

func (e *AttachError) Error() string { return e.Msg }

// Unwrap lets errors.Is find both the sentinel and the system error.
func (e *AttachError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func noProcessError(pid int, err error) error {
	return &AttachError{PID: pid, Kind: ErrNoProcess, Err: err,
		Msg: fmt.Sprintf("no process with pid %d", pid)}
}

func zombieError(pid int) error {
	return &AttachError{PID: pid, Kind: ErrZombie,
		Msg: fmt.Sprintf("process %d is a zombie: it has exited and only waits for its parent to reap it, there is nothing left to inspect", pid)}
}

// permissionError explains what grants access; nonBlocking says which mode
// failed, since both need ptrace access (the kernel guards /proc/PID/mem,
// /proc/PID/task/TID/syscall and process_vm_readv with the ptrace check).
func permissionError(pid int, nonBlocking bool, what string, err error) error {
	mode := "--nonblocking does not help: it reads /proc/PID/mem and /proc/PID/task/*/syscall, which need the same ptrace access"
	if nonBlocking {
		mode = "--nonblocking avoids stopping the target but still needs ptrace read access"
	}
	return &AttachError{PID: pid, Kind: ErrPermission, Err: err,
		Msg: fmt.Sprintf("permission denied %s pid %d: run pyhang as the target's user or as root, or grant it CAP_SYS_PTRACE (setcap cap_sys_ptrace+ep), and check /proc/sys/kernel/yama/ptrace_scope (1 allows only descendants, 3 forbids ptrace); %s",
			what, pid, mode)}
}

func tracedError(pid, tracer int, tracerName string) error {
	return &AttachError{PID: pid, Kind: ErrTraced,
		Msg: fmt.Sprintf("process %d is already traced by pid %d (%s): detach that debugger first, or use --nonblocking", pid, tracer, tracerName)}
}

func selfError(pid int, what string) error {
	return &AttachError{PID: pid, Kind: ErrSelf,
		Msg: fmt.Sprintf("refusing to inspect pid %d: it is %s", pid, what)}
}
