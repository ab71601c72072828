package cpython

import (
	"errors"
	"fmt"
)

// Frame is one Python frame as read from the target.
type Frame struct {
	Addr     uint64
	Function string
	Qualname string
	File     string
	Code     uint64 // the code object
	// Line is the line CPython reports for the instruction; for one without
	// a line, the enclosing statement's, with LineBasis saying how it was
	// found (see enclosingline.go). Never -1 once the code is read.
	Line      int
	LineBasis string
	FirstLine int
	// EndLine, Column and EndColumn complete the position (3.11+, as
	// co_positions gives it; columns are 0-based UTF-8 byte offsets); -1
	// when unknown.
	EndLine, Column, EndColumn int
	Globals                    uint64
	// Locals are the frame's named local variables (cells dereferenced), in
	// the order of the code's local names: the order Python's locals() has;
	// Value 0 means unbound.
	Locals []Var
	// With are the context managers whose with-block is live in this frame.
	With []uint64
	// Calling is the method the frame is calling, when its instruction and
	// value stack say so exactly (calling.go); nil otherwise.
	Calling *Call
	// Activation numbers the activations of the interpreter loop on the
	// thread's C stack, 0 for the innermost: this frame runs in that one.
	Activation int

	frameObj uint64 // its PyFrameObject, when one was made for it (3.11+; 0: none)

	entry bool // the first frame its activation ran: the next one out runs in the next activation
	shim  bool // not a Python frame but an activation's entry frame on the C stack (3.12+)
	// Signal is the number of the signal whose Python handler this frame
	// runs (see signals.go), 0 for any other frame.
	Signal int
}

// Var is one local variable.
type Var struct {
	Name  string
	Value uint64
	Arg   bool // an argument of the function
}

// maxFrames bounds one thread's stack (deep recursion is reported cut).
const maxFrames = 4096

// frames walks a thread's frames, innermost first, and returns with them,
// per activation of the interpreter loop, an address inside that
// activation's C stack frame where the version leaves one (see Layout).
func (p *Process) frames(tstate uint64) ([]Frame, []uint64, error) {
	if p.Layout.Minor <= 10 {
		f, err := p.r.u64(tstate + uint64(p.Layout.TstateFrame))
		if err != nil {
			return nil, nil, fmt.Errorf("thread state %#x: frame pointer: %w", tstate, err)
		}
		return p.walk(f, p.oldFrame, p.Layout.FBack)
	}
	var f uint64
	var err error
	if p.Layout.CFrameCurrentFrame >= 0 {
		var cf uint64
		if cf, err = p.r.u64(tstate + uint64(p.Layout.TstateFrame)); err == nil && cf != 0 {
			f, err = p.r.u64(cf + uint64(p.Layout.CFrameCurrentFrame))
		}
	} else {
		f, err = p.r.u64(tstate + uint64(p.Layout.TstateFrame))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("thread state %#x: current frame: %w", tstate, err)
	}
	out, markers, err := p.walk(f, p.newFrame, p.Layout.IFPrevious)
	if p.Layout.OwnerEntryShim < 0 && p.Layout.CFramePrevious >= 0 {
		markers = p.cframes(tstate, out)
	}
	return out, markers, err
}

// walk follows the frame chain; decode returns ok=false for frames that are
// not Python frames (shims, C-stack entries, frames not yet started), and an
// error for a frame it cannot decode, which ends the stack: a frame without
// its code is kept as nothing, and what lies beyond it is not trusted. It
// numbers the activations of the interpreter loop and returns the entry
// frames that close them (3.12+).
//
// decode's second argument says f is the thread's current frame: the first
// of the chain, so the thread runs its instruction (or C code it called).
func (p *Process) walk(f uint64, decode frameDecoder, prevOff int64) ([]Frame, []uint64, error) {
	out, shims, err := p.walkInto(p.frameSpace(), f, decode, prevOff)
	p.frameBuf = carved(p.frameBuf, out)
	return out[:len(out):len(out)], shims, err
}

// cutError says why a stack was cut at maxFrames, at the frame f not read:
// a chain that loops back to a frame already read, or a stack deeper than the
// bound (a deep recursion). Checked once, when the bound is reached.
func cutError(out []Frame, f uint64) error {
	for i := range out {
		if out[i].Addr == f {
			return fmt.Errorf("stack cut after %d frames: the frame chain loops back to the frame at %#x", maxFrames, f)
		}
	}
	return fmt.Errorf("stack cut after %d frames: it is deeper (a deep recursion); the outer frames, from %#x on, are not read", maxFrames, f)
}

// frameDecoder decodes the frame at f into dst (a zero Frame or one decoded
// before) and says whether it is a Python frame to keep; see walk.
type frameDecoder func(dst *Frame, f uint64, current bool) (bool, error)

// walkInto is walk, appending the frames to out.
func (p *Process) walkInto(out []Frame, f uint64, decode frameDecoder, prevOff int64) ([]Frame, []uint64, error) {
	var shims []uint64
	act := 0
	// A chain that loops is caught by the bound (and the budget); no
	// per-frame set is kept, since this loop runs while a live target is
	// stopped.
	for steps := 0; f != 0; steps++ {
		if steps >= maxFrames {
			return out, shims, cutError(out, f)
		}
		// Decoded in place, at the end of out: a Frame is hundreds of
		// bytes, and a stack may hold thousands.
		out = append(out, Frame{})
		fr := &out[len(out)-1]
		ok, err := decode(fr, f, steps == 0)
		shim, entry := fr.shim, fr.entry
		if !ok || shim || err != nil {
			out = out[:len(out)-1]
		} else {
			fr.Activation = act
		}
		if err != nil {
			p.lost(err)
			return out, shims, fmt.Errorf("%w; the stack beyond it is lost", err)
		}
		if shim {
			shims = append(shims, f)
			act++
		}
		if entry {
			act++
		}
		next, err := p.r.u64(f + uint64(prevOff))
		if err != nil {
			err = fmt.Errorf("frame at %#x: previous: %w", f, err)
			p.lost(err)
			return out, shims, err
		}
		f = next
	}
	return out, shims, nil
}

// frameChunk is how many frames one allocation holds: a stack's frames are
// carved from a shared block instead of a slice of its own grown by doubling
// (fresh memory costs a page fault per page, and a snapshot keeps it all).
const frameChunk = 1024

// varChunk is the same for the frames' locals.
const varChunk = 4096

// frameSpace returns an empty slice at the free end of the frame block, a
// fresh block when little is left.
func (p *Process) frameSpace() []Frame {
	if cap(p.frameBuf)-len(p.frameBuf) < 64 {
		p.frameBuf = make([]Frame, 0, frameChunk)
	}
	return p.frameBuf[len(p.frameBuf):len(p.frameBuf)]
}

// vars returns an empty slice with room for n locals, from the locals block.
func (p *Process) vars(n int) []Var {
	if n > varChunk/4 {
		return make([]Var, 0, n)
	}
	if p.varBuf == nil || cap(p.varBuf)-len(p.varBuf) < n {
		p.varBuf = make([]Var, 0, varChunk)
	}
	k := len(p.varBuf)
	p.varBuf = p.varBuf[:k+n]
	return p.varBuf[k : k : k+n]
}

// releaseFrames gives the frame block back the frames of a thread's walk,
// when they are still the last carved from it, for the next walk to decode
// into (each frame it decodes starts from a zero Frame). Nothing may point
// into the frames any more.
func (p *Process) releaseFrames(fr []Frame) {
	n := len(p.frameBuf)
	if len(fr) > 0 && len(fr) <= n && &fr[0] == &p.frameBuf[n-len(fr)] {
		p.frameBuf = p.frameBuf[:n-len(fr)]
	}
}

// releaseVars gives the locals block back what was carved from it since it
// stood at mark (p.varBuf then), for the next thread's walk: nothing may
// point into those locals any more (keptOf copies what it keeps). Kept for
// every frame, a thread's locals took 1.4 MB on 100 threads 120 frames deep,
// of which a snapshot reads again only the few bound to a str.
func (p *Process) releaseVars(mark []Var) {
	if cap(mark) > 0 && cap(p.varBuf) > 0 && &mark[:cap(mark)][0] == &p.varBuf[:cap(p.varBuf)][0] {
		p.varBuf = p.varBuf[:len(mark)]
		return
	}
	// The walk started a block of its own: all of it is the walk's.
	p.varBuf = p.varBuf[:0]
}

// strLocals copies the locals of vars bound to a str into the kept locals
// block (nil when there are none).
func (p *Process) strLocals(vars []Var) []Var {
	if cap(p.keptVarBuf)-len(p.keptVarBuf) < len(vars) {
		p.keptVarBuf = make([]Var, 0, max(len(vars), varChunk/8))
	}
	k := len(p.keptVarBuf)
	for _, v := range vars {
		if p.isStr(v.Value) {
			p.keptVarBuf = append(p.keptVarBuf, v)
		}
	}
	if len(p.keptVarBuf) == k {
		return nil
	}
	return p.keptVarBuf[k:len(p.keptVarBuf):len(p.keptVarBuf)]
}

// isStr says whether v is bound to an object whose type is exactly str.
func (p *Process) isStr(v uint64) bool {
	if v == 0 {
		return false
	}
	n, err := p.typeName(v)
	return err == nil && n == "str"
}

// keptOf returns what FrameKept holds of frames, carved from the kept block.
func (p *Process) keptOf(frames []Frame) []FrameKept {
	if len(frames) == 0 {
		return nil
	}
	var out []FrameKept
	if len(frames) > keptChunk/4 {
		out = make([]FrameKept, len(frames))
	} else {
		if cap(p.keptBuf)-len(p.keptBuf) < len(frames) {
			p.keptBuf = make([]FrameKept, 0, keptChunk)
		}
		k := len(p.keptBuf)
		p.keptBuf = p.keptBuf[:k+len(frames)]
		out = p.keptBuf[k : k+len(frames) : k+len(frames)]
	}
	for i := range frames {
		f := &frames[i]
		out[i] = FrameKept{Code: f.Code, Locals: p.strLocals(f.Locals), Activation: f.Activation}
	}
	return out
}

// keptChunk is how many FrameKept one allocation holds.
const keptChunk = 4096

// carved marks used the part of block that s, taken at block's free end,
// filled (when appending to s left it in place), and caps s there, so that
// appending to s never writes over what is carved next.
func carved[E any](block, s []E) []E {
	if len(s) > 0 && len(s) <= cap(block)-len(block) && &s[0] == &block[:len(block)+1][len(block)] {
		return block[:len(block)+len(s)]
	}
	return block
}

// cframes follows 3.11's chain of _PyCFrame, one on the C stack of each
// activation, innermost first, up to the thread state's own root (whose
// previous is NULL). It returns nil when the chain does not have one link
// per activation the frame walk counted.
func (p *Process) cframes(tstate uint64, frames []Frame) []uint64 {
	want := 0
	if len(frames) > 0 {
		want = frames[len(frames)-1].Activation + 1
	}
	var out []uint64
	cf, err := p.r.u64(tstate + uint64(p.Layout.TstateFrame))
	for n := 0; err == nil && cf != 0 && n <= maxFrames; n++ {
		var prev uint64
		if prev, err = p.r.u64(cf + uint64(p.Layout.CFramePrevious)); err != nil || prev == 0 {
			break
		}
		out = append(out, cf)
		cf = prev
	}
	if len(out) < want {
		return nil
	}
	return out
}

// lost records that a thread's stack is lost, for err (which names the
// frame); a spent budget is recorded once, by Missing.
func (p *Process) lost(err error) {
	if !errors.Is(err, errBudget) {
		p.missf("a thread's Python stack is lost: %v", err)
	}
}

// keep charges the budget for a frame with n locals about to be kept.
func (p *Process) keep(f uint64, n int) error {
	if err := p.r.spend(costFrame + costVar*n); err != nil {
		return fmt.Errorf("frame at %#x: %w", f, err)
	}
	return nil
}

// oldFrame decodes a PyFrameObject (3.8–3.10).
func (p *Process) oldFrame(fr *Frame, f uint64, _ bool) (bool, error) {
	l := p.Layout
	*fr = Frame{Addr: f, Line: -1, EndLine: -1, Column: -1, EndColumn: -1, entry: l.EvalPerFrame}
	hdr, err := p.r.view(f, int(l.FLocalsplus))
	if err != nil {
		return false, fmt.Errorf("frame at %#x: %w", f, err)
	}
	// Kept across further reads, in one buffer for every frame (oldFrame
	// does not nest): a copy of its own for each took 400 bytes a frame.
	p.oldHdr = append(p.oldHdr[:0], hdr...)
	hdr = p.oldHdr
	c, err := p.codeAt(le64(hdr[l.FCode:]))
	if err != nil {
		return false, fmt.Errorf("frame at %#x: %w", f, err)
	}
	if err := p.keep(f, c.nLocals+len(c.cellNames)); err != nil {
		return false, err
	}
	fr.setCode(c)
	fr.Globals = le64(hdr[l.FrameGlobals:])
	lasti := int(int32(le32(hdr[l.FLasti:])))
	if lasti < 0 {
		fr.Line = c.FirstLine
	} else {
		fr.Line = c.lineAt(l.Minor, lasti)
	}
	if fr.Line < 0 {
		fr.Line, fr.LineBasis = p.enclosingLine(c, lasti)
	}
	fr.Locals = p.oldLocals(f, c)
	fr.With = p.withOld(f, hdr, c)
	return true, nil
}

// oldLocals reads a 3.8–3.10 frame's locals in the order locals() lists
// them: co_varnames, then the cell and free variables (oldCells).
func (p *Process) oldLocals(f uint64, c *code) []Var {
	var out []Var
	if n := min(c.nLocals, len(c.localNames)); n > 0 {
		if raw, err := p.r.view(f+uint64(p.Layout.FLocalsplus), 8*n); err == nil {
			out = p.vars(n + len(c.cellNames))[:n]
			for i := range out {
				out[i] = Var{Name: c.localNames[i], Value: le64(raw[8*i:]), Arg: i < c.nArgs}
			}
		}
	}
	return append(out, p.oldCells(f, c)...)
}

// oldCells reads the cell and free variables of a 3.8–3.10 frame, which
// follow its locals in f_localsplus, each a cell holding the value. An
// argument that a closure captures lives there, not in its local slot,
// which the interpreter cleared (`self` of a method whose lambda uses it).
func (p *Process) oldCells(f uint64, c *code) []Var {
	n := len(c.cellNames)
	if n == 0 || len(c.localNames) != c.nLocals {
		return nil
	}
	raw, err := p.r.view(f+uint64(p.Layout.FLocalsplus)+8*uint64(c.nLocals), 8*n)
	if err != nil {
		return nil
	}
	raw = append([]byte(nil), raw...) // kept across the cells' reads
	out := make([]Var, 0, n)
	for i := 0; i < n; i++ {
		v := le64(raw[8*i:])
		if v != 0 {
			if tn, err := p.typeName(v); err == nil && tn == "cell" {
				v, _ = p.r.u64(v + 16) // PyCellObject.ob_ref
			} else {
				v = 0
			}
		}
		// A captured argument keeps its name among the arguments'.
		arg := false
		for j := 0; j < c.nArgs && j < len(c.localNames); j++ {
			arg = arg || c.localNames[j] == c.cellNames[i]
		}
		out = append(out, Var{Name: c.cellNames[i], Value: v, Arg: arg})
	}
	return out
}

// newFrame decodes a _PyInterpreterFrame (3.11+).
func (p *Process) newFrame(fr *Frame, f uint64, current bool) (bool, error) {
	l := p.Layout
	*fr = Frame{Addr: f, Line: -1, EndLine: -1, Column: -1, EndColumn: -1}
	// One buffer for every frame (newFrame does not nest): an array here
	// would escape, a heap allocation per frame.
	hdr := &p.hdrBuf
	if int(l.IFLocalsplus) > len(hdr) {
		return false, fmt.Errorf("frame header of %d bytes is too big", l.IFLocalsplus)
	}
	if err := p.r.read(hdr[:l.IFLocalsplus], f); err != nil {
		return false, fmt.Errorf("frame at %#x: %w", f, err)
	}
	owner := int(hdr[l.IFOwner])
	fr.entry = l.IFIsEntry >= 0 && hdr[l.IFIsEntry] != 0
	if owner >= l.OwnerCStack {
		fr.shim = owner == l.OwnerEntryShim
		return false, nil
	}
	codePtr := le64(hdr[l.IFCode:])
	if l.StackRefTagged {
		codePtr &^= 3
	}
	if codePtr == 0 {
		// Never valid in a live interpreter: the memory is zeroed, as in a
		// core whose writer could not read the thread's stack.
		return false, fmt.Errorf("frame at %#x has no code object (memory zeroed or not in the core)", f)
	}
	if p.Layout.Minor >= 13 {
		// Shim frames of 3.13 carry Py_None instead of a code object.
		tn, err := p.typeName(codePtr)
		if err != nil {
			return false, fmt.Errorf("frame at %#x: executable at %#x: %w", f, codePtr, err)
		}
		if tn == "NoneType" {
			return false, nil
		}
	}
	c, err := p.codeAt(codePtr)
	if err != nil {
		return false, fmt.Errorf("frame at %#x: %w", f, err)
	}
	instr := le64(hdr[l.IFInstr:])
	start := codePtr + uint64(l.CoCodeAdaptive)
	if owner != l.OwnerGenerator && instr < start+2*uint64(c.firstTrace) {
		return false, nil // pushed but not yet started
	}
	if err := p.keep(f, c.nLocals); err != nil {
		return false, err
	}
	fr.setCode(c)
	fr.Globals = le64(hdr[l.FrameGlobals:])
	fr.frameObj = le64(hdr[l.IFFrameObj:])
	unit := -1
	if instr >= start && instr-start < maxTableLen*8 {
		unit = int(instr-start) / 2
		loc := c.locationAt(unit)
		fr.Line, fr.EndLine, fr.Column, fr.EndColumn = loc.line, loc.endLine, loc.col, loc.endCol
	}
	if fr.Line < 0 {
		fr.Line, fr.LineBasis = p.enclosingLine(c, unit)
	}
	depth := 0
	if unit >= 0 && len(c.excTable) > 0 {
		depth = p.depthAt(c, unit)
	}
	slots := p.frameSlots(f, hdr[:], c, depth)
	fr.Locals = p.vars(min(c.nLocals, len(slots)))
	for i := 0; i < c.nLocals && i < len(c.localNames) && i < len(slots); i++ {
		if i < len(c.localKinds) && c.localKinds[i]&kindHidden != 0 {
			continue
		}
		v := slots[i]
		if v != 0 && i < len(c.localKinds) && c.localKinds[i]&(kindCell|kindFree) != 0 {
			if tn, err := p.typeName(v); err == nil && tn == "cell" {
				v, _ = p.r.u64(v + 16)
			}
		}
		fr.Locals = append(fr.Locals, Var{Name: c.localNames[i], Value: v, Arg: i < c.nArgs})
	}
	if depth > 0 {
		fr.With = p.withNew(c, slots, depth)
	}
	if unit >= 0 {
		fr.Calling = p.calling(f, hdr[:], c, instr, unit, current)
	}
	return true, nil
}

// frameSlots reads localsplus and the first depth value-stack slots (the
// ones the covering exception-table entry says are live; stacktop is stale
// for the executing frame), as object pointers (0 for NULL or a tagged int).
func (p *Process) frameSlots(f uint64, hdr []byte, c *code, depth int) []uint64 {
	base := f + uint64(p.Layout.IFLocalsplus)
	n := c.nLocals
	raw, err := p.r.view(base, 8*(n+depth))
	if err != nil {
		if raw, err = p.r.view(base, 8*n); err != nil {
			return nil
		}
	}
	l := p.Layout
	// The slots are only looked at while this frame is decoded: reuse one
	// buffer for every frame.
	if cap(p.slotBuf) < len(raw)/8 {
		p.slotBuf = make([]uint64, len(raw)/8)
	}
	out := p.slotBuf[:len(raw)/8]
	for i := range out {
		v := le64(raw[8*i:])
		if l.StackRefTagged {
			if v == 1 || v&3 == 3 {
				v = 0
			} else {
				v &^= 3
			}
		}
		out[i] = v
	}
	return out
}

func (fr *Frame) setCode(c *code) {
	fr.Function, fr.Qualname, fr.File, fr.FirstLine, fr.Code = c.Name, c.Qualname, c.File, c.FirstLine, c.Addr
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
