package heuristics

import (
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// TestCrashTalkCore: the kernel's core of the talk's ctypes example
// (RSA_size(NULL) through ctypes, pyenv 3.12.1): one crash finding, first,
// naming the NULL dereference, RSA_size in libcrypto, ctypes and the frame.
func TestCrashTalkCore(t *testing.T) {
	s, _, fs := run(t, "kernel-core-talk_ctypes_crash")
	if len(fs) != 1 || fs[0].Kind != Crash || fs[0].Severity != Error {
		t.Fatalf("findings %+v, want one crash", fs)
	}
	d := fs[0].Details.(*CrashDetails)
	if d.Signal != "SIGSEGV" || d.CodeName != "SEGV_MAPERR" || d.Addr == nil || *d.Addr != 0x28 || !d.NullPointer || d.Cause != CauseFault {
		t.Errorf("signal %s %s at %v null %v cause %s", d.Signal, d.CodeName, d.Addr, d.NullPointer, d.Cause)
	}
	if d.Function == nil || d.Function.Symbol != "RSA_size" || d.Function.Module != "libcrypto.so.3" || d.Module != ModuleLibrary {
		t.Errorf("function %+v (%s), want RSA_size in libcrypto.so.3", d.Function, d.Module)
	}
	if d.Via != ViaCtypes || d.Frame == nil || *d.Frame != 0 || !d.PythonThread || d.Thread != s.Target.Signal.TID {
		t.Errorf("via %q frame %v python %v thread %d", d.Via, d.Frame, d.PythonThread, d.Thread)
	}
	if n := len(d.Native); n < 2 || baseSymbol(d.Native[n-1].Symbol) != evalLoop {
		t.Errorf("native %+v should end at the interpreter loop", d.Native)
	}
	if th := threadByTID(s, d.Thread); th.Frames[0].Qualname != "RSAKey.private_encrypt" {
		t.Errorf("frame 0 is %+v", th.Frames[0])
	}
}

// crashSnapshot is one Python thread (tid 10) that took sig, with native
// frames named by symbol ("sym@module"; "@module" for no symbol).
func crashSnapshot(sig snapshot.Signal, native ...snapshot.NativeFrame) *snapshot.Snapshot {
	sig.TID = 10
	return &snapshot.Snapshot{
		Target: snapshot.TargetInfo{Kind: "core", PID: 10, Signal: &sig, Binary: "/usr/lib/libpython3.12.so.1.0"},
		Threads: []snapshot.Thread{{TID: 10, Main: true, State: snapshot.StateCrashed, GIL: snapshot.GILHeld, Native: native,
			Frames: []snapshot.Frame{{Function: "f", Qualname: "f", File: "/p.py", Line: 3}}}},
	}
}

func nf(sym, mod string) snapshot.NativeFrame { return snapshot.NativeFrame{Symbol: sym, Module: mod} }

func addr(a snapshot.Addr) *snapshot.Addr { return &a }

func TestCrashRules(t *testing.T) {
	libc, py := "libc.so.6", "libpython3.12.so.1.0"
	eval := nf("_PyEval_EvalFrameDefault", py)
	trampoline := nf("", libc)
	trampoline.SignalFrame = true
	for _, c := range []struct {
		name    string
		s       *snapshot.Snapshot
		crash   bool
		cause   string
		null    bool
		fn      string
		reraise bool
	}{
		{name: "kill -SEGV from outside", s: crashSnapshot(snapshot.Signal{Number: 11, Name: "SIGSEGV", Code: 0, Sender: 99})},
		{name: "kill -ABRT from outside", s: crashSnapshot(snapshot.Signal{Number: 6, Name: "SIGABRT", Code: 0, Sender: 99})},
		{name: "tgkill SIGABRT from another process", s: crashSnapshot(snapshot.Signal{Number: 6, Name: "SIGABRT", Code: -6, Sender: 99})},
		{name: "SIGTERM", s: crashSnapshot(snapshot.Signal{Number: 15, Name: "SIGTERM", Code: -6, Sender: 10})},
		{name: "NULL dereference", crash: true, cause: CauseFault, null: true, fn: "memcpy",
			s: crashSnapshot(snapshot.Signal{Number: 11, Name: "SIGSEGV", Code: 1, Addr: addr(0x10)}, nf("memcpy", libc), eval)},
		{name: "a wild pointer is no NULL", crash: true, cause: CauseFault, fn: "memcpy",
			s: crashSnapshot(snapshot.Signal{Number: 11, Name: "SIGSEGV", Code: 1, Addr: addr(0x1000)}, nf("memcpy", libc), eval)},
		// A general protection fault reports address 0, which says nothing.
		{name: "general protection fault", crash: true, cause: CauseFault, fn: "memcpy",
			s: crashSnapshot(snapshot.Signal{Number: 11, Name: "SIGSEGV", Code: 0x80, Addr: addr(0)}, nf("memcpy", libc), eval)},
		{name: "abort()", crash: true, cause: CauseAbort, fn: "os_abort",
			s: crashSnapshot(snapshot.Signal{Number: 6, Name: "SIGABRT", Code: -6, Sender: 10},
				nf("", libc), nf("raise", libc), nf("abort", libc), nf("os_abort", py), eval)},
		{name: "Py_FatalError", crash: true, cause: CauseFatalError, fn: "ext_call",
			s: crashSnapshot(snapshot.Signal{Number: 6, Name: "SIGABRT", Code: -6, Sender: 10},
				nf("__pthread_kill_implementation", libc), nf("raise", libc), nf("abort", libc),
				nf("fatal_error_exit", py), nf("fatal_error.constprop.0", py), nf("_Py_FatalErrorFunc", py), nf("ext_call", "ext.cpython-312-x86_64-linux-gnu.so"), eval)},
		{name: "faulthandler raised the fault again", crash: true, cause: CauseFault, fn: "strlen", reraise: true,
			s: crashSnapshot(snapshot.Signal{Number: 11, Name: "SIGSEGV", Code: -6, Sender: 10},
				nf("", libc), nf("raise", libc), trampoline, nf("strlen", libc), eval)},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := find(c.s)
			var crash *CrashDetails
			for _, f := range fs {
				if f.Kind == Crash {
					crash = f.Details.(*CrashDetails)
				}
			}
			if !c.crash {
				if crash != nil {
					t.Fatalf("a crash finding: %+v", crash)
				}
				return
			}
			if crash == nil || fs[0].Kind != Crash {
				t.Fatalf("findings %+v, want a crash first", fs)
			}
			if crash.Cause != c.cause || crash.NullPointer != c.null || crash.Reraised != c.reraise {
				t.Errorf("cause %s null %v reraised %v, want %s %v %v", crash.Cause, crash.NullPointer, crash.Reraised, c.cause, c.null, c.reraise)
			}
			if crash.Function == nil || crash.Function.Symbol != c.fn {
				t.Errorf("function %+v, want %s", crash.Function, c.fn)
			}
		})
	}
}

// TestCrashOutsidePython: a thread with no Python thread state took the
// signal: the crash is reported with its tid and no frame.
func TestCrashOutsidePython(t *testing.T) {
	s := crashSnapshot(snapshot.Signal{Number: 11, Name: "SIGSEGV", Code: 1, Addr: addr(8)})
	s.Target.Signal.TID = 77
	fs := find(s)
	if len(fs) != 1 || fs[0].Kind != Crash {
		t.Fatalf("findings %+v", fs)
	}
	d := fs[0].Details.(*CrashDetails)
	if d.PythonThread || d.Thread != 77 || d.Function != nil || d.Frame != nil || len(fs[0].Threads) != 0 {
		t.Errorf("%+v (threads %v)", d, fs[0].Threads)
	}
}
