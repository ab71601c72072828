package cpython

import (
	"fmt"

	"github.com/pyhang/pyhang/snapshot/target"
)

// A live snapshot copies the pages a first, unstopped read of the target used,
// while the target is stopped. A thread that ran in between may have pushed
// frames onto pages that read never saw; decoding its stack later would read
// those from the running process and splice two moments into one stack.
// WalkStacks is run while the target is still stopped, over the copy: it
// follows every frame chain and fetches what is missing, so that the stacks
// decoded afterwards from the copy are whole and of one instant.

const (
	// maxFrameSpan bounds the bytes of one frame a walk touches.
	maxFrameSpan = 64 << 10
	// maxWalkPages bounds the pages one walk reads (64 MiB).
	maxWalkPages = 16384
	// maxWalkFrames bounds the frames one walk visits, all threads together:
	// the caps per thread and on threads would multiply.
	maxWalkFrames = 1 << 19
)

// WalkStacks walks every thread's frame chain over mem the way Threads does,
// reading only pointers and touching every page that decoding a frame reads:
// the interpreter and thread states, each frame's bytes (header, locals and
// value stack), the header of its code object and of each local's object. It
// decodes nothing. An error says where the walk had to stop.
func (p *Process) WalkStacks(mem target.Memory) error {
	w := stackWalk{p: p, r: newReader(mem), codes: map[uint64]codeShape{}}
	return w.run()
}

type stackWalk struct {
	p      *Process
	r      *reader
	codes  map[uint64]codeShape
	frames int // visited so far
}

// codeShape is what a walk needs of a code object.
type codeShape struct {
	locals int    // co_nlocals (≤3.10) / co_nlocalsplus
	span   uint64 // bytes of a frame's slots: locals (and cells, frees) and value stack
}

func (w *stackWalk) run() error {
	p, l := w.p, w.p.Layout
	interp, err := w.r.u64(p.Runtime + uint64(l.RuntimeInterpHead))
	if err != nil {
		return fmt.Errorf("_PyRuntime.interpreters.head: %w", err)
	}
	for n := 0; interp != 0 && n < maxInterpreters; n++ {
		ts, err := w.r.u64(interp + uint64(l.InterpThreadsHead))
		if err != nil {
			return fmt.Errorf("interpreter %#x: threads head: %w", interp, err)
		}
		seen := map[uint64]bool{}
		for ts != 0 && !seen[ts] && len(seen) < maxThreads {
			seen[ts] = true
			w.touch(ts, uint64(l.TstateSize))
			if err := w.chain(ts); err != nil {
				return err
			}
			if ts, err = w.r.u64(ts + uint64(l.TstateNext)); err != nil {
				return fmt.Errorf("thread state: next: %w", err)
			}
		}
		if interp, err = w.r.u64(interp + uint64(l.InterpNext)); err != nil {
			return fmt.Errorf("interpreter %#x: next: %w", interp, err)
		}
	}
	return nil
}

// chain follows one thread's frames, as frames does.
func (w *stackWalk) chain(ts uint64) error {
	l := w.p.Layout
	f, err := w.r.u64(ts + uint64(l.TstateFrame))
	if err == nil && l.CFrameCurrentFrame >= 0 && f != 0 {
		f, err = w.r.u64(f + uint64(l.CFrameCurrentFrame))
	}
	if err != nil {
		return nil // Threads reports it; the walk has nothing to follow
	}
	prev := l.IFPrevious
	if l.Minor <= 10 {
		prev = l.FBack
	}
	for steps := 0; f != 0 && steps < maxFrames; steps++ {
		if len(w.r.pages) >= maxWalkPages {
			return fmt.Errorf("stopped after %d pages", maxWalkPages)
		}
		if w.frames++; w.frames > maxWalkFrames {
			return fmt.Errorf("stopped after %d frames", maxWalkFrames)
		}
		if l.Minor <= 10 {
			w.oldFrame(f)
		} else {
			w.newFrame(f)
		}
		if f, err = w.r.u64(f + uint64(prev)); err != nil {
			return nil
		}
	}
	return nil
}

// oldFrame touches a PyFrameObject: a variable-size object whose ob_size
// counts the slots after f_localsplus (locals, cells, frees, value stack).
func (w *stackWalk) oldFrame(f uint64) {
	l := w.p.Layout
	n, err := w.r.i64(f + obSize)
	if err != nil {
		return
	}
	span := uint64(l.FLocalsplus)
	if n > 0 {
		span += 8 * uint64(n)
	}
	w.touch(f, min(span, maxFrameSpan))
	if c, err := w.r.u64(f + uint64(l.FCode)); err == nil {
		w.locals(f+uint64(l.FLocalsplus), w.code(c).locals)
	}
}

// newFrame touches a _PyInterpreterFrame: its header, then as many slots as
// its code object reserves.
func (w *stackWalk) newFrame(f uint64) {
	l := w.p.Layout
	w.touch(f, uint64(l.IFLocalsplus))
	c, err := w.r.u64(f + uint64(l.IFCode))
	if err != nil {
		return
	}
	if l.StackRefTagged {
		c &^= 3
	}
	owner, err := w.r.u8(f + uint64(l.IFOwner))
	if err != nil || int(owner) >= l.OwnerCStack || c == 0 {
		return // not a Python frame: no slots of its own to decode
	}
	shape := w.code(c)
	w.touch(f+uint64(l.IFLocalsplus), min(shape.span, maxFrameSpan))
	w.locals(f+uint64(l.IFLocalsplus), shape.locals)
}

// locals touches the header of each local's object: decoding a frame looks
// at every local's type.
func (w *stackWalk) locals(at uint64, n int) {
	for i := 0; i < n; i++ {
		v, err := w.r.u64(at + 8*uint64(i))
		if err != nil {
			return
		}
		if w.p.Layout.StackRefTagged {
			if v&3 == 3 {
				continue // a tagged int
			}
			v &^= 3
		}
		if v >= pageSize {
			w.touch(v+obType, 8)
		}
	}
}

// code touches a code object's header (every field decoding reads lies
// before co_code_adaptive, or before co_linetable's end up to 3.10) and
// returns the shape of its frames, zero when the header is unreadable.
func (w *stackWalk) code(c uint64) codeShape {
	if shape, ok := w.codes[c]; ok {
		return shape
	}
	l := w.p.Layout
	end := l.CoCodeAdaptive
	if end < 0 {
		end = l.CoLinetable + 8
	}
	w.touch(c, uint64(end))
	// What decoding the code object reads beyond its header, all of it
	// immutable but freed with the code object: names, line and exception
	// tables, the names of the locals.
	for _, off := range []int64{l.CoName, l.CoFilename, l.CoQualname} {
		if off >= 0 {
			if s, err := w.r.u64(c + uint64(off)); err == nil {
				w.str(s)
			}
		}
	}
	for _, off := range []int64{l.CoLinetable, l.CoExceptiontable, l.CoLocalsKinds} {
		if off >= 0 {
			if b, err := w.r.u64(c + uint64(off)); err == nil {
				w.varObj(b, bytesSval, 1)
			}
		}
	}
	names := l.CoLocalsNames
	if names < 0 {
		names = l.CoVarnames
	}
	if t, err := w.r.u64(c + uint64(names)); err == nil {
		w.varObj(t, l.TupleItems, 8)
		if n, err := w.r.i64(t + obSize); err == nil && n > 0 {
			for i := uint64(0); i < uint64(min(n, maxLocals)); i++ {
				if s, err := w.r.u64(t + uint64(l.TupleItems) + 8*i); err == nil {
					w.str(s)
				}
			}
		}
	}
	var shape codeShape
	nlocals := l.CoNlocalsplus
	if nlocals < 0 {
		nlocals = l.CoNlocals
	}
	// Up to 3.10 a frame's size is its own ob_size (see oldFrame) and the
	// table has no co_stacksize.
	var s int32
	var err2 error
	if l.CoStacksize >= 0 {
		s, err2 = w.r.i32(c + uint64(l.CoStacksize))
	}
	n, err1 := w.r.i32(c + uint64(nlocals))
	if err1 == nil && err2 == nil && n >= 0 && s >= 0 && n <= maxLocals {
		shape = codeShape{locals: int(n), span: 8 * (uint64(n) + uint64(s))}
	}
	w.codes[c] = shape
	return shape
}

// varObj touches a variable-size object: n items of size each after its
// header, its ob_size giving n.
func (w *stackWalk) varObj(obj uint64, header int64, size uint64) {
	n, err := w.r.i64(obj + obSize)
	if err != nil || n < 0 {
		return
	}
	w.touch(obj, min(uint64(header)+size*uint64(n), maxBlob))
}

// str touches a compact str, whichever its character width.
func (w *stackWalk) str(s uint64) {
	n, err := w.r.i64(s + strLength)
	if err != nil || n < 0 || n > maxNameLen {
		return
	}
	w.touch(s, uint64(w.p.Layout.StrCompactData)+4*uint64(n))
}

// touch reads every page of [addr, addr+n).
func (w *stackWalk) touch(addr, n uint64) {
	if addr == 0 || n == 0 || addr+n < addr {
		return
	}
	for base := addr &^ (pageSize - 1); base < addr+n; base += pageSize {
		w.r.page(base)
	}
}
