package main

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// codeWords say what an si_code means, by its name.
var codeWords = map[string]string{
	"SEGV_MAPERR": "address not mapped", "SEGV_ACCERR": "no permission for that access to the address",
	"SEGV_BNDERR": "bounds check failed", "SEGV_PKUERR": "protection key denied the access",
	"BUS_ADRALN": "misaligned address", "BUS_ADRERR": "address beyond the end of a mapped file",
	"BUS_OBJERR": "hardware error on the object", "BUS_MCEERR_AR": "memory error", "BUS_MCEERR_AO": "memory error",
	"ILL_ILLOPC": "illegal opcode", "ILL_ILLOPN": "illegal operand", "ILL_ILLADR": "illegal addressing mode",
	"ILL_ILLTRP": "illegal trap", "ILL_PRVOPC": "privileged opcode", "ILL_PRVREG": "privileged register",
	"ILL_COPROC": "coprocessor error", "ILL_BADSTK": "internal stack error",
	"FPE_INTDIV": "integer division by zero", "FPE_INTOVF": "integer overflow", "FPE_FLTDIV": "floating-point division by zero",
	"FPE_FLTOVF": "floating-point overflow", "FPE_FLTUND": "floating-point underflow", "FPE_FLTRES": "inexact floating-point result",
	"FPE_FLTINV": "invalid floating-point operation", "FPE_FLTSUB": "subscript out of range",
	"TRAP_BRKPT": "breakpoint", "TRAP_TRACE": "trace trap", "SYS_SECCOMP": "system call refused by seccomp",
	"SI_KERNEL": "raised by the kernel: for SIGSEGV a general protection fault (a non-canonical pointer, say), whose address the CPU does not report",
	"SI_TKILL":  "raised by the process itself (tgkill: raise(), abort())",
	"SI_USER":   "sent with kill()",
}

// crashFix says what would fix a crash, by its cause and where it hit.
func crashFix(d *heuristics.CrashDetails) string {
	switch {
	case d.Cause == heuristics.CauseFatalError:
		return "the interpreter found its own state broken and stopped; the message it printed to stderr says why (python -X faulthandler also prints every thread's traceback there)"
	case d.Cause == heuristics.CauseAbort:
		return "abort() stops a process on a failed check; the message printed to stderr just before it says which"
	case d.Cause == heuristics.CauseRaised && d.Code == snapshot.SIUser:
		return "no memory fault: the process sent the signal to itself with kill() (os.kill(os.getpid(), …)), from a thread that may have ended since: look for that call in the program"
	case d.Cause == heuristics.CauseRaised:
		return "no memory fault: the program sent the signal itself (os.kill(), signal.raise_signal(), faulthandler._sigsegv(), a C library's raise()); the stack shows the code that sends it"
	case d.StackOverflow:
		return "a recursion deeper than the thread's stack holds: make it iterative, or keep sys.setrecursionlimit() low enough for the stack (a thread's stack is threading.stack_size(), the main thread's ulimit -s)"
	case d.Via != "" && d.NullPointer:
		return fmt.Sprintf("check the pointers and the argtypes of that call before making it: a None or freed pointer reaches C through %s as NULL", d.Via)
	case d.Via != "":
		return fmt.Sprintf("check that call's arguments against the C function's signature (argtypes, restype, buffer sizes, pointers still valid): %s passes what it is given", d.Via)
	case d.Module == heuristics.ModuleInterpreter:
		return "the interpreter itself faulted, most often on memory that a C extension or a ctypes call corrupted earlier; python -X dev and faulthandler catch such errors nearer their cause"
	case d.Module == heuristics.ModuleExtension:
		return "a bug in that extension module, or in what it was given: update it, or report it with this stack"
	case d.Module == heuristics.ModuleLibrary:
		return "a bug in that library, or in the arguments its caller passed it (the native stack shows the caller)"
	}
	return "the native stack shows where it happened"
}

// signalPhrase says what killed the process: "SIGSEGV, a NULL pointer
// dereference (address 0x28)".
func signalPhrase(d *heuristics.CrashDetails) string {
	switch {
	case d.Cause == heuristics.CauseFatalError:
		return "a fatal Python error (Py_FatalError, which calls abort(): " + d.Signal + ")"
	case d.Cause == heuristics.CauseAbort:
		return "abort() (" + d.Signal + ")"
	case d.Cause == heuristics.CauseRaised && d.Code == snapshot.SIUser:
		return d.Signal + " the process sent itself with kill()"
	case d.Cause == heuristics.CauseRaised:
		return d.Signal + " the process raised itself (tgkill: raise(), pthread_kill())"
	case d.NullPointer:
		return fmt.Sprintf("%s, a NULL pointer dereference (address %s)", d.Signal, *d.Addr)
	case d.StackOverflow:
		return fmt.Sprintf("%s, a stack overflow (address %s, beside the stack pointer)", d.Signal, *d.Addr)
	case d.Reraised && d.Addr != nil:
		// The code is the re-raise's (SI_TKILL); the address is the fault's.
		return fmt.Sprintf("%s, a fault at address %s that a signal handler raised again", d.Signal, *d.Addr)
	case d.Addr != nil && d.CodeName != "" && codeWords[d.CodeName] != "":
		return fmt.Sprintf("%s, %s (address %s)", d.Signal, codeWords[d.CodeName], *d.Addr)
	case d.Addr != nil:
		return fmt.Sprintf("%s at address %s", d.Signal, *d.Addr)
	}
	return d.Signal
}

// moduleWords say what a native function's file is.
var moduleWords = map[string]string{
	heuristics.ModuleInterpreter: "the interpreter",
	heuristics.ModuleExtension:   "a Python extension module",
	heuristics.ModuleLibrary:     "a shared library",
}

// function is "RSA_size (libcrypto.so.3)", "?? (python3.13+0x4523d5)".
func (w *words) function(f *snapshot.NativeFrame) string {
	if f == nil {
		return "an unknown function (the thread's registers are unknown)"
	}
	switch {
	case f.Symbol != "" && f.Module != "":
		return fmt.Sprintf("%s (%s)", w.esc(f.Symbol), w.esc(f.Module))
	case f.Symbol != "":
		return w.esc(f.Symbol)
	case f.Module != "":
		return fmt.Sprintf("?? (%s+%#x)", w.esc(f.Module), f.Offset)
	}
	return fmt.Sprintf("?? (%s, in no mapped file)", f.PC)
}

// frameOffset is "RSA_size+0x4 (libcrypto.so.3)", or, without a symbol,
// the address in the file.
func (w *words) frameOffset(f *snapshot.NativeFrame) string {
	if f.Symbol == "" {
		return w.function(f)
	}
	s := fmt.Sprintf("%s+%#x", w.esc(f.Symbol), f.Offset)
	if f.Module != "" {
		s += " (" + w.esc(f.Module) + ")"
	}
	return s
}

func (w *words) crashSummary(d *heuristics.CrashDetails) string {
	if d.Cause == heuristics.CauseRaised && d.Code == snapshot.SIUser {
		// kill() signals the process, not a thread: the one that took it
		// need not be the one that sent it, which may be gone.
		return fmt.Sprintf("crash: %s; %s took it — %s", signalPhrase(d), w.threadName(d.Thread), crashFix(d))
	}
	where := "in " + w.function(d.Function)
	switch {
	case d.Cause != heuristics.CauseFault && d.Via != "":
		where = "called" // through ctypes: the caller is the interface's own code
	case d.Cause != heuristics.CauseFault && d.Function != nil:
		where = "called from " + w.function(d.Function)
	}
	// The program's own call, not ctypes' or threading's frame inside it.
	own := 0
	if d.Frame != nil {
		own = *d.Frame
		if t := w.thread(d.Thread); t != nil {
			own = locks.OwnFrame(t, own)
		}
	}
	switch {
	case d.Via != "" && d.Frame != nil:
		where += ", through " + d.Via + " from " + w.frameAt(d.Thread, own)
	case d.Via != "":
		where += ", through " + d.Via
	case d.Frame != nil:
		where += ", under " + w.frameAt(d.Thread, own)
	}
	if !d.PythonThread {
		where += fmt.Sprintf(", in thread %d, which runs no Python", d.Thread)
	}
	return fmt.Sprintf("crash: %s %s — %s", signalPhrase(d), where, crashFix(d))
}

// maxPyFrames bounds the Python frames a crash's evidence quotes.
const maxPyFrames = 6

func (w *words) crashEvidence(d *heuristics.CrashDetails) []string {
	var out []string
	sig := fmt.Sprintf("signal %s (%d), si_code %d", d.Signal, d.Number, d.Code)
	if d.CodeName != "" {
		sig += " " + d.CodeName
		if cw := codeWords[d.CodeName]; cw != "" {
			sig += ": " + cw
		}
	}
	if d.Sender != 0 {
		sig += fmt.Sprintf(", from pid %d", d.Sender)
	}
	if d.Addr != nil {
		if d.Reraised {
			sig += "; the handler's signal frame saved the fault"
		}
		sig += ", fault address " + d.Addr.String()
		if d.NullPointer {
			sig += " — below 4096, the page at 0 that Linux never maps: a NULL pointer plus an offset"
		}
	}
	out = append(out, sig)
	if d.StackOverflow {
		out = append(out, w.overflowWords(d))
	}
	if d.PythonThread {
		out = append(out, "the thread that took it: "+w.threadLabel(d.Thread))
	} else {
		out = append(out, fmt.Sprintf("the thread that took it: tid %d, which has no Python thread state (a thread started by C code)", d.Thread))
	}
	if d.Function != nil {
		s := "it happened in "
		switch {
		case d.Cause == heuristics.CauseRaised && d.Code == snapshot.SIUser:
			s = "kill() signals the whole process: the thread that took it need not be the one that called kill(); it was in "
		case d.Cause == heuristics.CauseRaised:
			s = "the signal was sent from "
		case d.Cause == heuristics.CauseAbort || d.Cause == heuristics.CauseFatalError:
			s = "abort() was called from "
		}
		fn := d.Function
		s += w.frameOffset(fn)
		if mw := moduleWords[d.Module]; mw != "" {
			s += ", " + mw
		}
		s += ", at " + fn.PC.String()
		out = append(out, s)
	}
	if d.Reraised {
		h := "a signal handler"
		if d.Handler != nil {
			h = "the signal handler " + w.function(d.Handler)
		}
		out = append(out, h+" (faulthandler's, if enabled) caught the fault and raised it again, so the process dies of that second signal, which carries no fault address; the fault is the frame below the signal frame of the native stack, and what the kernel saved in that frame")
	}
	if len(d.Native) > 1 {
		out = append(out, "native stack: "+w.chain(d.Native))
	}
	if t := w.thread(d.Thread); t != nil && len(t.Frames) > 0 {
		var fs []string
		for i := range t.Frames {
			if i == maxPyFrames {
				fs = append(fs, fmt.Sprintf("… %d more", len(t.Frames)-i))
				break
			}
			fs = append(fs, w.frameAt(t.TID, i))
		}
		out = append(out, "Python stack: "+strings.Join(fs, " ← "))
	}
	return out
}

// overflowWords says how far the fault address is from the stack pointer,
// and how deep the thread's Python stack is.
func (w *words) overflowWords(d *heuristics.CrashDetails) string {
	addr, sp := uint64(*d.Addr), uint64(*d.SP)
	where := fmt.Sprintf("%d bytes below", sp-addr)
	if addr >= sp {
		where = fmt.Sprintf("%d bytes above", addr-sp)
	}
	s := fmt.Sprintf("the fault address is %s the thread's stack pointer %s, on memory the stack cannot grow into: the thread ran out of stack", where, d.SP)
	if t := w.thread(d.Thread); t != nil && len(t.Frames) > 0 {
		if t.StackLost {
			s += fmt.Sprintf("; its Python stack is at least %d frames deep (the rest was not read)", len(t.Frames))
		} else {
			s += fmt.Sprintf("; its Python stack is %d frames deep", len(t.Frames))
		}
	}
	return s
}

// chain is "RSA_size (libcrypto.so.3) ← ?? (libffi.so.8+0x6f7a) ← …",
// each module named where it changes.
func (w *words) chain(frames []snapshot.NativeFrame) string {
	var parts []string
	module := ""
	for i := range frames {
		nf := &frames[i]
		name := w.esc(nf.Symbol)
		switch {
		case name == "" && nf.Module != "":
			name = fmt.Sprintf("?? (%s+%#x)", w.esc(nf.Module), nf.Offset)
		case name == "":
			name = "?? (" + nf.PC.String() + ")"
		case nf.Module != module:
			name += " (" + w.esc(nf.Module) + ")"
		}
		if nf.SignalFrame {
			name += " <signal handler called>"
		}
		module = nf.Module
		parts = append(parts, name)
	}
	return strings.Join(parts, " ← ")
}
