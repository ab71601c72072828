package cpython

// A thread blocked in lock.acquire(), or in the __enter__ of `with lock:`,
// waits in C code called by its innermost Python frame. The kernel names only
// the futex; from 3.13.1 on, what ties that futex to the lock is a wait entry
// on the thread's C stack, which a core can lack (gdb's gcore zero-fills
// stack chunks it cannot read). The frame still says what it is calling: its
// current instruction and the value-stack slots that instruction works on.
//
// Only what the interpreter keeps exactly is read, never a guess from slots
// that may be stale:
//
//   - 3.14 saves the frame's stack pointer before every escaping call, and a
//     CALL keeps its inputs [callable, self_or_null, args…] (CALL_KW: and the
//     keyword names) on the stack while the callee runs. For the thread's
//     current frame at a CALL, the slots under the arguments are exact. That
//     covers lock.acquire() and `with lock:` (LOAD_SPECIAL pushes the unbound
//     __enter__ and the manager, then CALL 0).
//   - 3.11–3.13 save no stack pointer while a frame runs (stacktop is -1), so a
//     CALL's slots cannot be found. BEFORE_WITH can: the with block's
//     exception-table entry starts at the next instruction, and its depth
//     counts the slot where BEFORE_WITH keeps the manager (3.12/3.13) or its
//     bound __exit__ (3.11) while __enter__ runs.
//   - 3.8–3.10 save neither (f_stacktop is NULL, f_stackdepth -1 while a frame
//     runs), and SETUP_WITH's block is pushed only after __enter__ returns.
//
// What the slots hold is then checked by content: a method of the right name
// and, for a method descriptor, a self of the descriptor's type.

// Ways a call is read, for the JSON model (snapshot.Call.Via).
const (
	// ViaStackPointer: the slots under a CALL's arguments, at the stack
	// pointer the frame saved before the call (3.14).
	ViaStackPointer = "stack-pointer"
	// ViaWithEntry: the slot of the with block being entered, at the depth
	// of the exception-table entry that starts after BEFORE_WITH (3.11–3.13).
	ViaWithEntry = "with-entry"
)

// Call is the method a frame is calling, as its instruction and value stack
// say.
type Call struct {
	Self   uint64 // the object whose method runs
	Method string // the method's name: "acquire", "__enter__"
	Via    string // ViaStackPointer or ViaWithEntry
}

const (
	enterName = "__enter__"
	dType     = 16 // PyDescrObject.d_type
	dName     = 24 // PyDescrObject.d_name
)

// calling reads what the frame at f is calling; current says the frame is
// the thread's current frame (nothing, not even a frame being pushed, above
// it). It returns nil when the frame's instruction and stack do not say so
// exactly.
func (p *Process) calling(f uint64, hdr []byte, c *code, instr uint64, unit int, current bool) *Call {
	l := p.Layout
	switch {
	case l.IFStackpointer >= 0 && len(l.CallOps) > 0:
		if current {
			return p.callAtStackPointer(f, hdr, c, instr)
		}
	case l.OpBeforeWith >= 0:
		return p.enteringWith(f, c, instr, unit)
	}
	return nil
}

// instruction reads the opcode and oparg of the code unit at instr.
func (p *Process) instruction(instr uint64) (op, arg uint8, ok bool) {
	b, err := p.r.view(instr, 2)
	if err != nil || len(b) < 2 {
		return 0, 0, false
	}
	return b[0], b[1], true
}

// callAtStackPointer: 3.14, the current frame stopped in a CALL or CALL_KW.
func (p *Process) callAtStackPointer(f uint64, hdr []byte, c *code, instr uint64) *Call {
	l := p.Layout
	op, arg, ok := p.instruction(instr)
	if !ok || c.stackSize < 0 {
		return nil
	}
	// Slots above the arguments: none for CALL, the keyword names for CALL_KW.
	// An oparg of 256 or more comes with EXTENDED_ARG; the low byte then
	// points below the callable, where the content check below fails.
	above := 0
	switch {
	case hasOp(l.CallOps, op):
	case hasOp(l.CallKWOps, op):
		above = 1
	default:
		return nil
	}
	base := f + uint64(l.IFLocalsplus) + 8*uint64(c.nLocals)
	sp := le64(hdr[l.IFStackpointer:])
	if sp < base || (sp-base)%8 != 0 || (sp-base)/8 > uint64(c.stackSize) {
		return nil // not this frame's stack: stale or torn
	}
	callable := int((sp-base)/8) - above - int(arg) - 2
	if callable < 0 {
		return nil
	}
	fn, err1 := p.stackSlot(base, callable)
	selfOrNull, err2 := p.stackSlot(base, callable+1)
	if err1 != nil || err2 != nil {
		return nil
	}
	self, name, ok := p.methodOf(fn, selfOrNull)
	if !ok {
		return nil
	}
	return &Call{Self: self, Method: name, Via: ViaStackPointer}
}

// enteringWith: 3.11–3.13, a frame at BEFORE_WITH, which runs __enter__.
func (p *Process) enteringWith(f uint64, c *code, instr uint64, unit int) *Call {
	l := p.Layout
	op, _, ok := p.instruction(instr)
	if !ok || int(op) != l.OpBeforeWith {
		return nil
	}
	// BEFORE_WITH has no inline cache: the with body starts at the next unit.
	depth, lasti, ok := exceptionTableEntryAt(c.excTable, unit+1)
	if !ok || !lasti || depth < 1 || (c.stackSize >= 0 && depth > c.stackSize) {
		return nil
	}
	v, err := p.stackSlot(f+uint64(l.IFLocalsplus)+8*uint64(c.nLocals), depth-1)
	if err != nil || v == 0 {
		return nil
	}
	if l.WithEnterExit {
		self, ok := p.boundExitSelf(v)
		if !ok {
			return nil
		}
		v = self
	} else if _, err := p.typeName(v); err != nil {
		return nil
	}
	return &Call{Self: v, Method: enterName, Via: ViaWithEntry}
}

// stackSlot reads value-stack slot i as an object pointer (0 for NULL or a
// tagged int).
func (p *Process) stackSlot(base uint64, i int) (uint64, error) {
	v, err := p.r.u64(base + 8*uint64(i))
	if err != nil {
		return 0, err
	}
	if p.Layout.StackRefTagged {
		if v == 1 || v&3 == 3 {
			return 0, nil
		}
		v &^= 3
	}
	return v, nil
}

// methodOf names the method a CALL's two lowest inputs call and its self:
// an unbound method descriptor or function with self in the second slot, or
// a bound method with NULL there.
func (p *Process) methodOf(fn, selfOrNull uint64) (self uint64, name string, ok bool) {
	if fn == 0 {
		return 0, "", false
	}
	tn, err := p.typeName(fn)
	if err != nil {
		return 0, "", false
	}
	switch tn {
	case "method_descriptor": // a C method of a C type, looked up unbound
		if selfOrNull == 0 || !p.descrFits(fn, selfOrNull) {
			return 0, "", false
		}
		np, err := p.r.u64(fn + dName)
		if err != nil {
			return 0, "", false
		}
		if name, err = p.str(np, maxNameLen); err != nil {
			return 0, "", false
		}
		return selfOrNull, name, true
	case "function": // a Python method, looked up unbound
		if selfOrNull == 0 {
			return 0, "", false
		}
		name = p.functionName(fn)
		return selfOrNull, name, name != ""
	case "builtin_function_or_method": // a bound C method: m_ml @16, m_self @24
		if selfOrNull != 0 {
			return 0, "", false
		}
		ml, err1 := p.r.u64(fn + 16)
		self, err2 := p.r.u64(fn + 24)
		if err1 != nil || err2 != nil || self == 0 {
			return 0, "", false
		}
		np, err := p.r.u64(ml)
		if err != nil {
			return 0, "", false
		}
		if name, err = p.r.cstring(np, maxNameLen); err != nil {
			return 0, "", false
		}
		return self, name, true
	case "method": // a bound Python method: im_func @16, im_self @24
		if selfOrNull != 0 {
			return 0, "", false
		}
		fnc, err1 := p.r.u64(fn + 16)
		self, err2 := p.r.u64(fn + 24)
		if err1 != nil || err2 != nil || self == 0 {
			return 0, "", false
		}
		name = p.functionName(fnc)
		return self, name, name != ""
	}
	return 0, "", false
}

// descrFits reports whether self's type is the descriptor's type or derives
// from it, as the call itself checks before running the method.
func (p *Process) descrFits(descr, self uint64) bool {
	want, err := p.r.u64(descr + dType)
	if err != nil || want == 0 {
		return false
	}
	t, err := p.typeOf(self)
	for i := 0; err == nil && t != 0 && i < maxBaseChain; i++ {
		if t == want {
			return true
		}
		t, err = p.r.u64(t + tpBase)
	}
	return false
}

func hasOp(ops []uint8, op uint8) bool {
	for _, o := range ops {
		if o == op {
			return true
		}
	}
	return false
}
