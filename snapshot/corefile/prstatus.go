package corefile

import (
	"encoding/binary"
	"fmt"

	"github.com/pyhang/pyhang/snapshot/target"
)

// struct elf_prstatus on x86-64 (include/uapi/linux/elfcore.h): a 12-byte
// elf_siginfo, pr_cursig (short) and padding, two sigsets, four pids, four
// timevals, then pr_reg (struct user_regs_struct, 27 words) and pr_fpvalid.
const (
	prCursigOff  = 12
	prPidOff     = 32
	prRegOff     = 112
	userRegsSize = 27 * 8
	prstatusMin  = prRegOff + userRegsSize // 328; the kernel writes 336
)

// Indices of the words of struct user_regs_struct.
const (
	regR15 = iota
	regR14
	regR13
	regR12
	regRBP
	regRBX
	regR11
	regR10
	regR9
	regR8
	regRAX
	regRCX
	regRDX
	regRSI
	regRDI
	regOrigRAX
	regRIP
	regCS
	regEFlags
	regRSP
	regSS
	regFSBase
	regGSBase
	regDS
	regES
	regFS
	regGS
)

// Return values that leave a thread inside its system call: the kernel
// restarts the call (or already did) when the thread runs again, and -ENOSYS
// is what rax holds on syscall entry, before the call ran.
const (
	errRestartSys          = -512
	errRestartNoIntr       = -513
	errRestartNoHand       = -514
	errRestartRestartBlock = -516
	errIntr                = -4
	errNoSys               = -38
)

// prstatus is the part of one NT_PRSTATUS note the snapshot uses.
type prstatus struct {
	tid    int
	cursig int
	regs   [27]uint64
}

// parsePRStatus decodes an NT_PRSTATUS descriptor.
func parsePRStatus(desc []byte) (prstatus, error) {
	if len(desc) < prstatusMin {
		return prstatus{}, fmt.Errorf("NT_PRSTATUS is %d bytes, want at least %d: %w", len(desc), prstatusMin, ErrCorrupt)
	}
	le := binary.LittleEndian
	ps := prstatus{
		tid:    int(int32(le.Uint32(desc[prPidOff:]))),
		cursig: int(int16(le.Uint16(desc[prCursigOff:]))),
	}
	for i := range ps.regs {
		ps.regs[i] = le.Uint64(desc[prRegOff+8*i:])
	}
	return ps, nil
}

// thread converts the note into the target's view of a thread. A thread not
// in a system call gets Syscall -1 and zero Args.
func (ps prstatus) thread() target.Thread {
	r := &ps.regs
	t := target.Thread{
		TID:     ps.tid,
		Syscall: -1,
		Regs:    regsOf(r),
	}
	if inSyscall(r[regOrigRAX], r[regRAX]) {
		t.InSyscall = true
		t.Syscall = int(int64(r[regOrigRAX]))
		t.Args = [6]uint64{r[regRDI], r[regRSI], r[regRDX], r[regR10], r[regR8], r[regR9]}
	}
	return t
}

// inSyscall reports whether registers with these orig_rax and rax belong to a
// thread stopped inside a system call (orig_rax is -1 outside one).
func inSyscall(origRAX, rax uint64) bool {
	if int64(origRAX) < 0 {
		return false
	}
	switch int64(rax) {
	case errRestartSys, errRestartNoIntr, errRestartNoHand, errRestartRestartBlock, errIntr, errNoSys:
		return true
	}
	return false
}
