package cpython

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

// heap is hand-written target memory: objects are laid out one after the
// other from heapBase, each in its own 64-byte-aligned block.
type heap struct {
	data []byte
	next uint64
}

const heapBase = 0x100000

func newHeap() *heap { return &heap{data: make([]byte, 1<<16), next: heapBase} }

func (h *heap) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < heapBase || addr-heapBase >= uint64(len(h.data)) {
		return 0, fmt.Errorf("%#x: %w", addr, target.ErrUnreadable)
	}
	n := copy(p, h.data[addr-heapBase:])
	if n < len(p) {
		return n, target.ErrUnreadable
	}
	return n, nil
}

func (h *heap) alloc(n int) uint64 {
	a := h.next
	h.next += (uint64(n) + 63) &^ 63
	return a
}

func (h *heap) put64(addr, v uint64) {
	binary.LittleEndian.PutUint64(h.data[addr-heapBase:], v)
}

func (h *heap) put(addr uint64, b []byte) { copy(h.data[addr-heapBase:], b) }

// cstr stores a NUL-terminated string.
func (h *heap) cstr(s string) uint64 {
	a := h.alloc(len(s) + 1)
	h.put(a, []byte(s))
	return a
}

// typ makes a type object named name whose tp_base is base.
func (h *heap) typ(name string, base uint64) uint64 {
	t := h.alloc(320)
	h.put64(t+tpName, h.cstr(name))
	h.put64(t+tpBase, base)
	return t
}

// obj makes an object of type t with room for n bytes.
func (h *heap) obj(t uint64, n int) uint64 {
	o := h.alloc(max(n, 32))
	h.put64(o+obType, t)
	return o
}

// pystr makes a compact ASCII str with l's data offset.
func (h *heap) pystr(l *Layout, t uint64, s string) uint64 {
	o := h.obj(t, int(l.StrASCIIData)+len(s)+1)
	h.put64(o+strLength, uint64(len(s)))
	binary.LittleEndian.PutUint32(h.data[o+strState-heapBase:], 1<<6|1<<5|1<<2) // ascii, compact, kind 1
	h.put(o+uint64(l.StrASCIIData), []byte(s))
	return o
}

type heapTarget struct{ *heap }

func (heapTarget) Kind() string               { return "core" }
func (heapTarget) PID() int                   { return 1 }
func (heapTarget) Executable() string         { return "heap" }
func (heapTarget) Mappings() []target.Mapping { return nil }
func (heapTarget) Threads() []target.Thread   { return nil }
func (heapTarget) Signal() *target.SigInfo    { return nil }
func (heapTarget) Warnings() []string         { return nil }
func (heapTarget) Close() error               { return nil }
func (heapTarget) OpenFile(string) (target.File, error) {
	return nil, fmt.Errorf("no files")
}

// callWorld is one version's memory with a lock, an unrelated object, and
// the callables a frame can be calling them through.
type callWorld struct {
	h                           *heap
	p                           *Process
	lockType, lock, other       uint64
	enterDescr, acquireDescr    uint64 // method_descriptor of _thread.lock
	otherDescr                  uint64 // a method_descriptor of another type
	boundExit, boundAcquire     uint64 // builtin_function_or_method bound to lock
	frame, localsplus, codeUnit uint64
}

const (
	callLocals = 3 // co_nlocalsplus of the frame's code
	callStack  = 6 // co_stacksize
)

func newCallWorld(t *testing.T, minor int) *callWorld {
	t.Helper()
	l, err := LayoutFor(minor)
	if err != nil {
		t.Fatal(err)
	}
	h := newHeap()
	w := &callWorld{h: h}
	w.p = &Process{Target: heapTarget{h}, Layout: l, r: newReader(heapTarget{h}), typeNames: map[uint64]string{},
		codes: map[uint64]*code{}, kinds: map[uint64]string{}, attrs: map[uint64]map[string]uint64{}, scanned: map[uint64]uint64{}}
	strType := h.typ("str", 0)
	descrType := h.typ("method_descriptor", 0)
	builtinType := h.typ("builtin_function_or_method", 0)
	w.lockType = h.typ("_thread.lock", 0)
	otherType := h.typ("Other", 0)
	w.lock, w.other = h.obj(w.lockType, 40), h.obj(otherType, 40)
	descr := func(owner uint64, name string) uint64 {
		d := h.obj(descrType, 64)
		h.put64(d+dType, owner)
		h.put64(d+dName, h.pystr(l, strType, name))
		return d
	}
	w.enterDescr, w.acquireDescr = descr(w.lockType, "__enter__"), descr(w.lockType, "acquire")
	w.otherDescr = descr(otherType, "acquire")
	bound := func(name string, self uint64) uint64 {
		ml := h.alloc(32) // PyMethodDef: ml_name first
		h.put64(ml, h.cstr(name))
		b := h.obj(builtinType, 48)
		h.put64(b+16, ml)
		h.put64(b+24, self)
		return b
	}
	w.boundExit, w.boundAcquire = bound("__exit__", w.lock), bound("acquire", w.lock)
	w.frame = h.alloc(int(max(l.IFLocalsplus, l.FLocalsplus)) + 8*(callLocals+callStack))
	w.localsplus = w.frame + uint64(max(l.IFLocalsplus, 0))
	w.codeUnit = h.alloc(64)
	return w
}

// slot writes value-stack slot i (above the locals), as a 3.14 stack
// reference would carry it when tag is set.
func (w *callWorld) slot(i int, v uint64, tag bool) {
	if tag && v != 0 {
		v |= 1 // a borrowed (deferred) reference
	}
	if w.p.Layout.StackRefTagged && v == 0 {
		v = 1 // PyStackRef_NULL
	}
	w.h.put64(w.localsplus+8*uint64(callLocals+i), v)
}

func (w *callWorld) instr(op, arg uint8) { w.h.put(w.codeUnit, []byte{op, arg}) }

// call runs the derivation for the frame, with the stack pointer at depth
// (3.14) and the given exception table (3.11–3.13).
func (w *callWorld) call(depth int, exc []byte, current bool) *Call {
	l := w.p.Layout
	hdr := make([]byte, 128)
	if l.IFStackpointer >= 0 {
		binary.LittleEndian.PutUint64(hdr[l.IFStackpointer:], w.localsplus+8*uint64(callLocals+depth))
	}
	c := &code{nLocals: callLocals, stackSize: callStack, excTable: exc}
	w.p.r = newReader(heapTarget{w.h}) // memory changed: no cached pages
	return w.p.calling(w.frame, hdr, c, w.codeUnit, 7, current)
}

func wantCall(t *testing.T, what string, got *Call, self uint64, method, via string) {
	t.Helper()
	if self == 0 {
		if got != nil {
			t.Errorf("%s: got %+v, want none", what, *got)
		}
		return
	}
	if got == nil || got.Self != self || got.Method != method || got.Via != via {
		t.Errorf("%s: got %+v, want {%#x %s %s}", what, got, self, method, via)
	}
}

// withEntry is an exception table whose with-body entry starts at unit 8
// (after a BEFORE_WITH at unit 7) with the given depth and lasti.
func withEntry(depth int, lasti bool) []byte {
	dl := byte(depth << 1)
	if lasti {
		dl |= 1
	}
	return []byte{0x80 | 2, 4, 30, 0, 0x80 | 8, 3, 40, dl}
}

// TestCallingWithEntry: 3.11–3.13 read the manager of a with statement being
// entered from the slot the with block's exception-table entry counts.
func TestCallingWithEntry(t *testing.T) {
	for _, minor := range []int{11, 12, 13} {
		t.Run(fmt.Sprintf("3.%d", minor), func(t *testing.T) {
			w := newCallWorld(t, minor)
			l := w.p.Layout
			op := uint8(l.OpBeforeWith)
			inSlot := w.lock // 3.12/3.13: the manager until __enter__ returns
			if l.WithEnterExit {
				inSlot = w.boundExit // 3.11: its bound __exit__ already
			}
			w.slot(0, w.other, false) // an enclosing block's
			w.slot(1, inSlot, false)
			w.slot(2, w.acquireDescr, false) // stale, above the live stack
			w.instr(op, 0)
			wantCall(t, "BEFORE_WITH", w.call(0, withEntry(2, true), false), w.lock, "__enter__", ViaWithEntry)
			wantCall(t, "current frame", w.call(0, withEntry(2, true), true), w.lock, "__enter__", ViaWithEntry)
			wantCall(t, "entry without lasti (not a with block)", w.call(0, withEntry(2, false), false), 0, "", "")
			wantCall(t, "depth 0", w.call(0, withEntry(0, true), false), 0, "", "")
			wantCall(t, "depth above co_stacksize", w.call(0, withEntry(callStack+1, true), false), 0, "", "")
			wantCall(t, "no entry after the instruction", w.call(0, withEntry(2, true)[:4], false), 0, "", "")
			w.instr(op+1, 0)
			wantCall(t, "another instruction", w.call(0, withEntry(2, true), false), 0, "", "")
			w.instr(op, 0)
			w.slot(1, 0, false)
			wantCall(t, "NULL slot", w.call(0, withEntry(2, true), false), 0, "", "")
			if l.WithEnterExit {
				w.slot(1, w.lock, false)
				wantCall(t, "3.11 slot without the bound __exit__", w.call(0, withEntry(2, true), false), 0, "", "")
			}
		})
	}
}

// TestCallingStackPointer: 3.14 reads a CALL's callable and self under its
// arguments, at the stack pointer the current frame saved.
func TestCallingStackPointer(t *testing.T) {
	w := newCallWorld(t, 14)
	l := w.p.Layout
	call, callKW := l.CallOps[0], l.CallKWOps[0]

	// with lock:  →  [exit, lock, __enter__, lock]; CALL 0
	w.slot(0, w.other, true)
	w.slot(1, w.lock, true)
	w.slot(2, w.enterDescr, false)
	w.slot(3, w.lock, true)
	w.slot(4, w.acquireDescr, false) // stale, above the stack pointer
	w.instr(call, 0)
	wantCall(t, "with: CALL 0", w.call(4, nil, true), w.lock, "__enter__", ViaStackPointer)
	wantCall(t, "not the current frame", w.call(4, nil, false), 0, "", "")
	for _, op := range l.CallOps {
		w.instr(op, 0)
		wantCall(t, fmt.Sprintf("CALL family opcode %d", op), w.call(4, nil, true), w.lock, "__enter__", ViaStackPointer)
	}
	w.instr(call, 0)
	wantCall(t, "stack pointer one slot low", w.call(3, nil, true), 0, "", "")
	wantCall(t, "stack pointer above co_stacksize", w.call(callStack+1, nil, true), 0, "", "")
	wantCall(t, "stack pointer below the stack", w.call(-1, nil, true), 0, "", "")
	w.instr(call, 4)
	wantCall(t, "more arguments than the stack holds", w.call(4, nil, true), 0, "", "")
	w.instr(callKW-1, 0)
	wantCall(t, "not a call", w.call(4, nil, true), 0, "", "")

	// lock.acquire(timeout=…)  →  [acquire, lock, 5, ('timeout',)]; CALL_KW 1
	w.slot(0, w.acquireDescr, false)
	w.slot(1, w.lock, true)
	w.slot(2, 5<<2|3, false) // a tagged int
	w.slot(3, w.other, false)
	w.instr(callKW, 1)
	wantCall(t, "acquire: CALL_KW 1", w.call(4, nil, true), w.lock, "acquire", ViaStackPointer)
	w.instr(call, 1)
	wantCall(t, "the same stack read as CALL 1", w.call(4, nil, true), 0, "", "")

	// lock.acquire()  →  [acquire, lock]; CALL 0
	w.instr(call, 0)
	wantCall(t, "acquire: CALL 0", w.call(2, nil, true), w.lock, "acquire", ViaStackPointer)
	w.slot(1, w.other, true)
	wantCall(t, "self of another type than the descriptor's", w.call(2, nil, true), 0, "", "")
	w.slot(1, 0, false)
	wantCall(t, "unbound descriptor with NULL self", w.call(2, nil, true), 0, "", "")

	// f = lock.acquire; f()  →  [bound acquire, NULL]; CALL 0
	w.slot(0, w.boundAcquire, false)
	wantCall(t, "bound C method", w.call(2, nil, true), w.lock, "acquire", ViaStackPointer)
	w.slot(1, w.lock, true)
	wantCall(t, "bound C method with a self slot", w.call(2, nil, true), 0, "", "")
	w.slot(0, w.otherDescr, false)
	w.slot(1, w.other, true)
	wantCall(t, "another type's acquire", w.call(2, nil, true), w.other, "acquire", ViaStackPointer)
}

// TestCallingOldVersions: 3.8–3.10 keep no stack depth for a running frame.
func TestCallingOldVersions(t *testing.T) {
	for _, minor := range []int{8, 9, 10} {
		w := newCallWorld(t, minor)
		w.instr(143, 0) // SETUP_WITH
		if c := w.call(0, withEntry(2, true), true); c != nil {
			t.Errorf("3.%d: got %+v, want none", minor, *c)
		}
	}
}
