package native

import (
	"fmt"

	"github.com/pyhang/pyhang/snapshot/target"
)

// SignalContext is what the kernel saved of a thread when it delivered a
// signal to a handler: the sigcontext of the signal frame (x86-64,
// arch/x86/include/uapi/asm/sigcontext.h), which the trampoline hands back
// to rt_sigreturn when the handler returns. PC and SP are the interrupted
// frame's; Trap, Err and Addr are the thread's last CPU exception that
// raised a signal (trap_nr, error_code and cr2, set by the fault handlers),
// which for a signal the fault itself raised is that fault, and otherwise
// an older one or zeros.
type SignalContext struct {
	PC, SP uint64
	// Trap is the exception vector: 14 a page fault, 13 a general
	// protection fault, 0 a divide error, 6 an invalid opcode.
	Trap uint64
	// Err is the exception's error code (for a page fault, what access
	// faulted: present, write, user, instruction fetch …).
	Err uint64
	// Addr is cr2: the address a page fault faulted on.
	Addr uint64
}

// The kernel's rt_sigframe: the handler returns into the trampoline with
// the stack pointer at the frame's ucontext (its first word, pretcode, the
// return address the handler popped), whose uc_mcontext begins after
// uc_flags, uc_link and the 24-byte uc_stack. The offsets of the saved
// words in it are those of struct sigcontext (r8 … r15, rdi, rsi, rbp, rbx,
// rdx, rax, rcx, rsp, rip, eflags, cs/gs/fs/ss, err, trapno, oldmask, cr2).
const (
	ucMcontext = 40
	scRSP      = ucMcontext + 15*8
	scRIP      = ucMcontext + 16*8
	scErr      = ucMcontext + 19*8
	scTrapno   = ucMcontext + 20*8
	scCR2      = ucMcontext + 22*8
)

// signalContext reads the context a signal trampoline restores, uc being
// the trampoline frame's stack pointer.
func (s *stackReader) signalContext(uc uint64) (*SignalContext, error) {
	var c SignalContext
	for _, w := range []struct {
		off uint64
		v   *uint64
	}{{scRIP, &c.PC}, {scRSP, &c.SP}, {scTrapno, &c.Trap}, {scErr, &c.Err}, {scCR2, &c.Addr}} {
		v, err := s.word(uc + w.off)
		if err != nil {
			return nil, fmt.Errorf("signal frame context at %#x: %w", uc, err)
		}
		*w.v = v
	}
	return &c, nil
}

// maxHandlerFrames bounds the walk that looks for a thread's signal frames:
// a C signal handler runs a few frames deep.
const maxHandlerFrames = 32

// SignalContexts returns the contexts of the signal frames among the
// innermost frames of a thread whose registers are regs, innermost first:
// where each signal interrupted the thread. A handler that runs on an
// alternate signal stack (sigaltstack: faulthandler's) leaves the stack the
// signal interrupted elsewhere; the context's SP says where, so that a copy
// of the stack can take that one too. The walk goes as far as mem holds the
// stack.
func (m *Modules) SignalContexts(mem target.Memory, regs *target.Regs) []SignalContext {
	var st Stack
	m.unwind(&st, mem, regs, false, maxHandlerFrames)
	var out []SignalContext
	for i := range st.Frames {
		if c := st.Frames[i].Context; c != nil {
			out = append(out, *c)
		}
	}
	return out
}
