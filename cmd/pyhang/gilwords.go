package main

import (
	"fmt"

	"github.com/pyhang/pyhang/heuristics"
)

func (w *words) gilHeldSummary(d *heuristics.GILHeldDetails) string {
	where := ""
	switch {
	case d.Function != nil && d.Syscall != "" && d.Function.Symbol == d.Syscall && d.Function.Module != "":
		where = " (" + w.esc(d.Function.Module) + ")"
	case d.Function != nil:
		where = " (in " + w.function(d.Function) + ")"
	}
	if d.Via != "" {
		where += ", called through " + d.Via
	}
	if d.Frame != nil {
		where += " from " + w.frameAt(d.Holder, *d.Frame)
	}
	fix := "release the GIL around blocking C calls (Py_BEGIN_ALLOW_THREADS in a C extension; ctypes.CDLL, not PyDLL, for a C function that blocks)"
	if d.Via == heuristics.ViaCtypes {
		fix = "call that function through ctypes.CDLL, which releases the GIL during the call, not ctypes.PyDLL (or pythonapi), which keeps it"
	}
	if d.KeptFor > 0 {
		return w.gilKeptSummary(d, where)
	}
	if d.Timed {
		return fmt.Sprintf("GIL held in native code: %s holds the GIL while it waits in %s()%s, with a timeout, and %s for the GIL until it returns — %s",
			w.threadLabel(d.Holder), w.esc(d.Syscall), where, threadsWait(len(d.Waiters)), fix)
	}
	stalled := "so no other thread can run Python"
	if n := len(d.Waiters); n > 0 {
		stalled += fmt.Sprintf(" (%s for the GIL)", threadsWait(n))
	}
	return fmt.Sprintf("GIL held in native code: %s holds the GIL while blocked in %s()%s, which has no timeout, %s — %s",
		w.threadLabel(d.Holder), w.esc(d.Syscall), where, stalled, fix)
}

// gilKeptSummary is the summary of a GIL that a watch saw stay with a
// holder that runs (or sits in a call pyhang does not know as blocking).
func (w *words) gilKeptSummary(d *heuristics.GILHeldDetails, where string) string {
	doing := "runs native code"
	if !d.Running && d.Syscall != "" {
		doing = "is in native code, in " + w.esc(d.Syscall) + "()"
	}
	return fmt.Sprintf("GIL held in native code: %s holds the GIL and %s%s; it did not let the GIL go in the %.2f s pyhang watched, while %s for it, so no other thread can run Python until that call returns — release the GIL around long C work (Py_BEGIN_ALLOW_THREADS in a C extension, ctypes.CDLL rather than PyDLL), or bound the work (a regular expression that can backtrack without end, a huge input)",
		w.threadLabel(d.Holder), doing, where, d.KeptFor, threadsWait(len(d.Waiters)))
}

func (w *words) gilHeldEvidence(d *heuristics.GILHeldDetails) []string {
	timeout := "without a timeout"
	if d.Timed {
		timeout = "with a timeout"
	}
	out := []string{fmt.Sprintf("the interpreter's GIL state names %s as the holder, and the kernel shows it blocked in the system call %s(), %s: it is in native code that did not release the GIL (the interpreter releases it around the blocking calls it makes itself)",
		w.threadLabel(d.Holder), w.esc(d.Syscall), timeout)}
	if d.KeptFor > 0 {
		state := "running on a CPU"
		if !d.Running {
			state = "not blocked in a call pyhang knows as blocking"
		}
		out = []string{fmt.Sprintf("the interpreter's GIL state names %s as the holder, %s; read again after the snapshot without stopping the process, the GIL stayed locked and never changed hands (its switch count did not move) for %.2f s, while a thread the snapshot saw waiting for it still waited: a waiter asks the holder to let go every switch interval, and code that runs Python does",
			w.threadLabel(d.Holder), state, d.KeptFor)}
	}
	switch {
	case len(d.Native) > 1:
		out = append(out, "its native stack: "+w.chain(d.Native))
	case d.Function != nil:
		out = append(out, fmt.Sprintf("its program counter is in %s (--native shows the whole native stack)", w.frameOffset(d.Function)))
	}
	if d.Frame != nil {
		out = append(out, "its Python frame that made the call: "+w.frameAt(d.Holder, *d.Frame))
	}
	if len(d.Waiters) > 0 {
		out = append(out, fmt.Sprintf("%s for the GIL (in a futex on its condition variable)", w.whoWait(d.Waiters)))
	}
	if len(d.Others) > 0 && !d.Timed {
		out = append(out, fmt.Sprintf("%s cannot run Python either once %s", w.threadList(d.Others), whenOwnWaitEnds(len(d.Others))))
	}
	return out
}

// whenOwnWaitEnds agrees "its own wait ends" with the number of threads.
func whenOwnWaitEnds(n int) string {
	if n == 1 {
		return "its own wait ends"
	}
	return "their own waits end"
}
