package cpython

// A thread that entered `with m:` keeps m's __exit__ on its frame's value stack
// until the block ends. Finding those slots tells which context managers (and
// so which locks) a frame holds, without guessing from source. Where the slot
// sits differs per version; what it holds is recognised by content, not by
// opcode numbers, which change every release.

const (
	setupFinally = 122 // b_type of a with/try-finally block (3.8–3.10)
	maxBlocks    = 20  // CO_MAXBLOCKS
	exitName     = "__exit__"
	aexitName    = "__aexit__" // async with (a coroutine's asyncio.Lock …)
)

// isExit tells the exit method of a with or an async with block.
func isExit(name string) bool { return name == exitName || name == aexitName }

// withOld finds the managers of the live with-blocks of a 3.8–3.10 frame: for
// each SETUP_FINALLY block, the slot below its level holds the bound __exit__.
func (p *Process) withOld(f uint64, hdr []byte, c *code) []uint64 {
	l := p.Layout
	n := int(int32(le32(hdr[l.FIblock:])))
	if n <= 0 || n > maxBlocks {
		return nil
	}
	vs := le64(hdr[l.FValuestack:])
	var out []uint64
	for i := 0; i < n; i++ {
		b := hdr[int(l.FBlockstack)+12*i:]
		typ, level := int32(le32(b)), int32(le32(b[8:]))
		if typ != setupFinally || level < 1 || level > 1<<16 {
			continue
		}
		slot, err := p.r.u64(vs + 8*uint64(level-1))
		if err != nil {
			continue
		}
		if self, ok := p.boundExitSelf(slot); ok {
			out = appendUnique(out, self)
		}
	}
	return out
}

// withNew uses the exception-table entry covering the current instruction:
// its depth says how many value-stack slots are live, and every enclosing
// with-block's __exit__ is among them (3.11–3.13 the bound method; 3.14 the
// unbound __exit__ followed by the manager itself).
func (p *Process) withNew(c *code, slots []uint64, depth int) []uint64 {
	var out []uint64
	for k := 0; k < depth; k++ {
		i := c.nLocals + k
		if i >= len(slots) || slots[i] == 0 {
			continue
		}
		if self, ok := p.boundExitSelf(slots[i]); ok {
			out = appendUnique(out, self)
			continue
		}
		if k+1 < depth && i+1 < len(slots) && slots[i+1] != 0 && p.isUnboundExit(slots[i]) {
			out = appendUnique(out, slots[i+1])
		}
	}
	return out
}

// boundExitSelf reports whether v is a bound __exit__ method and returns its self.
func (p *Process) boundExitSelf(v uint64) (uint64, bool) {
	tn, err := p.typeName(v)
	if err != nil {
		return 0, false
	}
	switch tn {
	case "builtin_function_or_method": // C method: m_ml @16, m_self @24
		ml, err := p.r.u64(v + 16)
		if err != nil || !p.exitDef(ml) {
			return 0, false
		}
	case "method": // Python method: im_func @16, im_self @24
		fn, err := p.r.u64(v + 16)
		if err != nil || !isExit(p.functionName(fn)) {
			return 0, false
		}
	default:
		return 0, false
	}
	self, err := p.r.u64(v + 24)
	return self, err == nil && self != 0
}

// exitDef reports whether the C method definition (PyMethodDef) at ml is an
// __exit__, remembering it: every `with lock:` block of a deep stack binds
// the same definition anew.
func (p *Process) exitDef(ml uint64) bool {
	if is, ok := p.exitDefs[ml]; ok {
		return is
	}
	is := false
	if np, err := p.r.u64(ml); err == nil {
		name, err := p.r.cstring(np, 16)
		is = err == nil && isExit(name)
	}
	if p.exitDefs == nil {
		p.exitDefs = map[uint64]bool{}
	}
	p.exitDefs[ml] = is
	return is
}

// isUnboundExit reports whether v is an __exit__ not bound to an instance:
// a method descriptor of a C type or a Python function.
func (p *Process) isUnboundExit(v uint64) bool {
	tn, err := p.typeName(v)
	if err != nil {
		return false
	}
	switch tn {
	case "method_descriptor", "wrapper_descriptor": // d_name @24
		np, err := p.r.u64(v + 24)
		if err != nil {
			return false
		}
		s, err := p.str(np, 16)
		return err == nil && isExit(s)
	case "function":
		return isExit(p.functionName(v))
	}
	return false
}

// functionName returns co_name of a function's code.
func (p *Process) functionName(fn uint64) string {
	c, err := p.codeAt(p.funcCode(fn))
	if err != nil {
		return ""
	}
	return c.Name
}

// funcCode returns the address of a function's code object (0 when unreadable).
func (p *Process) funcCode(fn uint64) uint64 {
	cp, _ := p.r.u64(fn + uint64(p.Layout.FuncCode))
	return cp
}

func appendUnique(s []uint64, v uint64) []uint64 {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
