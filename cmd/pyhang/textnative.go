package main

import (
	"fmt"
	"io"
	"sort"

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
