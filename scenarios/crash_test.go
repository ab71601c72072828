package scenarios

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// crashWays are the ways testprogs/crash_in_process.py stops itself.
var crashWays = []string{"abort-thread", "fatal-error", "faulthandler-segv", "faulthandler-null-call", "raise-segv", "stack-overflow"}

// crashExpect is the expect object of crash_in_process.py's ready file.
type crashExpect struct {
	Signal         string `json:"signal"`
	Cause          string `json:"cause"`
	Thread         string `json:"thread"`
	Via            string `json:"via"`
	Handler        string `json:"handler"`
	NativeFunction string `json:"native_function"`
	PythonFunction string `json:"python_function"`
	PythonLine     int    `json:"python_line"`
	StackOverflow  bool   `json:"stack_overflow"`
	// NullPointer: the fault a handler raised again was at a NULL pointer.
	NullPointer bool `json:"null_pointer"`
	// Skip says why the program does not crash this way on this Python.
	Skip string `json:"skip"`
}

// crashFinding is the part of a crash finding's details the tests read.
type crashFinding struct {
	Signal      string  `json:"signal"`
	Code        int     `json:"code"`
	CodeName    string  `json:"code_name"`
	Addr        *string `json:"addr"`
	NullPointer bool    `json:"null_pointer"`
	Overflow    bool    `json:"stack_overflow"`
	SP          *string `json:"sp"`
	SenderPID   int     `json:"sender_pid"`
	Cause       string  `json:"cause"`
	Thread      int     `json:"thread"`
	Python      bool    `json:"python_thread"`
	Function    *struct {
		Symbol string `json:"symbol"`
		Module string `json:"module"`
	} `json:"function"`
	Module   string `json:"module"`
	Via      string `json:"via"`
	Reraised bool   `json:"reraised"`
	Native   []struct {
		Symbol      string `json:"symbol"`
		SignalFrame bool   `json:"signal_frame"`
	} `json:"native"`
	Frame *int `json:"frame"`
}

// onlyCrash returns the one problem of a diagnosis, which must be a crash,
// and its details.
func onlyCrash(t *testing.T, d *diagnosis) crashFinding {
	t.Helper()
	ps := d.problems()
	if len(ps) != 1 || d.Findings[ps[0]].Kind != "crash" || d.Findings[ps[0]].Severity != "error" {
		t.Fatalf("want exactly one problem, a crash (error); got %+v", d.Findings)
	}
	f := d.Findings[ps[0]]
	if ps[0] != 0 {
		t.Errorf("the crash is finding %d, want it first", ps[0])
	}
	var c crashFinding
	if err := json.Unmarshal(f.Details, &c); err != nil {
		t.Fatalf("crash details: %v", err)
	}
	t.Logf("%s", f.Summary)
	for _, e := range f.Evidence {
		t.Logf("  - %s", e)
	}
	return c
}

// TestCrashes runs crash_in_process.py each way under every interpreter,
// lets it stop itself (abort() in a thread, a Py_FatalError, a fault that
// faulthandler raises again) and checks the crash finding from the kernel's
// core: the cause, the thread, the Python frame of the fatal call.
func TestCrashes(t *testing.T) {
	ins := testinterp.All(t)
	for _, how := range crashWays {
		t.Run(how, func(t *testing.T) {
			for _, in := range ins {
				t.Run(in.Name, func(t *testing.T) {
					t.Parallel()
					s, raw := testinterp.Start(t, in, filepath.Join("..", "testprogs", "crash_in_process.py"), "--how", how)
					var r struct {
						Expect crashExpect `json:"expect"`
					}
					if err := json.Unmarshal(raw, &r); err != nil {
						t.Fatalf("ready file: %v", err)
					}
					want := r.Expect
					if want.Skip != "" {
						t.Skip(want.Skip)
					}
					core, sig, ok := testinterp.CrashCore(t, s)
					if sig != signalNamed(want.Signal) {
						t.Errorf("the program died of %v, want %s", sig, want.Signal)
					}
					if !ok {
						t.Skip("the kernel wrote no core file on this machine (reason logged above)")
					}
					checkCrashCore(t, core, s.PID, want)
				})
			}
		})
	}
}

func signalNamed(name string) syscall.Signal {
	switch name {
	case "SIGABRT":
		return syscall.SIGABRT
	case "SIGSEGV":
		return syscall.SIGSEGV
	}
	return 0
}

func checkCrashCore(t *testing.T, core string, pid int, want crashExpect) {
	t.Helper()
	res := runPyhang(t, "diagnose", core, "--format", "json")
	if res.code != 3 {
		t.Errorf("exit %d, want 3 (a crash is a problem)\n%v", res.code, res)
	}
	var d diagnosis
	if err := json.Unmarshal(res.stdout, &d); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", res, err)
	}
	d.checkRefs(t)
	c := onlyCrash(t, &d)
	if c.Signal != want.Signal || c.Cause != want.Cause {
		t.Errorf("crash %s, cause %s; want %s, %s", c.Signal, c.Cause, want.Signal, want.Cause)
	}
	switch {
	case want.StackOverflow:
		// The kernel raised it, at an address beside the stack pointer.
		if c.Addr == nil || c.SP == nil || !c.Overflow || c.NullPointer || c.SenderPID != 0 {
			t.Errorf("address %v, sp %v, stack overflow %v, null pointer %v, sender %d: want a stack overflow the kernel raised",
				c.Addr, c.SP, c.Overflow, c.NullPointer, c.SenderPID)
		}
	case c.CodeName != "SI_TKILL" || c.SenderPID != pid:
		// The process raised it itself, with tgkill.
		t.Errorf("si_code %d %s, sender %d: want SI_TKILL from pid %d", c.Code, c.CodeName, c.SenderPID, pid)
	case want.Handler != "":
		// The handler raised it again; its signal frame saved the fault.
		if c.Addr == nil || c.NullPointer != want.NullPointer || c.Overflow {
			t.Errorf("address %v, null pointer %v, stack overflow %v: want the fault the signal frame saved, null pointer %v",
				c.Addr, c.NullPointer, c.Overflow, want.NullPointer)
		}
	case c.Addr != nil || c.NullPointer || c.Overflow:
		t.Errorf("address %v, null pointer %v: want none, no fault", c.Addr, c.NullPointer)
	}
	i := threadNamed(&d, want.Thread)
	if i < 0 || c.Thread != d.Threads[i].TID || !c.Python {
		t.Fatalf("the crash names thread %d (python %v), want %s", c.Thread, c.Python, want.Thread)
	}
	frames := d.Threads[i].Frames
	if c.Frame == nil || *c.Frame != 0 || len(frames) == 0 || frames[0].Function != want.PythonFunction || frames[0].Line != want.PythonLine {
		// faulthandler-segv: ctypes.string_at is a Python function; the
		// program's own frame is the one below it.
		if !(want.Handler != "" && len(frames) > 1 && frames[1].Function == want.PythonFunction && frames[1].Line == want.PythonLine) {
			t.Errorf("the crash's Python frame: %v of %+v, want %s at line %d", c.Frame, frames, want.PythonFunction, want.PythonLine)
		}
	}
	if want.Via != "" && c.Via != want.Via {
		t.Errorf("via %q, want %q", c.Via, want.Via)
	}
	if c.Function == nil {
		t.Fatalf("no function named: %+v", c)
	}
	var stack []string
	for _, f := range c.Native {
		stack = append(stack, f.Symbol)
	}
	switch want.Cause {
	case "abort":
		// os.abort() is os_abort, static: named where the build keeps .symtab.
		if c.Module != "interpreter" || !slices.Contains([]string{"os_abort", ""}, c.Function.Symbol) {
			t.Errorf("abort() called from %+v (%s), want os_abort in the interpreter; stack %q", c.Function, c.Module, stack)
		}
		if !slices.Contains(stack, "abort") {
			t.Errorf("the native stack %q has no abort", stack)
		}
	case "fatal-error":
		if !slices.Contains(stack, "Py_FatalError") && !slices.Contains(stack, "_Py_FatalErrorFunc") {
			t.Errorf("the native stack %q has no Py_FatalError", stack)
		}
	case "raised":
		// signal.raise_signal() is signal_raise_signal, static: named
		// where the build keeps .symtab.
		if c.Reraised || c.Module != "interpreter" || !slices.Contains([]string{"signal_raise_signal", ""}, c.Function.Symbol) {
			t.Errorf("raised from %+v (%s), reraised %v; want signal_raise_signal in the interpreter, not a re-raise; stack %q", c.Function, c.Module, c.Reraised, stack)
		}
	case "fault":
		if want.Handler == "" {
			break
		}
		signal := slices.IndexFunc(c.Native, func(f struct {
			Symbol      string `json:"symbol"`
			SignalFrame bool   `json:"signal_frame"`
		}) bool {
			return f.SignalFrame
		})
		if !c.Reraised || signal < 0 {
			t.Errorf("reraised %v, signal frame at %d of %q: want faulthandler's re-raise over a signal frame", c.Reraised, signal, stack)
		}
		if want.NativeFunction == "" {
			// A call through a NULL function pointer: the pc is 0, in no file.
			if c.Function.Symbol != "" || c.Function.Module != "" {
				t.Errorf("the fault is charged to %+v, want address 0 (the frame the signal interrupted); stack %q", c.Function, stack)
			}
			break
		}
		// strlen's CPU-specific versions (__strlen_avx2 …) are local
		// symbols: named only where libc keeps them.
		if !strings.Contains(c.Function.Symbol, want.NativeFunction) && c.Function.Symbol != "" || !strings.HasPrefix(c.Function.Module, "libc.so") {
			t.Errorf("the fault is charged to %+v, want %s in libc (the frame the signal interrupted); stack %q", c.Function, want.NativeFunction, stack)
		}
	}
	if len(d.Findings) != 1 {
		t.Errorf("findings besides the crash: %+v", d.Findings)
	}
}
