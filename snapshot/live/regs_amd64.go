//go:build linux && amd64

package live

import (
	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/target"
)

func regsFromPtrace(r *unix.PtraceRegs) *target.Regs {
	return &target.Regs{
		RIP: r.Rip, RSP: r.Rsp, RBP: r.Rbp, RAX: r.Rax, OrigRAX: r.Orig_rax,
		RDI: r.Rdi, RSI: r.Rsi, RDX: r.Rdx, R10: r.R10, R8: r.R8, R9: r.R9,
		RBX: r.Rbx, RCX: r.Rcx, R11: r.R11, R12: r.R12, R13: r.R13, R14: r.R14, R15: r.R15,
		FSBase: r.Fs_base,
		EFlags: r.Eflags, GSBase: r.Gs_base,
		CS: r.Cs, SS: r.Ss, DS: r.Ds, ES: r.Es, FS: r.Fs, GS: r.Gs,
	}
}
