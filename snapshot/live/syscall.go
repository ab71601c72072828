package live

import "github.com/pyhang/pyhang/snapshot/target"

// Values of rax that mean "this system call was interrupted and will be
// restarted or fail with EINTR" (kernel include/linux/errno.h), and -ENOSYS,
// which rax holds at a syscall-entry stop.
var restartCodes = map[int64]bool{
	-512: true, // ERESTARTSYS
	-513: true, // ERESTARTNOINTR
	-514: true, // ERESTARTNOHAND
	-516: true, // ERESTART_RESTARTBLOCK
	-4:   true, // EINTR
	-38:  true, // ENOSYS
}

// syscallFromRegs decides, as a core reader does from NT_PRSTATUS, whether a
// stopped thread sits in a system call: orig_rax holds the number (-1 outside
// a syscall) and rax the interrupted call's restart code. The arguments are
// in the syscall ABI registers (rdi, rsi, rdx, r10, r8, r9).
func syscallFromRegs(r *target.Regs) (in bool, nr int, args [6]uint64) {
	if int64(r.OrigRAX) < 0 || !restartCodes[int64(r.RAX)] {
		return false, 0, args
	}
	return true, int(r.OrigRAX), [6]uint64{r.RDI, r.RSI, r.RDX, r.R10, r.R8, r.R9}
}

// System calls whose length argument is rdx.
const (
	sysWrite  = 1
	sysSendto = 44
)

// cutShortWrite reports whether the stop cut short a write() or sendto()
// the thread was blocked in: the thread stopped on the call's way out
// (orig_rax holds its number), which returned fewer bytes than it was asked
// to write. A blocking write returns its whole length unless a signal, or a
// ptrace stop, ends its wait for buffer space: it was blocked there.
func cutShortWrite(r *target.Regs) (nr int, args [6]uint64, ok bool) {
	if r.OrigRAX != sysWrite && r.OrigRAX != sysSendto {
		return 0, args, false
	}
	if n := int64(r.RAX); n < 0 || uint64(n) >= r.RDX {
		return 0, args, false
	}
	return int(r.OrigRAX), [6]uint64{r.RDI, r.RSI, r.RDX, r.R10, r.R8, r.R9}, true
}

// setSyscall fills in what a stopped thread's registers say of its system
// call.
func setSyscall(t *target.Thread, r *target.Regs) {
	t.InSyscall, t.Syscall, t.Args = syscallFromRegs(r)
	if !t.InSyscall {
		if nr, args, ok := cutShortWrite(r); ok {
			t.InSyscall, t.Syscall, t.Args, t.CutShort = true, nr, args, true
		}
	}
}
