package main

import (
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
		writeThread(w, &t, inheritedOSName(s))
	}
	writeLoops(w, s)
}

func writeHeader(w io.Writer, s *snapshot.Snapshot) {
	t := s.Target
	if t.Kind == "core" && t.Core != nil {
		fmt.Fprintf(w, "Core %s of process %d (Python %s, %s)\n", esc(*t.Core), t.PID, esc(t.Python), esc(t.Executable))
	} else {
		fmt.Fprintf(w, "Process %d (Python %s, %s)", t.PID, esc(t.Python), esc(t.Executable))
		switch {
		case t.Consistency == snapshot.ReadIdle:
			fmt.Fprint(w, ", not paused: no thread ran while it was read")
		case t.PausedMS != nil && *t.PausedMS == 0:
			fmt.Fprint(w, ", not paused") // --nonblocking
		case t.PausedMS != nil:
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
	writeInterpreterState(w, t)
	for _, warn := range t.Warnings {
		fmt.Fprintf(w, "warning: %s\n", esc(warn))
	}
}

// writeInterpreterState says what is unusual about the interpreters: that
// the runtime is shutting down, that a collection is running, that there
// are subinterpreters. Nothing for one interpreter going about its work.
func writeInterpreterState(w io.Writer, t snapshot.TargetInfo) {
	if f := t.Finalizing; f != nil {
		who := "a thread pyhang could not match"
		if f.TID != 0 {
			who = fmt.Sprintf("thread %d", f.TID)
		}
		fmt.Fprintf(w, "Shutting down: Py_FinalizeEx runs in %s\n", who)
	}
	if len(t.Interpreters) > 1 {
		var ids []string
		for _, in := range t.Interpreters {
			id := strconv.FormatInt(in.ID, 10)
			if in.Main {
				id += " (main)"
			}
			ids = append(ids, id)
		}
		fmt.Fprintf(w, "Interpreters: %s\n", strings.Join(ids, ", "))
	}
	for _, in := range t.Interpreters {
		if in.GC == nil || !in.GC.Collecting {
			continue
		}
		fmt.Fprintf(w, "A garbage collection is running in interpreter %d", in.ID)
		if in.GC.TID != 0 {
			fmt.Fprintf(w, ", in thread %d (%s)", in.GC.TID, in.GC.Basis)
		}
		fmt.Fprintln(w)
	}
}

// inheritedOSName is the kernel's name a thread has unless it was given
// another: the process's own, which threads inherit from the thread that
// starts them. That is the main thread's name, and the executable's (cut
// to the kernel's 15 bytes) for threads started before the main thread
// renamed itself. Not the name most threads have: an interpreter that names
// every thread after its threading name (Debian's 3.14) leaves two threads
// renamed alike as the most common name.
func inheritedOSName(s *snapshot.Snapshot) []string {
	var names []string
	for i := range s.Threads {
		if t := &s.Threads[i]; t.Main && t.OSName != "" {
			names = append(names, t.OSName)
		}
	}
	if exe := path.Base(s.Target.Executable); s.Target.Executable != "" {
		names = append(names, exe[:min(len(exe), commLen)])
	}
	return names
}

// commLen is how many bytes of a name the kernel keeps (TASK_COMM_LEN less
// its NUL).
const commLen = 15

// threadTitle is `Thread 4355 "posting" (ident 140123…)`, with the kernel's
// name of the thread when it was given one (it differs from both the
// threading name and inherited, the names threads inherit), and the
// interpreter when it is not the main one. The ident is in decimal, as
// threading.get_ident() and logging's %(thread)d print it.
func threadTitle(t *snapshot.Thread, inherited []string) string {
	name := t.Name
	if name == "" {
		name = "?"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Thread %d \"%s\"", t.TID, esc(name))
	// A thread pyhang knows no Python name of is told by the kernel's.
	nameless := t.NoThreadState || t.StateLost
	if t.OSName != "" && t.OSName != t.Name && (!slices.Contains(inherited, t.OSName) || nameless) {
		fmt.Fprintf(&b, " [OS name \"%s\"]", esc(t.OSName))
	}
	if nameless {
		if t.StateLost {
			b.WriteString(" (Python thread state unreadable")
		} else {
			b.WriteString(" (no Python thread state")
		}
		if t.Ident != 0 {
			fmt.Fprintf(&b, ", pthread %#x", t.Ident)
		}
		b.WriteString(")")
		return b.String()
	}
	fmt.Fprintf(&b, " (ident %d", t.Ident)
	if in := t.Interpreter; in != nil && !in.Main {
		fmt.Fprintf(&b, ", subinterpreter %d", in.ID)
	}
	if t.Daemon != nil && *t.Daemon {
		b.WriteString(", daemon")
	}
	b.WriteString(")")
	return b.String()
}

func writeThread(w io.Writer, t *snapshot.Thread, inherited []string) {
	fmt.Fprintf(w, "%s — %s, GIL %s\n", threadTitle(t, inherited), describeState(t), t.GIL)
	if len(t.Native) > 0 || t.NativeEnd != "" {
		writeMixedStack(w, t)
		return
	}
	if len(t.Frames) == 0 {
		switch {
		case t.NoThreadState:
			fmt.Fprintln(w, "  (a thread without Python: no Python frames)")
		case t.StateLost:
			fmt.Fprintln(w, "  (its Python thread state may be among those the thread list lost: whether it runs Python, and what, is unknown)")
		case t.StackLost:
			fmt.Fprintln(w, "  (its Python frames could not be read: see the warnings above)")
		default:
			fmt.Fprintln(w, "  (no Python frames)")
		}
		return
	}
	fmt.Fprintln(w, "Traceback (most recent call first):")
	// A thread that runs code of several interpreters shows where each one's
	// frames begin.
	starts := map[int]snapshot.ThreadState{}
	if len(t.States) > 1 {
		at := 0
		for _, st := range t.States {
			starts[at] = st
			at += st.Frames
		}
	}
	// A run of cycles is cut within one interpreter's frames.
	same := func(x, y int) bool {
		_, sx := starts[x]
		_, sy := starts[y]
		return !sx && !sy && sameFrame(&t.Frames[x], &t.Frames[y])
	}
	reps := stackRepeats(len(t.Frames), same)
	// The lines are appended to one buffer, written when it fills: a dump
	// of 12,000 frames formatted line by line took 8 ms more.
	bp := lineBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	for i := 0; i < len(t.Frames); {
		period, show, cut := reps.elision(i)
		for end := i + max(show, 1); i < end; i++ {
			if st, ok := starts[i]; ok && st.Frames > 0 {
				b = fmt.Appendf(b, "  -- in %s%s:\n", interpreterName(st.Interpreter), stateName(st.Name))
			}
			b = appendFrame(b, &t.Frames[i], "  ")
		}
		if cut > 0 {
			b = appendElided(b, "  ", period, cut, i, false)
			i += cut
		}
		if len(b) > 48<<10 {
			w.Write(b)
			b = b[:0]
		}
	}
	w.Write(b)
	*bp = b[:0]
	lineBuffers.Put(bp)
}

// writeFrames prints frames the way a Python traceback does.
func writeFrames(w io.Writer, frames []snapshot.Frame, indent string) {
	for i := range frames {
		writeFrame(w, &frames[i], indent)
	}
}

func interpreterName(in snapshot.InterpreterRef) string {
	if in.Main {
		return "the main interpreter"
	}
	return fmt.Sprintf("subinterpreter %d", in.ID)
}

func stateName(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" (threading name there \"%s\")", esc(name))
}

// writeFrame prints one Python frame the way a traceback does.
func writeFrame(w io.Writer, f *snapshot.Frame, indent string) {
	w.Write(appendFrame(nil, f, indent))
}

// appendFrame appends what writeFrame prints to b.
func appendFrame(b []byte, f *snapshot.Frame, indent string) []byte {
	fn := f.Qualname
	if fn == "" {
		fn = f.Function
	}
	b = append(b, indent...)
	b = append(b, `File "`...)
	b = append(b, esc(f.File)...)
	b = append(b, `", line `...)
	b = strconv.AppendInt(b, int64(f.Line), 10)
	b = append(b, ", in "...)
	b = append(b, esc(fn)...)
	if note := lineNote(f.LineBasis); note != "" {
		b = append(b, " ("...)
		b = append(b, note...)
		b = append(b, ')')
	}
	b = append(b, '\n')
	if f.Source != "" {
		b = append(b, indent...)
		b = append(b, "  "...)
		b = append(b, esc(f.Source)...)
		b = append(b, '\n')
		line := len(b)
		b = append(b, indent...)
		b = append(b, "  "...)
		if marked := appendUnderline(b, f); len(marked) > len(b) {
			b = append(marked, '\n')
		} else {
			b = b[:line] // nothing to underline: no line
		}
	}
	if sh := f.SignalHandler; sh != nil {
		b = fmt.Appendf(b, "%s  (a %s handler: it interrupted the frame below)\n", indent, esc(sh.Name))
	}
	if len(f.LocalList) > 0 {
		for _, l := range f.LocalList {
			b = append(b, indent...)
			b = append(b, "    "...)
			b = append(b, esc(l.Name)...)
			b = append(b, argMark(l.Argument)...)
			b = append(b, " = "...)
			b = append(b, esc(l.Repr)...)
			b = append(b, cutNote(l.Cut)...)
			b = append(b, '\n')
		}
		return b
	}
	// A snapshot that did not record the locals' order: by name.
	for _, n := range slices.Sorted(maps.Keys(f.Locals)) {
		b = append(b, indent...)
		b = append(b, "    "...)
		b = append(b, esc(n)...)
		b = append(b, " = "...)
		b = append(b, esc(f.Locals[n])...)
		b = append(b, '\n')
	}
	return b
}

// lineNote says how a line was found when CPython reports none.
func lineNote(basis string) string {
	switch basis {
	case "loop-head":
		return "no line of its own: the jump back to this loop's head"
	case "previous-instruction":
		return "no line of its own: the statement before it"
	case "first-line":
		return "no line of its own: the function's first line"
	}
	return ""
}

func argMark(arg bool) string {
	if arg {
		return " (argument)"
	}
	return ""
}

// cutNote sums up what a repr left out.
func cutNote(c *snapshot.Cut) string {
	if c == nil {
		return ""
	}
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(c.Items, "items")
	add(c.Chars, "characters")
	add(c.Bytes, "bytes")
	add(c.Collapsed, "nested containers")
	if len(parts) == 0 {
		return ""
	}
	return "   [cut: " + strings.Join(parts, ", ") + "]"
}

// appendUnderline appends the marks under the columns of the instruction
// in the quoted source line, as tracebacks do (3.11+): carets under a call
// among several on the line; nothing when the position covers the whole
// statement on the line (a comment may follow it) or is unknown.
func appendUnderline(b []byte, f *snapshot.Frame) []byte {
	if f.Column == nil || f.EndColumn == nil || f.EndLine == nil {
		return b
	}
	src := f.Source
	start := *f.Column - f.SourceIndent
	end := *f.EndColumn - f.SourceIndent
	if *f.EndLine != f.Line {
		end = len(src) // a position over several lines: to this line's end
	}
	if start < 0 || end > len(src) || start >= end {
		return b
	}
	if rest := strings.TrimSpace(src[end:]); start == 0 && (rest == "" || strings.HasPrefix(rest, "#")) {
		return b // the whole statement: nothing to point at
	}
	// Columns are byte offsets; the carets go under characters.
	for range utf8.RuneCountInString(esc(src[:start])) {
		b = append(b, ' ')
	}
	for range utf8.RuneCountInString(esc(src[start:end])) {
		b = append(b, '^')
	}
	return b
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
		if k.CutShort {
			s += " (which the stop cut short, after part of its data)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}
