package cpython

// Some instructions have no line: the compiler marks them artificial (the
// jump back to the head of a loop in 3.11, exception-handling cleanup, the
// 3.10 ranges marked -128). CPython itself then reports none (frame.f_lineno
// is None, faulthandler prints "???"), yet a thread can stop on one: 3.11
// checks for a GIL drop request on the back-jump of every loop. pyhang then
// reports the line of the statement the instruction belongs to, and says so.

// Line bases: how Frame.Line was found when the instruction has no line of
// its own ("" when it has one, the line CPython reports).
const (
	// LineLoopHead: the instruction jumps back to the head of a loop; the
	// line is that of the loop's head (its for or while statement).
	LineLoopHead = "loop-head"
	// LinePrevious: the line of the nearest instruction before it that has
	// one (the statement it was compiled for).
	LinePrevious = "previous-instruction"
	// LineFirst: no instruction before it has a line; co_firstlineno.
	LineFirst = "first-line"
)

// maxLineScan bounds the instructions looked at before one without a line.
const maxLineScan = 512

// unitLine is the line of code unit k as CPython reports it, -1 for none.
func (p *Process) unitLine(c *code, k int) int {
	if p.Layout.Minor >= 11 {
		return c.locationAt(k).line
	}
	return c.line(p.Layout.Minor, k)
}

// enclosingLine returns the line to report for code unit `unit` of c, which
// has none of its own, and how it was found.
func (p *Process) enclosingLine(c *code, unit int) (int, string) {
	// Memoised per position: the scan is linear in the table for each
	// instruction it looks at, and the same position recurs across frames.
	if e, ok := c.encl[unit]; ok {
		return e.line, e.basis
	}
	var units []byte
	if p.Layout.OpJumpBack != nil || p.Layout.OpJumpAbsolute != 0 {
		units = p.codeUnits(c)
	}
	line, basis := enclosingLine(p.Layout, units, func(k int) int { return p.unitLine(c, k) }, c.FirstLine, unit)
	if c.encl == nil {
		c.encl = map[int]enclosed{}
	}
	c.encl[unit] = enclosed{line, basis}
	return line, basis
}

// enclosed is a memoised enclosingLine.
type enclosed struct {
	line  int
	basis string
}

// enclosingLine is the rule itself, on the code's bytecode and its lines
// (lineOf gives -1 for none): the line of a backward jump's target, else
// that of the nearest instruction before with one, else the first line.
func enclosingLine(l *Layout, units []byte, lineOf func(int) int, firstLine, unit int) (int, string) {
	if unit < 0 {
		return firstLine, LineFirst
	}
	if target, ok := backJumpTarget(l, units, unit); ok {
		if line := lineOf(target); line >= 0 {
			return line, LineLoopHead
		}
	}
	step := 1
	if l.Minor <= 9 {
		step = 2 // 3.8/3.9 positions are byte offsets of 2-byte instructions
	}
	for k, n := unit-step, 0; k >= 0 && n < maxLineScan; k, n = k-step, n+1 {
		if line := lineOf(k); line >= 0 {
			return line, LinePrevious
		}
	}
	return firstLine, LineFirst
}

// backJumpTarget decodes the instruction at unit and, when it is a backward
// jump, returns the unit it jumps to.
func backJumpTarget(l *Layout, units []byte, unit int) (int, bool) {
	if unit < 0 || 2*unit+1 >= len(units) {
		return 0, false
	}
	op, arg := units[2*unit], int(units[2*unit+1])
	// EXTENDED_ARG prefixes carry the high bytes of the argument.
	for k, shift := unit-1, 8; k >= 0 && k >= unit-3 && units[2*k] == l.OpExtendedArg; k, shift = k-1, shift+8 {
		arg |= int(units[2*k+1]) << shift
	}
	if op == l.OpJumpAbsolute && l.OpJumpAbsolute != 0 {
		if arg < unit {
			return arg, true
		}
		return 0, false
	}
	caches, ok := l.OpJumpBack[op]
	if !ok {
		return 0, false
	}
	target := unit + 1 + caches - arg
	if target < 0 || target > unit {
		return 0, false
	}
	return target, true
}

// maxCodeUnits bounds the bytecode read for one code object (2 bytes a unit).
const maxCodeUnits = 1 << 20

// codeUnits returns the code object's bytecode, read once: the adaptive code
// inside the object (3.11+, as specialised at run time) or co_code (3.8–3.10).
// nil when unreadable.
func (p *Process) codeUnits(c *code) []byte {
	if c.unitsRead {
		return c.units
	}
	c.unitsRead = true
	l := p.Layout
	if l.CoCodeAdaptive >= 0 {
		n, err := p.r.i64(c.Addr + obSize) // ob_size counts code units
		if err != nil || n <= 0 || n > maxCodeUnits {
			return nil
		}
		c.units, _ = p.r.bytes(c.Addr+uint64(l.CoCodeAdaptive), int(2*n))
		return c.units
	}
	if l.CoCode >= 0 {
		if co, err := p.r.u64(c.Addr + uint64(l.CoCode)); err == nil {
			c.units, _, _ = p.bytesObj(co, 2*maxCodeUnits)
		}
	}
	return c.units
}
