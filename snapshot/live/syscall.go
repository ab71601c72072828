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
