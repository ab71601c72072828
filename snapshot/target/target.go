// Package target is the narrow view of a stopped or dead process that the rest of
// the snapshotter reads: its memory, its mappings and its kernel threads. A live
// process (package live) and an ELF core file (package corefile) both provide it;
// nothing here knows about Python.
package target

import (
	"errors"
	"fmt"
	"io"
)

// Memory reads the target's address space. ReadAt behaves like io.ReaderAt with
// a 64-bit target address: a short read returns the bytes read and an error.
type Memory interface {
	ReadAt(p []byte, addr uint64) (int, error)
}

// BlockReader is Memory that reads many blocks in one go: a live process's
// vectored read takes up to 1024 of them in one system call, where each read
// of its own costs a call.
type BlockReader interface {
	// ReadBlocks fills buf, block by block of size bytes, from the blocks at
	// addrs (len(buf) = len(addrs)*size), and says of each whether it was
	// read whole.
	ReadBlocks(buf []byte, addrs []uint64, size int) []bool
}

// AheadReader is Memory that can read bytes no caller needs yet (a block
// around a page asked for) without counting what it cannot read as missing:
// a core whose mapped file has no local copy says the snapshot is
// incomplete only when a read that needs that file fails, not when a read
// ahead strays into it.
type AheadReader interface {
	ReadAhead(p []byte, addr uint64) (int, error)
}

// Mapping is one region of the target's address space.
type Mapping struct {
	Start, End uint64 // [Start, End)
	Offset     uint64 // offset in Path of Start
	Perms      string // "r-xp" as in /proc/PID/maps
	Path       string // path as the target saw it; "" for anonymous memory
}

// Regs are the x86-64 general registers of a thread (struct user_regs_struct):
// the system call it sits in, and what unwinding its native stack starts from.
type Regs struct {
	RIP, RSP, RBP, RAX, OrigRAX uint64
	RDI, RSI, RDX, R10, R8, R9  uint64
	RBX, RCX, R11               uint64
	R12, R13, R14, R15          uint64
	FSBase                      uint64 // = pthread_t of the thread (glibc)
	// Partial is true when only RIP and RSP are known: the thread was not
	// stopped and they come from /proc/PID/task/TID/syscall.
	Partial bool
	// The rest of user_regs_struct: a core pyhang writes records them all.
	EFlags, GSBase         uint64
	CS, SS, DS, ES, FS, GS uint64
}

// Thread is the kernel's view of one thread (an LWP).
type Thread struct {
	TID int
	// State is the /proc state letter (R, S, D, T, t, Z) for a live thread, "" in a core.
	State string
	// InSyscall is true when the thread sits in (or was interrupted inside) a
	// system call; Syscall and Args then hold its number and arguments.
	InSyscall bool
	Syscall   int
	Args      [6]uint64
	// CutShort is set with InSyscall when the stop itself cut short a write
	// the thread was blocked in (a socket or pipe whose buffer was full): the
	// call returned the part it had written, and the thread will go on past
	// it (to write the rest, in sendall()).
	CutShort bool
	Regs     *Regs // nil when the registers could not be read
	// Name is the kernel's name of the thread (comm, at most 15 bytes): a
	// live thread's own; in a core only the main thread's, which is the
	// process name NT_PRPSINFO carries (cores record no other thread names).
	Name string
	// KernelWait names the kernel functions a thread in restart_syscall slept
	// in, innermost first, as /proc/PID/task/TID/stack (or wchan) showed them
	// before anything stopped it: they tell which call the kernel resumes.
	// Read only for such threads of a live process.
	KernelWait []string
}

// SysRestart is restart_syscall: a thread sits in it after a timed wait was
// interrupted by a stop (ptrace, a debugger) and the kernel resumed the wait.
const SysRestart = 219

// SigInfo describes the signal that killed a process (from a core's NT_SIGINFO).
type SigInfo struct {
	Signo, Code, Errno int
	Addr               uint64 // fault address for SIGSEGV/SIGBUS/SIGILL/SIGFPE
	TID                int    // thread that took the signal (0 when unknown)
	// Sender is the pid of the process that sent the signal (si_pid of a
	// kill(), tgkill() or sigqueue(), si_code <= 0); 0 for a signal the
	// kernel raised, or when unknown.
	Sender int
}

// Target is a process to read: a live pid or a core file.
type Target interface {
	Memory
	Kind() string // "pid" or "core"
	PID() int
	Executable() string // path as the target saw it
	Mappings() []Mapping
	Threads() []Thread
	// OpenFile opens the local copy of a file the target mapped (applying
	// --sysroot/--exe for cores). The caller closes it.
	OpenFile(path string) (File, error)
	// Signal is the fatal signal of a core, nil for a live process.
	Signal() *SigInfo
	// Warnings are non-fatal problems met so far (truncated core, build-id mismatch …).
	Warnings() []string
	// Close releases the target: a live process is resumed. Safe to call twice.
	Close() error
}

// File is a local, readable copy of a mapped file.
type File interface {
	io.ReaderAt
	io.Closer
	Name() string // the local path
}

// ErrUnreadable is wrapped by every failed read of target memory.
var ErrUnreadable = errors.New("unreadable target memory")

// ReadFull reads len(p) bytes at addr or fails with an error naming the address.
func ReadFull(m Memory, p []byte, addr uint64) error {
	n, err := m.ReadAt(p, addr)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at %#x: %w (%w)", len(p), addr, ErrUnreadable, err)
}
