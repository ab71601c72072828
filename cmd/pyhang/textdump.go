package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/internal/safetext"
	"github.com/pyhang/pyhang/snapshot"
)

// esc escapes a string from the target for the terminal.
var esc = safetext.Escape

// writeDump prints every thread the way gdb's py-bt prints one.
func writeDump(w io.Writer, s *snapshot.Snapshot) {
	writeHeader(w, s)
	for _, t := range s.Threads {
		fmt.Fprintln(w)
		writeThread(w, &t)
	}
	writeLoops(w, s)
}

func writeHeader(w io.Writer, s *snapshot.Snapshot) {
	t := s.Target
	if t.Kind == "core" && t.Core != nil {
		fmt.Fprintf(w, "Core %s of process %d (Python %s, %s)\n", esc(*t.Core), t.PID, esc(t.Python), esc(t.Executable))
	} else {
		fmt.Fprintf(w, "Process %d (Python %s, %s)", t.PID, esc(t.Python), esc(t.Executable))
		if t.PausedMS != nil {
			fmt.Fprintf(w, ", paused %.1f ms", *t.PausedMS)
		}
		fmt.Fprintln(w)
	}
	if sig := t.Signal; sig != nil {
		fmt.Fprintf(w, "Killed by %s (code %d", sig.Name, sig.Code)
		switch {
		case sig.Addr != nil:
			fmt.Fprintf(w, ", address %s", *sig.Addr)
		case sig.Sender == t.PID && sig.Sender != 0:
			fmt.Fprintf(w, ", raised by the process itself")
		case sig.Sender != 0:
			fmt.Fprintf(w, ", sent by pid %d", sig.Sender)
		}
		fmt.Fprintf(w, ") in thread %d\n", sig.TID)
	}
	for _, warn := range t.Warnings {
		fmt.Fprintf(w, "warning: %s\n", esc(warn))
	}
}

// threadTitle is `Thread 4355 "posting" (ident 140123…)`. The ident is in
// decimal, as threading.get_ident() and logging's %(thread)d print it.
func threadTitle(t *snapshot.Thread) string {
	name := t.Name
	if name == "" {
		name = "?"
	}
	return fmt.Sprintf("Thread %d \"%s\" (ident %d)", t.TID, esc(name), t.Ident)
}

func writeThread(w io.Writer, t *snapshot.Thread) {
	fmt.Fprintf(w, "%s — %s, GIL %s\n", threadTitle(t), describeState(t), t.GIL)
	if len(t.Native) > 0 || t.NativeEnd != "" {
		writeMixedStack(w, t)
		return
	}
	if len(t.Frames) == 0 {
		fmt.Fprintln(w, "  (no Python frames)")
		return
	}
	fmt.Fprintln(w, "Traceback (most recent call first):")
	writeFrames(w, t.Frames, "  ")
}

// writeFrames prints frames the way a Python traceback does.
func writeFrames(w io.Writer, frames []snapshot.Frame, indent string) {
	for _, f := range frames {
		fn := f.Qualname
		if fn == "" {
			fn = f.Function
		}
		fmt.Fprintf(w, "%sFile \"%s\", line %d, in %s\n", indent, esc(f.File), f.Line, esc(fn))
		if f.Source != "" {
			fmt.Fprintf(w, "%s  %s\n", indent, esc(f.Source))
		}
		if sh := f.SignalHandler; sh != nil {
			fmt.Fprintf(w, "    (a %s handler: it interrupted the frame below)\n", esc(sh.Name))
		}
		if len(f.Locals) > 0 {
			names := make([]string, 0, len(f.Locals))
			for n := range f.Locals {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(w, "%s    %s = %s\n", indent, esc(n), esc(f.Locals[n]))
			}
		}
	}
}

// describeState says what the kernel says the thread does.
func describeState(t *snapshot.Thread) string {
	k := t.Kernel
	parts := []string{t.State}
	if k != nil && k.Syscall != "" {
		s := "in " + k.Syscall
		if k.Futex != 0 {
			s += " " + k.Futex.String()
		}
		if k.FD != nil {
			s += fmt.Sprintf(" on fd %d", *k.FD)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
