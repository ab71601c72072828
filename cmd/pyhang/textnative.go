package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pyhang/pyhang/snapshot"
)

// writeMixedStack prints a thread's native stack as gdb's bt does, each
// interpreter frame followed by the Python frames it runs (innermost first),
// then the Python frames that could not be placed. The lines are appended to
// one buffer, not formatted one by one: a --native dump of a big process has
// tens of thousands of them.
func writeMixedStack(w io.Writer, t *snapshot.Thread) {
	// The placed Python frames by native frame, each native frame's in the
	// order the thread lists them.
	var placed, unplaced []*snapshot.Frame
	for i := range t.Frames {
		f := &t.Frames[i]
		if f.Native != nil && *f.Native >= 0 && *f.Native < len(t.Native) {
			placed = append(placed, f)
		} else {
			unplaced = append(unplaced, f)
		}
	}
	slices.SortStableFunc(placed, func(a, b *snapshot.Frame) int { return cmp.Compare(*a.Native, *b.Native) })
	// One buffer for every thread: fresh memory costs a page fault a page.
	bp := lineBuffers.Get().(*[]byte)
	defer func() { lineBuffers.Put(bp) }()
	b := (*bp)[:0]
	defer func() { *bp = b[:0] }()
	at := placedAt(placed, len(t.Native))
	same := func(x, y int) bool {
		if t.Native[x].PC != t.Native[y].PC || t.Native[x].Module != t.Native[y].Module || at[x+1]-at[x] != at[y+1]-at[y] {
			return false
		}
		for k := range at[x+1] - at[x] {
			if !sameFrame(placed[at[x]+k], placed[at[y]+k]) {
				return false
			}
		}
		return true
	}
	reps := stackRepeats(len(t.Native), same)
	for i := 0; i < len(t.Native); {
		period, show, cut := reps.elision(i)
		for end := i + max(show, 1); i < end; i++ {
			b = append(b, "  #"...)
			n := len(b)
			b = strconv.AppendInt(b, int64(i), 10)
			for len(b)-n < 3 {
				b = append(b, ' ')
			}
			b = append(b, ' ')
			b = appendNativeLine(b, &t.Native[i])
			if i == 0 || t.Native[i-1].SignalFrame {
				b = appendStrayPC(b, &t.Native[i])
			}
			b = append(b, '\n')
			for k := at[i]; k < at[i+1]; k++ {
				b = appendFrame(b, placed[k], "        ")
			}
		}
		if cut > 0 {
			b = appendElided(b, "  ", period, cut, i, true)
			i += cut
		}
		if len(b) > 48<<10 {
			w.Write(b)
			b = b[:0]
		}
	}
	w.Write(b)
	if t.NativeEnd != "" {
		fmt.Fprintf(w, "  (native stack ends here: %s)\n", esc(t.NativeEnd))
	}
	if len(unplaced) > 0 {
		fmt.Fprintln(w, "  Python frames not placed on the native stack (most recent call first):")
		same := func(x, y int) bool { return sameFrame(unplaced[x], unplaced[y]) }
		reps := stackRepeats(len(unplaced), same)
		for i := 0; i < len(unplaced); {
			period, show, cut := reps.elision(i)
			b = b[:0]
			for end := i + max(show, 1); i < end; i++ {
				b = appendFrame(b, unplaced[i], "    ")
			}
			if cut > 0 {
				b = appendElided(b, "    ", period, cut, i, false)
				i += cut
			}
			w.Write(b)
		}
	}
}

// appendStrayPC notes a frame the thread was at (frame 0, or one a signal
// interrupted) whose pc lies in no mapped file: the thread called or
// jumped through a bad pointer, and faulted fetching the instruction there;
// the unwinder took its caller's return address from the top of the stack.
func appendStrayPC(b []byte, nf *snapshot.NativeFrame) []byte {
	switch {
	case nf.Module != "" || nf.Symbol != "":
		return b
	case nf.PC < 4096:
		return append(b, " <a jump to address 0: a call through a NULL function pointer; the caller is the return address at the stack top>"...)
	}
	return append(b, " <not in mapped code: a call or jump through a bad pointer; the caller is the return address at the stack top>"...)
}

// placedAt indexes the placed Python frames, sorted by their native frame,
// by native frame: those of native frame i are placed[at[i]:at[i+1]].
func placedAt(placed []*snapshot.Frame, n int) []int {
	at := make([]int, n+1)
	for _, f := range placed {
		at[*f.Native+1]++
	}
	for i := range n {
		at[i+1] += at[i]
	}
	return at
}

// sameFrame says whether two Python frames show the same: the same line of
// the same function, and no locals (frames with locals are never cut).
func sameFrame(a, b *snapshot.Frame) bool {
	return a.Line == b.Line && a.File == b.File && a.Function == b.Function && a.Qualname == b.Qualname &&
		len(a.Locals) == 0 && len(b.Locals) == 0
}

// lineBuffers hold the lines writeMixedStack appends, from thread to thread.
var lineBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// nativeLine is one native frame: "0x7f… in sem_clockwait+0x8b (libc.so.6)",
// with " at file:line" when the module has DWARF.
func nativeLine(nf *snapshot.NativeFrame) string {
	return string(appendNativeLine(nil, nf))
}

// appendNativeLine appends nativeLine(nf) to b.
func appendNativeLine(b []byte, nf *snapshot.NativeFrame) []byte {
	// The program counter right-aligned in 18 columns, as "%18s" puts it.
	var pc [18]byte
	hex := strconv.AppendUint(append(pc[:0], "0x"...), uint64(nf.PC), 16)
	for k := len(hex); k < 18; k++ {
		b = append(b, ' ')
	}
	b = append(b, hex...)
	b = append(b, " in "...)
	if nf.Symbol != "" {
		b = append(b, esc(nf.Symbol)...)
		b = append(b, "+0x"...)
		b = strconv.AppendUint(b, nf.Offset, 16)
	} else {
		b = append(b, "??"...)
	}
	if nf.File != "" {
		b = append(b, " at "...)
		b = append(b, esc(nf.File)...)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(nf.Line), 10)
	}
	switch {
	case nf.Module != "" && nf.Symbol == "":
		b = append(b, " ("...)
		b = append(b, esc(nf.Module)...)
		b = append(b, "+0x"...)
		b = strconv.AppendUint(b, nf.Offset, 16)
		b = append(b, ')')
	case nf.Module != "":
		b = append(b, " ("...)
		b = append(b, esc(nf.Module)...)
		b = append(b, ')')
	}
	if nf.SignalFrame {
		b = append(b, " <signal handler called>"...)
	}
	return b
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
