package corefile

import (
	"encoding/binary"
	"fmt"
)

// Linux x86-64 signal numbers of the target (not the host's syscall package,
// which differs or lacks them off Linux).
const (
	sigILL  = 4
	sigTRAP = 5
	sigBUS  = 7
	sigFPE  = 8
	sigSEGV = 11
	sigSTOP = 19
)

// si_code values of signals a process sent (include/uapi/asm-generic/siginfo.h).
const (
	siUser  = 0
	siQueue = -1
	siTKill = -6
)

// siginfo_t on x86-64: si_signo, si_errno, si_code (ints), padding, then the
// union whose first word is si_addr for the fault signals, and si_pid (then
// si_uid) for a signal a process sent.
const (
	siAddrOff  = 16
	siPIDOff   = 16
	siginfoMin = siAddrOff + 8
)

// siginfo is the decoded NT_SIGINFO.
type siginfo struct {
	signo, errno, code int
	addr               uint64 // 0 unless a fault signal raised by the kernel
	sender             int    // si_pid of a signal a process sent (si_code <= 0)
}

func parseSigInfo(desc []byte) (siginfo, error) {
	if len(desc) < siginfoMin {
		return siginfo{}, fmt.Errorf("NT_SIGINFO is %d bytes, want at least %d: %w", len(desc), siginfoMin, ErrCorrupt)
	}
	le := binary.LittleEndian
	si := siginfo{
		signo: int(int32(le.Uint32(desc[0:]))),
		errno: int(int32(le.Uint32(desc[4:]))),
		code:  int(int32(le.Uint32(desc[8:]))),
	}
	// si_addr is only meaningful when the kernel raised a fault signal
	// (si_code > 0); a kill() of SIGSEGV puts si_pid/si_uid in that word.
	switch si.signo {
	case sigSEGV, sigBUS, sigILL, sigFPE, sigTRAP:
		if si.code > 0 {
			si.addr = le.Uint64(desc[siAddrOff:])
		}
	}
	// SI_USER (kill), SI_QUEUE (sigqueue) and SI_TKILL (tgkill, raise,
	// abort) carry the sender's pid.
	switch si.code {
	case siUser, siQueue, siTKill:
		if pid := int(int32(le.Uint32(desc[siPIDOff:]))); pid > 0 {
			si.sender = pid
		}
	}
	return si, nil
}
