package heuristics

import (
	"slices"

	"github.com/pyhang/pyhang/snapshot"
)

// Crash: the core of a process that died of a fault or of abort() (see
// snapshot.TargetInfo.Crashed; a core taken with kill -ABRT is none). The
// finding says what signal, where: the faulting thread, the native function
// the fault happened in (symbolised from the mapped files' symbol tables:
// no debug info needed), the C frames out to the Python frame that called
// into them, and through what (ctypes, cffi).

// nullPage is the size of the page at address 0, which Linux never maps: a
// fault below it is a NULL pointer plus a small offset (a field of a struct
// reached through NULL). The kernel's own "NULL pointer dereference"
// message uses the same bound (address < PAGE_SIZE, arch/x86/mm/fault.c).
const nullPage = 4096

// Causes of a crash.
const (
	// CauseFault: the CPU faulted (SIGSEGV, SIGBUS, SIGILL, SIGFPE …),
	// also when a handler caught the fault and raised it again
	// (faulthandler does).
	CauseFault = "fault"
	// CauseAbort: the process called abort() (SIGABRT it sent itself).
	CauseAbort = "abort"
	// CauseFatalError: the interpreter stopped itself: Py_FatalError (and
	// its kin) on the stack, which calls abort().
	CauseFatalError = "fatal-error"
	// CauseRaised: the process sent itself a fault signal, with raise(),
	// pthread_kill() or kill() (signal.raise_signal(), os.kill(),
	// faulthandler._sigsegv()), not after a fault: no memory was touched
	// wrongly.
	CauseRaised = "raised"
)

// CrashDetails is the signal that killed the process and where it hit.
type CrashDetails struct {
	Signal string `json:"signal"` // "SIGSEGV"
	Number int    `json:"number"`
	Code   int    `json:"code"` // si_code
	// CodeName is si_code's name: "SEGV_MAPERR", "SI_TKILL" …
	CodeName string `json:"code_name,omitempty"`
	// Addr is the fault address the kernel reported; for a fault a handler
	// caught and raised again, the one the handler's signal frame saved
	// (a page fault's); absent for a signal the process raised (abort()).
	Addr *snapshot.Addr `json:"addr,omitempty"`
	// NullPointer: a SIGSEGV at an address below 4096, the page Linux never
	// maps: a NULL pointer (plus a small offset) was dereferenced.
	NullPointer bool `json:"null_pointer"`
	// StackOverflow: a SIGSEGV at an address not mapped, or not writable,
	// within stackReach of the thread's stack pointer (SP): the thread ran
	// out of stack, on the guard page or the gap below its stack, most
	// often in a recursion deeper than its stack holds.
	StackOverflow bool           `json:"stack_overflow,omitempty"`
	SP            *snapshot.Addr `json:"sp,omitempty"`
	// Sender is the pid that raised a signal a process sent (the process
	// itself, for abort()).
	Sender int    `json:"sender_pid,omitempty"`
	Cause  string `json:"cause"`
	// Thread is the tid of the thread that took the signal; PythonThread
	// says whether it is one of the snapshot's threads (a thread C code
	// started without a Python thread state is not).
	Thread       int  `json:"thread"`
	PythonThread bool `json:"python_thread"`
	// Function is the native frame the crash happened in: the faulting
	// instruction's function; for a fault a signal handler caught and
	// raised again, the frame the signal interrupted; for abort() and
	// Py_FatalError, their caller. Null when the thread's registers are
	// unknown.
	Function *snapshot.NativeFrame `json:"function"`
	// Module says what file Function is in: "interpreter", "extension"
	// (a Python extension module), "library" (any other shared library),
	// or "" when unknown.
	Module string `json:"module"`
	// Via is the foreign-function interface the C call came through:
	// "ctypes", "cffi", or "" when none shows on the native stack.
	Via string `json:"via,omitempty"`
	// Reraised: a signal handler caught the fault and raised it again
	// (faulthandler does): the native stack holds a signal frame, and the
	// core records the second signal, without the fault address; the
	// signal frame saved the fault (Addr, SP). Handler
	// is that handler's frame, when the stack still shows it (a handler
	// that ends in a tail call to raise() leaves no frame).
	Reraised bool                  `json:"reraised,omitempty"`
	Handler  *snapshot.NativeFrame `json:"handler,omitempty"`
	// Native are the thread's native frames, innermost first, out to the
	// interpreter frame that runs its innermost Python frame (at most 16).
	Native []snapshot.NativeFrame `json:"native,omitempty"`
	// Frame is the index of the thread's innermost Python frame: the one
	// that called into the native code (null without Python frames). The
	// thread's frames are the Python stack that led there.
	Frame *int `json:"frame"`
}

// stackReach is how far from the stack pointer a fault still counts as the
// stack running out. On x86-64 a call or push faults 8 bytes below it; code
// that grows its frame first (sub rsp) faults above it, within the frame;
// compilers probe a big frame a page at a time below it
// (-fstack-clash-protection). A frame of CPython's eval loop is a few
// hundred bytes; 64 KiB covers a frame with a big local buffer.
const stackReach = 64 << 10

// nearStackPointer says whether the fault address is within stackReach of
// the stack pointer.
func nearStackPointer(addr, sp uint64) bool {
	if addr < sp {
		return sp-addr <= stackReach
	}
	return addr-sp <= stackReach
}

func crash(s *snapshot.Snapshot) (Finding, bool) {
	sig := s.Target.Signal
	if sig == nil || !s.Target.Crashed() {
		return Finding{}, false
	}
	d := &CrashDetails{Signal: sig.Name, Number: sig.Number, Code: sig.Code, CodeName: codeName(sig.Number, sig.Code),
		Addr: sig.Addr, Sender: sig.Sender, Cause: CauseFault, Thread: sig.TID}
	if sig.Number == snapshot.SIGSEGV && sig.Addr != nil && (sig.Code == segvMapErr || sig.Code == segvAccErr) {
		d.NullPointer = *sig.Addr < nullPage
		d.SP = sig.SP
		d.StackOverflow = !d.NullPointer && sig.SP != nil && nearStackPointer(uint64(*sig.Addr), uint64(*sig.SP))
	}
	if sig.Number == snapshot.SIGABRT {
		d.Cause = CauseAbort
	}
	f := Finding{Kind: Crash, Severity: Error, Threads: []int{}, Objects: []string{}, Details: d}
	var t *snapshot.Thread
	for i := range s.Threads {
		if s.Threads[i].TID == sig.TID {
			t = &s.Threads[i]
		}
	}
	if t == nil {
		d.raisedByItself()
		return f, true
	}
	d.PythonThread = true
	f.Threads = []int{t.TID}
	if len(t.Frames) > 0 {
		zero := 0
		d.Frame = &zero
	}
	d.Native = nativeCall(t)
	d.Via = callVia(d.Native)
	at := crashFrame(d, t)
	if at >= 0 && at < len(t.Native) {
		fn := t.Native[at]
		d.Function = &fn
	} else if at == 0 && t.Innermost != nil {
		fn := *t.Innermost
		d.Function = &fn
	}
	if d.Function != nil {
		d.Module = moduleKind(s, d.Function)
	}
	d.raisedByItself()
	return f, true
}

// raisedByItself makes a fault signal the process sent itself (tgkill(),
// kill()) the cause, unless a handler raised it again after a real fault.
func (d *CrashDetails) raisedByItself() {
	if d.Cause == CauseFault && !d.Reraised && (d.Code == snapshot.SITKill || d.Code == snapshot.SIUser) {
		d.Cause = CauseRaised
	}
}

// raiseFunctions are the C library's functions between a raised signal and
// the code that raised it: abort() calls raise(), which calls pthread_kill()
// (glibc 2.34+: __pthread_kill_implementation, static, unnamed without
// libc's symbols).
var raiseFunctions = map[string]bool{
	"abort": true, "__GI_abort": true, "__libc_abort": true,
	"raise": true, "gsignal": true, "__GI_raise": true, "__libc_raise": true,
	"pthread_kill": true, "__pthread_kill": true, "__pthread_kill_implementation": true,
	"__pthread_kill_internal": true, "__GI___pthread_kill": true, "tgkill": true,
}

// fatalErrorFunctions are CPython's fatal-error path (3.8–3.14): each ends
// in abort(). Static ones are named only where the build keeps .symtab.
var fatalErrorFunctions = map[string]bool{
	"Py_FatalError": true, "_Py_FatalErrorFunc": true, "_Py_FatalErrorFormat": true,
	"_Py_FatalError_TstateNULL": true, "_Py_FatalRefcountErrorFunc": true, "_PyObject_AssertFailed": true,
	"fatal_error": true, "fatal_error_exit": true,
}

// maxRaiseDepth bounds how deep in a stack the raise machinery is looked for.
const maxRaiseDepth = 8

// crashFrame returns the index, in the thread's native frames, of the frame
// the crash is charged to, and sets the cause and handler: for a signal the
// process raised (abort(), raise()), the caller of the C library's raise
// functions, past CPython's fatal-error functions when they are there; for
// a fault a handler caught and raised again, the frame the signal
// interrupted; else the innermost frame.
func crashFrame(d *CrashDetails, t *snapshot.Thread) int {
	nat := t.Native
	if d.Code != snapshot.SITKill || len(nat) == 0 {
		return 0
	}
	for i := 0; i < len(nat) && i < maxCall; i++ {
		if nat[i].SignalFrame && i+1 < len(nat) {
			// A handler ran on this thread and raised the signal again: the
			// crash is where the first signal interrupted it.
			if h, ok := handlerFrame(nat[:i]); ok {
				d.Handler = &h
			}
			if d.Number == snapshot.SIGABRT {
				break // abort() called from a signal handler: charge the caller below
			}
			d.Reraised = true
			d.savedFault(nat[i].Interrupted, &nat[i+1])
			return i + 1
		}
	}
	last := -1
	for i := 0; i < len(nat) && i < maxRaiseDepth; i++ {
		if raiseFunctions[baseSymbol(nat[i].Symbol)] {
			last = i
		}
	}
	at := last + 1
	if at >= len(nat) {
		return 0
	}
	for i := at; i < len(nat) && i < at+maxRaiseDepth; i++ {
		if fatalErrorFunctions[nat[i].Symbol] || fatalErrorFunctions[baseSymbol(nat[i].Symbol)] {
			d.Cause = CauseFatalError
			at = i + 1
		}
	}
	if at >= len(nat) {
		at = len(nat) - 1
	}
	return at
}

// The x86-64 exception vectors (trapno) that raise the fault signals
// (arch/x86/include/asm/trapnr.h, and the signal each raises in
// arch/x86/kernel/traps.c and arch/x86/mm/fault.c).
const (
	trapDivide      = 0  // SIGFPE
	trapInvalidOp   = 6  // SIGILL
	trapStackSeg    = 12 // SIGBUS
	trapGeneralProt = 13 // SIGSEGV, no address
	trapPageFault   = 14 // SIGSEGV, SIGBUS (a file mapping's page beyond its end); cr2 is the address
	trapFloat       = 16 // SIGFPE
	trapAlignment   = 17 // SIGBUS
	trapSIMDFloat   = 19 // SIGFPE
)

// faultTraps are the vectors that raise each fault signal.
var faultTraps = map[int][]int{
	snapshot.SIGSEGV: {trapGeneralProt, trapPageFault},
	snapshot.SIGBUS:  {trapStackSeg, trapPageFault, trapAlignment},
	snapshot.SIGFPE:  {trapDivide, trapFloat, trapSIMDFloat},
	snapshot.SIGILL:  {trapInvalidOp},
}

// savedFault takes the fault from the context a handler's signal frame
// saved (c, nil when unread), the frame it interrupted being at: the core
// records only the signal the handler raised again. The kernel leaves the
// thread's last fault there, so it is this signal's only when its vector
// raises this signal and the interrupted frame is not itself raising a
// signal (a handler that caught a raise() has nothing to tell).
func (d *CrashDetails) savedFault(c *snapshot.SignalContext, at *snapshot.NativeFrame) {
	if c == nil || !slices.Contains(faultTraps[d.Number], c.Trap) || raiseFunctions[baseSymbol(at.Symbol)] {
		return
	}
	sp := c.SP
	d.SP = &sp
	if c.Trap != trapPageFault {
		return // the CPU reports no address for the others
	}
	addr := c.FaultAddr
	d.Addr = &addr
	if d.Number == snapshot.SIGSEGV {
		d.NullPointer = addr < nullPage
		d.StackOverflow = !d.NullPointer && nearStackPointer(uint64(addr), uint64(sp))
	}
}

// handlerFrame is the signal handler among the frames above a signal
// trampoline: the outermost one not of the raise machinery.
func handlerFrame(above []snapshot.NativeFrame) (snapshot.NativeFrame, bool) {
	for i := len(above) - 1; i >= 0; i-- {
		if !raiseFunctions[baseSymbol(above[i].Symbol)] {
			return above[i], true
		}
	}
	return snapshot.NativeFrame{}, false
}

// si_code values of the fault signals (asm-generic/siginfo.h).
const (
	segvMapErr = 1
	segvAccErr = 2
)

// codeNames name si_code values by signal; the negative and 0x80 codes
// are any signal's.
var codeNames = map[int]map[int]string{
	snapshot.SIGSEGV: {1: "SEGV_MAPERR", 2: "SEGV_ACCERR", 3: "SEGV_BNDERR", 4: "SEGV_PKUERR"},
	snapshot.SIGBUS:  {1: "BUS_ADRALN", 2: "BUS_ADRERR", 3: "BUS_OBJERR", 4: "BUS_MCEERR_AR", 5: "BUS_MCEERR_AO"},
	snapshot.SIGILL: {1: "ILL_ILLOPC", 2: "ILL_ILLOPN", 3: "ILL_ILLADR", 4: "ILL_ILLTRP", 5: "ILL_PRVOPC",
		6: "ILL_PRVREG", 7: "ILL_COPROC", 8: "ILL_BADSTK"},
	snapshot.SIGFPE: {1: "FPE_INTDIV", 2: "FPE_INTOVF", 3: "FPE_FLTDIV", 4: "FPE_FLTOVF", 5: "FPE_FLTUND",
		6: "FPE_FLTRES", 7: "FPE_FLTINV", 8: "FPE_FLTSUB"},
	snapshot.SIGTRAP: {1: "TRAP_BRKPT", 2: "TRAP_TRACE", 3: "TRAP_BRANCH", 4: "TRAP_HWBKPT"},
	snapshot.SIGSYS:  {1: "SYS_SECCOMP"},
}

var anyCodeNames = map[int]string{0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
	-4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL"}

func codeName(signo, code int) string {
	if n, ok := anyCodeNames[code]; ok {
		return n
	}
	return codeNames[signo][code]
}
