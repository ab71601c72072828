package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// writeMixedStack prints a thread's native stack as gdb's bt does, each
// interpreter frame followed by the Python frames it runs (innermost first),
// then the Python frames that could not be placed.
func writeMixedStack(w io.Writer, t *snapshot.Thread) {
	byNative := map[int][]*snapshot.Frame{}
	var unplaced []*snapshot.Frame
	for i := range t.Frames {
		f := &t.Frames[i]
		if f.Native != nil && *f.Native >= 0 && *f.Native < len(t.Native) {
			byNative[*f.Native] = append(byNative[*f.Native], f)
		} else {
			unplaced = append(unplaced, f)
		}
	}
	for i, nf := range t.Native {
		fmt.Fprintf(w, "  #%-3d %s\n", i, nativeLine(&nf))
		for _, f := range byNative[i] {
			writePyFrame(w, f, "        ")
		}
	}
	if t.NativeEnd != "" {
		fmt.Fprintf(w, "  (native stack ends here: %s)\n", esc(t.NativeEnd))
	}
	if len(unplaced) > 0 {
		fmt.Fprintln(w, "  Python frames not placed on the native stack (most recent call first):")
		for _, f := range unplaced {
			writePyFrame(w, f, "    ")
		}
	}
}

// nativeLine is one native frame: "0x7f… in sem_clockwait+0x8b (libc.so.6)",
// with " at file:line" when the module has DWARF.
func nativeLine(nf *snapshot.NativeFrame) string {
	fn := "??"
	if nf.Symbol != "" {
		fn = fmt.Sprintf("%s+%#x", esc(nf.Symbol), nf.Offset)
	}
	where := ""
	switch {
	case nf.Module != "" && nf.Symbol == "":
		where = fmt.Sprintf(" (%s+%#x)", esc(nf.Module), nf.Offset)
	case nf.Module != "":
		where = fmt.Sprintf(" (%s)", esc(nf.Module))
	}
	line := ""
	if nf.File != "" {
		line = fmt.Sprintf(" at %s:%d", esc(nf.File), nf.Line)
	}
	if nf.SignalFrame {
		where += " <signal handler called>"
	}
	return fmt.Sprintf("%18s in %s%s%s", nf.PC, fn, line, where)
}

// writePyFrame prints one Python frame the way a traceback does.
func writePyFrame(w io.Writer, f *snapshot.Frame, indent string) {
	fn := f.Qualname
	if fn == "" {
		fn = f.Function
	}
	fmt.Fprintf(w, "%sFile \"%s\", line %d, in %s\n", indent, esc(f.File), f.Line, esc(fn))
	if f.Source != "" {
		fmt.Fprintf(w, "%s  %s\n", indent, esc(f.Source))
	}
	writeLocals(w, f.Locals, indent)
}

// maxChain bounds the native frames nativeChain quotes.
const maxChain = 12

// nativeChain is the C part of a thread's wait (with --native): its native
// frames from the innermost to the first interpreter frame that runs a Python
// frame, "sem_clockwait (libc.so.6) ← PyThread_acquire_lock_timed
// (libpython3.12.so.1.0) ← …", each module named where it changes.
func nativeChain(t *snapshot.Thread) string {
	if len(t.Native) == 0 {
		return ""
	}
	runs := map[int]bool{}
	for _, f := range t.Frames {
		if f.Native != nil {
			runs[*f.Native] = true
		}
	}
	var parts []string
	module := ""
	for i := range t.Native {
		nf := &t.Native[i]
		if i == maxChain {
			parts = append(parts, "…")
			break
		}
		name := esc(nf.Symbol)
		if name == "" {
			name = fmt.Sprintf("?? (%s+%#x)", esc(nf.Module), nf.Offset)
		} else if nf.Module != module {
			name += " (" + esc(nf.Module) + ")"
		}
		if nf.SignalFrame {
			name += " <signal handler called>"
		}
		module = nf.Module
		parts = append(parts, name)
		if runs[i] {
			break
		}
	}
	return strings.Join(parts, " ← ")
}
