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
	us := &unwoundStack{end: st.End, spans: slab.takeSpans(len(st.Frames))}
	for i := range st.Frames {
		us.spans[i] = frameSpan{st.Frames[i].SP, st.Frames[i].CFA}
	}
	h := stackHash(st)
	if us.frames = slab.same(h, st); us.frames != nil {
		return us
	}
	us.frames = slab.take(len(st.Frames))
	for i := range st.Frames {
		f := &st.Frames[i]
		us.frames[i] = nativeFrame(f.PC, f.Location)
		us.frames[i].SignalFrame = f.Signal
		if c := f.Context; c != nil {
			us.frames[i].Interrupted = &snapshot.SignalContext{PC: snapshot.Addr(c.PC), SP: snapshot.Addr(c.SP),
				Trap: int(c.Trap), ErrorCode: c.Err, FaultAddr: snapshot.Addr(c.Addr)}
		}
	}
	slab.kept[h] = append(slab.kept[h], us.frames)
	return us
}

// frameSlab hands out the native frames of stacks from shared blocks, and
// the frames of a stack already kept again: a --native snapshot of a big
// process keeps tens of thousands of frames, most of them in stacks that
// other threads have too (the workers of a pool, blocked the same way
// under the same calls). A thread's frames are read, never written, once
// the snapshot has them, so threads share them.
type frameSlab struct {
	frames []snapshot.NativeFrame
	spans  []frameSpan
	kept   map[uint64][][]snapshot.NativeFrame // by stackHash
}

// slabFrames is how many frames a block holds (320 KiB of them).
const slabFrames = 4096

// take returns n zero frames.
func (s *frameSlab) take(n int) []snapshot.NativeFrame {
	if n == 0 {
		return []snapshot.NativeFrame{}
	}
	if len(s.frames) < n {
		s.frames = make([]snapshot.NativeFrame, max(n, slabFrames))
	}
	f := s.frames[:n:n]
	s.frames = s.frames[n:]
	return f
}

// takeSpans returns n zero spans.
func (s *frameSlab) takeSpans(n int) []frameSpan {
	if len(s.spans) < n {
		s.spans = make([]frameSpan, max(n, slabFrames))
	}
	f := s.spans[:n:n]
	s.spans = s.spans[n:]
	return f
}

// same returns the frames of a stack kept before with the same program
// counters and signal frames as st (whose stackHash is h), or nil. Those
// decide the rest of each frame (an address is looked up as an instruction
// in frame 0 and above a signal frame, else as a return address).
func (s *frameSlab) same(h uint64, st *native.Stack) []snapshot.NativeFrame {
	if s.kept == nil {
		s.kept = map[uint64][][]snapshot.NativeFrame{}
	}
next:
	for _, fs := range s.kept[h] {
		if len(fs) != len(st.Frames) {
			continue
		}
		for i := range fs {
			if uint64(fs[i].PC) != st.Frames[i].PC || fs[i].SignalFrame != st.Frames[i].Signal {
				continue next
			}
			if fs[i].SignalFrame {
				// Each signal frame saved its own thread's registers.
				continue next
			}
		}
		return fs
	}
	return nil
}

// stackHash hashes the program counters and signal frames of a stack
// (FNV-1a over the counters).
func stackHash(st *native.Stack) uint64 {
	h := uint64(14695981039346656037)
	for i := range st.Frames {
		v := st.Frames[i].PC
		if st.Frames[i].Signal {
			v ^= 1 << 63
		}
		h = (h ^ v) * 1099511628211
	}
	return h
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
	if len(ts.Kept) == 0 || len(th.Frames) != len(ts.Kept) {
		return ""
	}
	acts := ts.Kept[len(ts.Kept)-1].Activation + 1
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
		fn := b.p.Layout.EvalFunction
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
		if k := ts.Kept[j].Activation; at[k] >= 0 {
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
