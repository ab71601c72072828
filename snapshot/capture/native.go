package capture

import (
	"fmt"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/native"
	"github.com/pyhang/pyhang/snapshot/target"
)

// innermost describes where a thread's program counter is: cheap (one
// symbol lookup in a file the walk opens once), so every snapshot has it.
func (b *builder) innermost(th *snapshot.Thread, kt *target.Thread) {
	if kt == nil || kt.Regs == nil || b.mods == nil {
		return
	}
	loc := b.mods.Symbolize(kt.Regs.RIP, true, false)
	nf := nativeFrame(kt.Regs.RIP, loc)
	th.Innermost = &nf
}

// nativeStack unwinds the thread's native stack (--native) and puts each
// Python frame beside the interpreter-loop activation that runs it.
func (b *builder) nativeStack(th *snapshot.Thread, kt *target.Thread, ts *cpython.ThreadState) {
	if kt == nil {
		th.NativeEnd = "no kernel thread matches this thread state"
		return
	}
	if kt.Regs == nil {
		th.NativeEnd = "the thread's registers are unknown"
		if b.opts.NonBlocking {
			th.NativeEnd += " (it was running, and --nonblocking does not stop it)"
		}
		return
	}
	st := &b.unwound
	b.mods.UnwindInto(st, b.stackMem, kt.Regs, true)
	th.NativeEnd = st.End
	if st.End != "" && kt.Regs.Partial {
		th.NativeEnd += " (with --nonblocking only the stack and program counters are known)"
	}
	th.Native = make([]snapshot.NativeFrame, len(st.Frames))
	for i := range st.Frames {
		f := &st.Frames[i]
		th.Native[i] = nativeFrame(f.PC, f.Location)
		th.Native[i].SignalFrame = f.Signal
	}
	if len(st.Frames) > 0 {
		th.Innermost = &th.Native[0]
	}
	if ts == nil {
		return // a thread without Python: no Python frames to place
	}
	if note := b.runBy(th, ts, st); note != "" {
		b.warnf("thread %d: %s", th.TID, note)
	}
}

func nativeFrame(pc uint64, loc native.Location) snapshot.NativeFrame {
	return snapshot.NativeFrame{PC: snapshot.Addr(pc), Symbol: loc.Symbol, Offset: loc.Offset,
		Module: loc.Module, File: loc.File, Line: loc.Line}
}

// runBy sets each Python frame's native frame: the activation of the
// interpreter loop whose C stack frame holds the activation's marker (3.11+:
// an address cpython found on the C stack), else the k-th interpreter-loop
// frame by name for the k-th activation (before 3.11, one per Python frame).
// It returns a note when frames could not be matched.
func (b *builder) runBy(th *snapshot.Thread, ts *cpython.ThreadState, st *native.Stack) string {
	if len(ts.Frames) == 0 || len(th.Frames) != len(ts.Frames) {
		return ""
	}
	acts := ts.Frames[len(ts.Frames)-1].Activation + 1
	at := make([]int, acts)
	for k := range at {
		at[k] = -1
	}
	how := ""
	if len(ts.EvalMarkers) >= acts {
		how = "by the interpreter's frames on the C stack"
		i := 0
		for k := 0; k < acts; k++ {
			m := ts.EvalMarkers[k]
			for i < len(st.Frames) && (st.Frames[i].CFA == 0 || m >= st.Frames[i].CFA) {
				i++
			}
			if i < len(st.Frames) && m >= st.Frames[i].SP {
				at[k] = i
			}
		}
	} else {
		how = "by name"
		fn := b.p.L.EvalFunction
		var evals []int
		for i := range st.Frames {
			if s := st.Frames[i].Symbol; s == fn || strings.HasPrefix(s, fn) && strings.HasPrefix(s[len(fn):], ".") {
				evals = append(evals, i)
			}
		}
		if len(evals) != acts && (st.End == "" || len(evals) > acts) {
			return fmt.Sprintf("Python frames not matched to native frames: %d Python activations of %s, %d native frames of it",
				acts, fn, len(evals))
		}
		copy(at, evals)
	}
	missing := 0
	for j := range th.Frames {
		if k := ts.Frames[j].Activation; at[k] >= 0 {
			n := at[k]
			th.Frames[j].Native = &n
		} else {
			missing++
		}
	}
	if missing > 0 && st.End == "" {
		return fmt.Sprintf("%d Python frame(s) not matched to a native frame %s", missing, how)
	}
	return ""
}
