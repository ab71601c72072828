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
	us := b.unwoundBefore(kt)
	if us == nil {
		b.mods.UnwindInto(&b.unwound, b.stackMem, kt.Regs, true)
		us = keepStack(&b.unwound, &b.slab)
	}
	th.NativeEnd = us.end
	if us.end != "" && kt.Regs.Partial {
		th.NativeEnd += " (with --nonblocking only the stack and program counters are known)"
	}
	th.Native = us.frames
	if len(us.frames) > 0 {
		th.Innermost = &th.Native[0]
	}
	if ts == nil {
		return // a thread without Python: no Python frames to place
	}
	if note := b.runBy(th, ts, us); note != "" {
		b.warnf("thread %d: %s", th.TID, note)
	}
}

// frameSlab hands out the native frames of stacks from shared blocks: a
// --native snapshot of a big process keeps tens of thousands, and one
// allocation a stack, each rounded up to its size class, took twice the
// memory they fill.
type frameSlab struct {
	frames []snapshot.NativeFrame
	spans  []frameSpan
}

// slabFrames is how many frames a block holds (320 KiB of them).
const slabFrames = 4096

// take returns n frames and their spans, zero.
func (s *frameSlab) take(n int) ([]snapshot.NativeFrame, []frameSpan) {
	if n == 0 {
		return []snapshot.NativeFrame{}, nil
	}
	if len(s.frames) < n {
		size := max(n, slabFrames)
		s.frames, s.spans = make([]snapshot.NativeFrame, size), make([]frameSpan, size)
	}
	f, sp := s.frames[:n:n], s.spans[:n:n]
	s.frames, s.spans = s.frames[n:], s.spans[n:]
	return f, sp
}

// unwoundBefore returns kt's native stack as unwound before the pause (a
// live target's blocked thread), or nil.
func (b *builder) unwoundBefore(kt *target.Thread) *unwoundStack {
	if fz, ok := b.t.(*frozen); ok {
		return fz.stacks.unwound(kt)
	}
	return nil
}

// unwoundStack is a native stack as the snapshot keeps it, with each
// frame's extent on the stack, by which runBy places Python frames.
type unwoundStack struct {
	frames []snapshot.NativeFrame
	spans  []frameSpan
	end    string
}

// frameSpan is where a frame's locals lie: [sp, cfa); cfa 0 when unknown.
type frameSpan struct{ sp, cfa uint64 }

// keepStack converts an unwound stack, whose frames are reused, into frames
// taken from slab.
func keepStack(st *native.Stack, slab *frameSlab) *unwoundStack {
	us := &unwoundStack{end: st.End}
	us.frames, us.spans = slab.take(len(st.Frames))
	for i := range st.Frames {
		f := &st.Frames[i]
		us.frames[i] = nativeFrame(f.PC, f.Location)
		us.frames[i].SignalFrame = f.Signal
		us.spans[i] = frameSpan{f.SP, f.CFA}
	}
	return us
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
func (b *builder) runBy(th *snapshot.Thread, ts *cpython.ThreadState, st *unwoundStack) string {
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
			for i < len(st.spans) && (st.spans[i].cfa == 0 || m >= st.spans[i].cfa) {
				i++
			}
			if i < len(st.spans) && m >= st.spans[i].sp {
				at[k] = i
			}
		}
	} else {
		how = "by name"
		fn := b.p.L.EvalFunction
		var evals []int
		for i := range st.frames {
			if s := st.frames[i].Symbol; s == fn || strings.HasPrefix(s, fn) && strings.HasPrefix(s[len(fn):], ".") {
				evals = append(evals, i)
			}
		}
		if len(evals) != acts && (st.end == "" || len(evals) > acts) {
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
	if missing > 0 && st.end == "" {
		return fmt.Sprintf("%d Python frame(s) not matched to a native frame %s", missing, how)
	}
	return ""
}
