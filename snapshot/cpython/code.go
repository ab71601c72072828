package cpython

import (
	"fmt"
)

// code is what pyhang keeps of a code object; cached per address, since the
// same functions appear in many threads' stacks.
type code struct {
	Addr       uint64
	Name       string
	Qualname   string
	File       string
	FirstLine  int
	lineTable  []byte
	excTable   []byte
	localNames []string
	localKinds []byte   // 3.11+; nil before
	nLocals    int      // co_nlocals (≤3.10) / co_nlocalsplus (3.11+)
	cellNames  []string // co_cellvars then co_freevars (≤3.10; 3.11+ has them among localNames)
	firstTrace int      // _co_firsttraceable (3.11+)
	stackSize  int      // co_stacksize (-1 when unread)
	// nArgs counts the leading names that are arguments: positional and
	// keyword-only ones, then *args and **kwargs.
	nArgs int

	// The bytecode, read only for an instruction without a line.
	units     []byte
	unitsRead bool

	// Decoding a table is linear in its length; the same few positions of a
	// function recur across threads and recursion, so results are memoised.
	lines  map[int]int
	depths map[int]int
	locs   map[int]location
	encl   map[int]enclosed
}

// lineAt is line, memoised per position.
func (c *code) lineAt(minor, at int) int {
	if l, ok := c.lines[at]; ok {
		return l
	}
	if c.lines == nil {
		c.lines = map[int]int{}
	}
	l := c.line(minor, at)
	c.lines[at] = l
	return l
}

// depthAt is the value-stack depth of the exception-table entry covering
// code unit unit of c: how many slots are live there (0 when none covers
// it). The compiler leaves a loop's backward jump out of the entry of the
// with or try block around the loop, yet that jump is where the interpreter
// checks for a signal to handle or a GIL drop request, so a thread is often
// seen on it: an uncovered backward jump has the depth of the loop head it
// jumps to, where the same blocks are live.
func (p *Process) depthAt(c *code, unit int) int {
	if d, ok := c.depths[unit]; ok {
		return d
	}
	if c.depths == nil {
		c.depths = map[int]int{}
	}
	d := 0
	if _, depth, _, ok := exceptionTableEntry(c.excTable, unit); ok {
		d = max(depth, 0)
	} else if target, ok := backJumpTarget(p.Layout, p.codeUnits(c), unit); ok && target != unit {
		if _, depth, _, ok := exceptionTableEntry(c.excTable, target); ok {
			d = max(depth, 0)
		}
	}
	c.depths[unit] = d
	return d
}

const (
	maxTableLen = 1 << 20 // line and exception tables
	maxLocals   = 1 << 12
	maxStack    = 1 << 16 // co_stacksize: far above what the compiler emits
	kindHidden  = 0x10
	kindCell    = 0x40
	kindFree    = 0x80
)

// codeAt decodes the code object at addr.
func (p *Process) codeAt(addr uint64) (*code, error) {
	e := &p.recentCodes[(addr/16)%recentCodes]
	if *e != nil && (*e).Addr == addr {
		return *e, nil
	}
	if c, ok := p.codes[addr]; ok {
		if c == nil {
			return nil, fmt.Errorf("code object at %#x unreadable", addr)
		}
		*e = c
		return c, nil
	}
	c, err := p.readCode(addr)
	if err != nil {
		p.codes[addr] = nil
		return nil, fmt.Errorf("code object at %#x: %w", addr, err)
	}
	p.codes[addr] = c
	*e = c
	return c, nil
}

// recentCodes is how many code objects Process.recentCodes holds: the
// frames of a deep stack run the same few functions over and over.
const recentCodes = 64

func (p *Process) readCode(addr uint64) (*code, error) {
	tn, err := p.typeName(addr)
	if err != nil {
		return nil, err
	}
	if tn != "code" {
		return nil, fmt.Errorf("is a %q, not code", tn)
	}
	l := p.Layout
	c := &code{Addr: addr, stackSize: -1}
	ptr := func(off int64) uint64 {
		v, e := p.r.u64(addr + uint64(off))
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	name, file := ptr(l.CoName), ptr(l.CoFilename)
	first, e := p.r.i32(addr + uint64(l.CoFirstlineno))
	if err != nil || e != nil {
		return nil, fmt.Errorf("header: %w", firstErr(err, e))
	}
	c.FirstLine = int(first)
	if c.Name, err = p.str(name, maxNameLen); err != nil {
		return nil, fmt.Errorf("co_name: %w", err)
	}
	if c.File, err = p.str(file, maxNameLen); err != nil {
		return nil, fmt.Errorf("co_filename: %w", err)
	}
	c.Qualname = c.Name
	if l.CoQualname >= 0 {
		if q, e := p.r.u64(addr + uint64(l.CoQualname)); e == nil {
			if s, e := p.str(q, maxNameLen); e == nil {
				c.Qualname = s
			}
		}
	}
	if lt, e := p.r.u64(addr + uint64(l.CoLinetable)); e == nil {
		c.lineTable, _, _ = p.bytesObj(lt, maxTableLen)
	}
	if l.CoExceptiontable >= 0 {
		if et, e := p.r.u64(addr + uint64(l.CoExceptiontable)); e == nil {
			c.excTable, _, _ = p.bytesObj(et, maxTableLen)
		}
	}
	if l.CodeFirstTrace >= 0 {
		if ft, e := p.r.i32(addr + uint64(l.CodeFirstTrace)); e == nil && ft >= 0 && ft < 1<<20 {
			c.firstTrace = int(ft)
		}
	}
	if l.CoStacksize >= 0 {
		if n, e := p.r.i32(addr + uint64(l.CoStacksize)); e == nil && n >= 0 && n <= maxStack {
			c.stackSize = int(n)
		}
	}
	c.nArgs = p.argCount(addr)
	if l.CoNlocalsplus >= 0 {
		n, e := p.r.i32(addr + uint64(l.CoNlocalsplus))
		if e == nil && n >= 0 && n <= maxLocals {
			c.nLocals = int(n)
		}
		if kp, e := p.r.u64(addr + uint64(l.CoLocalsKinds)); e == nil {
			c.localKinds, _, _ = p.bytesObj(kp, maxLocals)
		}
		if np, e := p.r.u64(addr + uint64(l.CoLocalsNames)); e == nil {
			c.localNames = p.names(np)
		}
	} else {
		n, e := p.r.i32(addr + uint64(l.CoNlocals))
		if e == nil && n >= 0 && n <= maxLocals {
			c.nLocals = int(n)
		}
		if vp, e := p.r.u64(addr + uint64(l.CoVarnames)); e == nil {
			c.localNames = p.names(vp)
		}
		// Cell and free variables follow the locals in f_localsplus; a
		// name that does not decode leaves the rest unplaced.
		if cp, e := p.r.u64(addr + uint64(l.CoCellvars)); e == nil && l.CoCellvars >= 0 {
			c.cellNames = allNamed(p.names(cp))
		}
		if fp, e := p.r.u64(addr + uint64(l.CoFreevars)); e == nil && l.CoFreevars >= 0 && c.cellNames != nil {
			if free := allNamed(p.names(fp)); free != nil {
				c.cellNames = append(c.cellNames, free...)
			}
		}
		if len(c.cellNames) > maxLocals {
			c.cellNames = c.cellNames[:maxLocals]
		}
	}
	return c, nil
}

// Code flags that add an argument (Include/cpython/code.h).
const (
	coVarargs     = 0x4
	coVarkeywords = 0x8
)

// argCount returns how many leading local names of a code object are its
// arguments; 0 when the header is unreadable.
func (p *Process) argCount(addr uint64) int {
	l := p.Layout
	args, e1 := p.r.i32(addr + uint64(l.CoArgcount))
	kw, e2 := p.r.i32(addr + uint64(l.CoKwonlyargcount))
	flags, e3 := p.r.i32(addr + uint64(l.CoFlags))
	if e1 != nil || e2 != nil || e3 != nil || args < 0 || kw < 0 || args+kw > maxLocals {
		return 0
	}
	n := int(args + kw)
	if flags&coVarargs != 0 {
		n++
	}
	if flags&coVarkeywords != 0 {
		n++
	}
	return n
}

// allNamed returns names when every one is a name, else nil: cells are
// read only from a tuple that is what it should be (a damaged one would
// have every slot after the locals read as a cell).
func allNamed(names []string) []string {
	for _, n := range names {
		if n == "" {
			return nil
		}
	}
	return names
}

// names decodes a tuple of str.
func (p *Process) names(tuple uint64) []string {
	items, err := p.tupleItems(tuple, maxLocals)
	if err != nil {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = p.str(it, maxNameLen)
	}
	return out
}

// line returns the source line of the instruction at unit (code units, 3.10+)
// or byte offset (3.8/3.9).
func (c *code) line(minor, at int) int {
	switch {
	case minor <= 9:
		return lineFromLnotab(c.lineTable, c.FirstLine, at)
	case minor == 10:
		return lineFromLinetable310(c.lineTable, c.FirstLine, at)
	default:
		return c.locationAt(at).line
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
