// Package native unwinds and symbolises the machine stacks of a target's
// threads: from each thread's registers down, by the call-frame information
// (.eh_frame, .debug_frame) of the mapped ELF files, following frame pointers
// only where a file has none; functions from .symtab, else .dynsym; source
// lines from DWARF when a file carries it. It knows ELF, x86-64 and target
// memory, and nothing of Python.
//
// Target memory and the mapped files are hostile input: every walk is
// bounded, and garbage (an unreadable or implausible return address, a stack
// pointer that does not move up) ends a stack with a note, never a panic.
package native

import (
	"encoding/binary"
	"fmt"

	"github.com/pyhang/pyhang/snapshot/target"
)

// maxFrames bounds one thread's native stack.
const maxFrames = 4096

// Frame is one native frame of a stack, innermost first.
type Frame struct {
	// PC is the program counter of the frame: where the thread is in frame
	// 0 (and in a frame a signal interrupted), else the return address of
	// the call its callee runs.
	PC uint64
	// SP is the stack pointer in this frame, CFA its caller's before the
	// call: the frame's locals lie in [SP, CFA). CFA is 0 when unknown.
	SP, CFA uint64
	// ViaFramePointer says the frame was found by following the frame
	// pointer of its callee, whose file has no call-frame information for it.
	ViaFramePointer bool
	// Signal says the frame is a signal trampoline (its call-frame
	// information says so): a handler returns through it, and the frame
	// after it is the one the signal interrupted.
	Signal bool
	// Context is what a signal trampoline frame restores: the interrupted
	// frame's registers and the fault that raised the signal, if one did.
	// Nil for any other frame, or when the frame could not be read.
	Context *SignalContext
	Location
}

// Stack is one thread's native frames.
type Stack struct {
	Frames []Frame
	// End says why the walk stopped short of the thread's first function
	// (the outermost frame, whose return address is undefined), or "" when
	// it reached it.
	End string
}

// regSet is the registers of one frame, with which of them are known.
type regSet struct {
	v  [nregs]uint64 // v[regRA] is the frame's program counter
	ok uint32
}

func (r *regSet) get(reg uint64) (uint64, error) {
	if reg >= nregs {
		return 0, fmt.Errorf("register %d is not tracked", reg)
	}
	if r.ok&(1<<reg) == 0 {
		return 0, fmt.Errorf("register %s is unknown", regNames[reg])
	}
	return r.v[reg], nil
}

func (r *regSet) set(reg int, v uint64) {
	r.v[reg] = v
	r.ok |= 1 << reg
}

func (r *regSet) known(reg int) bool { return r.ok&(1<<reg) != 0 }

var regNames = [nregs]string{"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"}

// regsOf converts a thread's registers.
func regsOf(t *target.Regs) regSet {
	var r regSet
	r.set(regRA, t.RIP)
	r.set(regRSP, t.RSP)
	if t.Partial {
		return r
	}
	r.v[regRAX], r.v[regRDX], r.v[regRCX], r.v[regRBX] = t.RAX, t.RDX, t.RCX, t.RBX
	r.v[regRSI], r.v[regRDI], r.v[regRBP] = t.RSI, t.RDI, t.RBP
	r.v[regR8], r.v[regR9], r.v[regR10], r.v[regR11] = t.R8, t.R9, t.R10, t.R11
	r.v[regR12], r.v[regR13], r.v[regR14], r.v[regR15] = t.R12, t.R13, t.R14, t.R15
	r.ok = 1<<nregs - 1
	return r
}

// Unwind walks the native stack of a thread whose registers are regs,
// reading the stack from mem. With lines each frame gets its source line
// when its file carries DWARF.
func (m *Modules) Unwind(mem target.Memory, regs *target.Regs, lines bool) Stack {
	var st Stack
	m.UnwindInto(&st, mem, regs, lines)
	return st
}

// UnwindInto is Unwind into st, whose Frames' memory is reused: a caller
// that converts each stack as it is unwound walks every thread's stack
// through the same frames (a --native snapshot of a big process has tens of
// thousands of them).
func (m *Modules) UnwindInto(st *Stack, mem target.Memory, regs *target.Regs, lines bool) {
	m.unwind(st, mem, regs, lines, maxFrames)
}

// unwind is UnwindInto that stops after limit frames, the cut noted.
func (m *Modules) unwind(st *Stack, mem target.Memory, regs *target.Regs, lines bool, limit int) {
	st.Frames, st.End = st.Frames[:0], ""
	if regs == nil {
		st.End = "the thread's registers are unknown"
		return
	}
	if m.stack == nil {
		m.stack = newStackReader(mem)
	} else {
		m.stack.reset(mem)
	}
	w := walker{m: m, mem: m.stack}
	r := regsOf(regs)
	if st.Frames == nil {
		st.Frames = make([]Frame, 0, 32)
	}
	exact := true // frame 0's pc is the instruction itself, not a return address
	for len(st.Frames) < limit {
		pc := r.v[regRA]
		st.Frames = append(st.Frames, Frame{PC: pc, SP: r.v[regRSP]})
		f := &st.Frames[len(st.Frames)-1]
		f.Location = m.Symbolize(pc, exact, lines)
		caller, step := w.step(&r, exact)
		f.CFA, f.ViaFramePointer, f.Signal, f.Context = step.cfa, step.viaFP, step.signal, step.context
		if step.outermost {
			return
		}
		if step.end != "" {
			st.End = step.end
			return
		}
		if err := w.plausible(&r, &caller, step.signal); err != "" {
			st.End = err
			return
		}
		r, exact = caller, step.signal
	}
	st.End = fmt.Sprintf("cut after %d frames", limit)
}

// stepResult is what one unwinding step learned about the frame it left.
type stepResult struct {
	cfa       uint64
	viaFP     bool
	signal    bool           // the frame was a signal trampoline: its caller was interrupted
	context   *SignalContext // for a signal trampoline, the context it restores
	outermost bool           // the frame is the thread's first: nothing called it
	end       string         // the walk cannot go on, and why
}

type walker struct {
	m   *Modules
	mem *stackReader
}

// cfiRow is the call-frame row for one code address, computed once: the
// frames of many threads return to the same few addresses.
type cfiRow struct {
	found  bool // the address has call-frame information
	row    row
	err    error
	signal bool
	where  string // "module at va", for notes
}

// rowFor returns the row for the code address look (the pc itself or, for a
// return address, the call before it).
func (m *Modules) rowFor(look uint64) *cfiRow {
	if c, ok := m.rows[look]; ok {
		return c
	}
	c := &cfiRow{}
	if len(m.rows) < maxCachedRows {
		m.rows[look] = c
	}
	mod, va, _ := m.locate(look)
	if mod == nil || va == 0 {
		return c
	}
	c.where = fmt.Sprintf("%s at %#x", mod.name, va)
	fde := mod.fde(va)
	if fde == nil {
		return c
	}
	c.found, c.signal = true, signalFrame(fde)
	c.row, c.err = rowAt(fde, va)
	return c
}

// maxCachedRows bounds the rows kept per process.
const maxCachedRows = 1 << 16

// step computes the registers of the caller of the frame whose registers
// are r. exact says r's pc is an instruction the thread was at (frame 0, or
// a frame a signal interrupted), not a return address.
func (w *walker) step(r *regSet, exact bool) (regSet, stepResult) {
	pc := r.v[regRA]
	look := pc
	if !exact {
		look--
	}
	if c := w.m.rowFor(look); c.found {
		if c.err != nil {
			return regSet{}, stepResult{end: fmt.Sprintf("call-frame information of %s is unusable: %v", c.where, c.err)}
		}
		return w.byCFI(r, &c.row, c.signal, c.where)
	}
	if exact && !w.m.isCode(pc) {
		// A call through a bad pointer faults at the target address, with
		// the return address just pushed: pick the walk up from there. The
		// fault may be below a signal handler's frames, the pc then the
		// one the signal frame saved.
		return w.justCalled(r)
	}
	return w.byFramePointer(r, pc)
}

// byCFI applies a row of the call-frame table.
func (w *walker) byCFI(r *regSet, rw *row, signal bool, where string) (regSet, stepResult) {
	res := stepResult{signal: signal}
	if signal {
		// The trampoline's stack pointer is at the ucontext the kernel
		// pushed; an unreadable one leaves the registers to the CFI alone.
		res.context, _ = w.mem.signalContext(r.v[regRSP])
	}
	cfa, err := w.cfa(r, rw)
	if err != nil {
		res.end = fmt.Sprintf("canonical frame address for %s: %v", where, err)
		return regSet{}, res
	}
	res.cfa = cfa
	var c regSet
	for reg := 0; reg < nregs; reg++ {
		ru := rw.regs[reg]
		switch ru.kind {
		case ruleUnset:
			switch {
			case reg == regRSP:
				c.set(regRSP, cfa)
			case reg == regRA:
				// x86-64 CIEs always say "at CFA-8"; assume it if one does not.
				if v, err := w.mem.word(cfa - 8); err == nil {
					c.set(regRA, v)
				}
			case signal:
				// a signal frame's rules name every register it restores
			case calleeSaved&(1<<reg) != 0 && r.known(reg):
				c.set(reg, r.v[reg])
			}
		case ruleUndefined:
			if reg == regRA {
				res.outermost = true
				return c, res
			}
		case ruleSame:
			if r.known(reg) {
				c.set(reg, r.v[reg])
			}
		case ruleOffset:
			if v, err := w.mem.word(cfa + uint64(ru.off)); err == nil {
				c.set(reg, v)
			} else if reg == regRA {
				res.end = fmt.Sprintf("return address for %s at %#x: %v", where, cfa+uint64(ru.off), err)
				return c, res
			}
		case ruleValOffset:
			c.set(reg, cfa+uint64(ru.off))
		case ruleRegister:
			if v, err := r.get(ru.reg); err == nil {
				c.set(reg, v)
			}
		case ruleExpr, ruleValExpr:
			v, err := evalExpr(ru.expr, r, w.mem.read, cfa)
			if err == nil && ru.kind == ruleExpr {
				v, err = w.mem.word(v)
			}
			if err == nil {
				c.set(reg, v)
			} else if reg == regRA {
				res.end = fmt.Sprintf("return address for %s: %v", where, err)
				return c, res
			}
		}
	}
	if !c.known(regRA) {
		res.end = fmt.Sprintf("return address for %s: unreadable at %#x", where, cfa-8)
		return c, res
	}
	if c.v[regRA] == 0 && !signal {
		// The outermost frame says so in its call-frame information (clone3,
		// _start); a zero read from the stack is zeroed memory. Below a
		// signal frame it is the pc the signal interrupted: a call or jump
		// to address 0, whose caller step finds (justCalled).
		res.end = zeroReturn(cfa)
	}
	return c, res
}

func zeroReturn(cfa uint64) string {
	return fmt.Sprintf("the return address below %#x is 0: the stack memory is zeroed "+
		"(a core whose writer could not read it, such as gcore where glibc 2.41+ put guard pages in thread stacks?)", cfa)
}

// cfa computes the canonical frame address of a row.
func (w *walker) cfa(r *regSet, rw *row) (uint64, error) {
	c := rw.cfa
	switch {
	case !c.set:
		return 0, fmt.Errorf("no CFA rule")
	case c.expr != nil:
		return evalExpr(c.expr, r, w.mem.read)
	}
	v, err := r.get(c.reg)
	if err != nil {
		return 0, err
	}
	return v + uint64(c.off), nil
}

// byFramePointer follows rbp where there is no call-frame information: the
// saved rbp at [rbp], the return address at [rbp+8] (code built with frame
// pointers; anything else is caught by plausible).
func (w *walker) byFramePointer(r *regSet, pc uint64) (regSet, stepResult) {
	res := stepResult{viaFP: true}
	where := fmt.Sprintf("%#x", pc)
	if mod, va, _ := w.m.locate(pc); mod != nil {
		where = fmt.Sprintf("%s at %#x", mod.name, va)
	}
	bp, err := r.get(regRBP)
	if err != nil || bp < r.v[regRSP] || bp%8 != 0 {
		res.end = fmt.Sprintf("no call-frame information for %s and no frame pointer", where)
		return regSet{}, res
	}
	savedBP, err1 := w.mem.word(bp)
	ret, err2 := w.mem.word(bp + 8)
	if err1 != nil || err2 != nil {
		res.end = fmt.Sprintf("no call-frame information for %s; frame pointer %#x unreadable", where, bp)
		return regSet{}, res
	}
	var c regSet
	for reg := 0; reg < nregs; reg++ {
		if calleeSaved&(1<<reg) != 0 && r.known(reg) {
			c.set(reg, r.v[reg])
		}
	}
	c.set(regRBP, savedBP)
	c.set(regRA, ret)
	c.set(regRSP, bp+16)
	res.cfa = bp + 16
	if ret == 0 {
		res.end = zeroReturn(bp + 16)
	}
	return c, res
}

// justCalled unwinds a frame 0 whose pc is outside any code: the return
// address is at the stack pointer.
func (w *walker) justCalled(r *regSet) (regSet, stepResult) {
	sp := r.v[regRSP]
	ret, err := w.mem.word(sp)
	if err != nil {
		return regSet{}, stepResult{end: fmt.Sprintf("program counter %#x is not in mapped code and the stack at %#x is unreadable", r.v[regRA], sp)}
	}
	c := *r
	c.ok &= calleeSaved | 1<<regRSP | 1<<regRA
	c.set(regRA, ret)
	c.set(regRSP, sp+8)
	return c, stepResult{cfa: sp + 8}
}

// plausible checks the caller's registers: its stack pointer lies above the
// callee's (stacks grow down; a signal frame may switch stacks) and its
// return address is in mapped code, unless a signal interrupted it there (a
// call through a bad pointer faults outside code). "" means they are.
func (w *walker) plausible(r, c *regSet, signal bool) string {
	pc := c.v[regRA]
	if !c.known(regRSP) {
		return fmt.Sprintf("the stack pointer of the caller of %#x is unknown", r.v[regRA])
	}
	if !signal && c.v[regRSP] <= r.v[regRSP] {
		return fmt.Sprintf("the stack pointer does not move up from %#x to %#x (garbage on the stack?)", r.v[regRSP], c.v[regRSP])
	}
	if !signal && !w.m.isCode(pc) {
		return fmt.Sprintf("return address %#x is not in mapped code (garbage on the stack?)", pc)
	}
	return ""
}

// stackReader reads words of target memory through a cache of pages: a
// stack's frames lie close together.
type stackReader struct {
	mem      target.Memory
	pages    map[uint64][]byte // nil: unreadable
	lastBase uint64
	last     []byte // the page read last, most reads follow in it
}

const (
	stackPage     = 4096
	maxStackPages = 8192 // 32 MiB
)

func newStackReader(mem target.Memory) *stackReader {
	return &stackReader{mem: mem, pages: map[uint64][]byte{}}
}

// reset makes s read mem afresh, its map of pages kept for reuse.
func (s *stackReader) reset(mem target.Memory) {
	s.mem, s.last = mem, nil
	clear(s.pages)
}

// pager is memory that hands out whole pages without copying them: a copy of
// a live target taken while it was stopped. Page returns nil for a page it
// does not hold.
type pager interface {
	Page(base uint64) []byte
}

func (s *stackReader) page(base uint64) []byte {
	if s.last != nil && base == s.lastBase {
		return s.last
	}
	if pg, ok := s.mem.(pager); ok {
		p := pg.Page(base)
		if len(p) != stackPage {
			return nil
		}
		s.lastBase, s.last = base, p
		return p
	}
	if p, ok := s.pages[base]; ok {
		if p != nil {
			s.lastBase, s.last = base, p
		}
		return p
	}
	if len(s.pages) >= maxStackPages {
		clear(s.pages)
		s.last = nil
	}
	p := make([]byte, stackPage)
	if n, _ := s.mem.ReadAt(p, base); n != stackPage {
		p = nil
	}
	s.pages[base] = p
	return p
}

// read reads a little-endian value of size bytes (1 to 8) at addr.
func (s *stackReader) read(addr uint64, size int) (uint64, error) {
	var b [8]byte
	for i := 0; i < size; i++ {
		a := addr + uint64(i)
		if a < addr {
			return 0, fmt.Errorf("reading %d bytes at %#x: %w", size, addr, target.ErrUnreadable)
		}
		pg := s.page(a &^ (stackPage - 1))
		if pg == nil {
			// A page the copy lacks may still be partly readable (a core
			// segment ending mid-page): try the bytes directly.
			if err := target.ReadFull(s.mem, b[i:size], a); err != nil {
				return 0, err
			}
			break
		}
		b[i] = pg[a&(stackPage-1)]
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (s *stackReader) word(addr uint64) (uint64, error) {
	if off := addr & (stackPage - 1); off <= stackPage-8 {
		if pg := s.page(addr - off); pg != nil {
			return binary.LittleEndian.Uint64(pg[off:]), nil
		}
	}
	return s.read(addr, 8)
}
