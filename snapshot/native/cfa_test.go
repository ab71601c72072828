package native

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

var x86Info = cieInfo{codeAlign: 1, dataAlign: -8, raReg: 16, initial: x86CIE}

// A function body as GCC describes it: push rbp; push rbx; sub; ... an early
// return path bracketed by remember/restore_state; pops at the end.
var gccProgram = []byte{
	0x41, 0x0e, 0x10, 0x86, 0x02, // +1: CFA rsp+16, rbp at CFA-16
	0x41, 0x0e, 0x18, 0x83, 0x03, // +2: CFA rsp+24, rbx at CFA-24
	0x44, 0x0e, 0x40, //             +6: CFA rsp+64
	0x4a, 0x0a, //                   +16: remember_state
	0x0e, 0x18, 0x41, 0x0e, 0x10, 0xc3, 0x41, 0x0e, 0x08, 0xc6, // +16: CFA 24; +17: CFA 16, restore rbx; +18: CFA 8, restore rbp
	0x41, 0x0b, //                   +19: restore_state
}

func TestComputeRow(t *testing.T) {
	for _, tc := range []struct {
		pc       uint64
		cfaOff   int64
		rbp, rbx ruleKind
	}{
		{0x1000, 8, ruleUnset, ruleUnset},
		{0x1001, 16, ruleOffset, ruleUnset},
		{0x1002, 24, ruleOffset, ruleOffset},
		{0x1006, 64, ruleOffset, ruleOffset},
		{0x100f, 64, ruleOffset, ruleOffset},
		{0x1010, 24, ruleOffset, ruleOffset},
		{0x1011, 16, ruleOffset, ruleUnset}, // DW_CFA_restore: back to the CIE's rule
		{0x1012, 8, ruleUnset, ruleUnset},
		{0x1013, 64, ruleOffset, ruleOffset}, // restore_state brings the CFA back too
		{0x1080, 64, ruleOffset, ruleOffset},
	} {
		rw, err := computeRow(x86Info, gccProgram, 0x1000, tc.pc)
		if err != nil {
			t.Fatalf("pc %#x: %v", tc.pc, err)
		}
		if rw.cfa.reg != regRSP || rw.cfa.off != tc.cfaOff || rw.regs[regRBP].kind != tc.rbp || rw.regs[regRBX].kind != tc.rbx {
			t.Errorf("pc %#x: CFA r%d+%d rbp %d rbx %d, want rsp+%d rbp %d rbx %d", tc.pc, rw.cfa.reg, rw.cfa.off,
				rw.regs[regRBP].kind, rw.regs[regRBX].kind, tc.cfaOff, tc.rbp, tc.rbx)
		}
		if ra := rw.regs[regRA]; ra.kind != ruleOffset || ra.off != -8 {
			t.Errorf("pc %#x: return address rule %+v, want CFA-8", tc.pc, ra)
		}
	}
	// Factored offsets: val_offset and offset_extended_sf scale by the data alignment.
	rw, err := computeRow(x86Info, []byte{0x14, 0x03, 0x02, 0x11, 0x06, 0x7e}, 0, 0)
	if rbx, rbp := rw.regs[regRBX], rw.regs[regRBP]; err != nil || rbx.kind != ruleValOffset || rbx.off != -16 || rbp.kind != ruleOffset || rbp.off != 16 {
		t.Errorf("val_offset/offset_extended_sf: %+v %+v %v", rw.regs[regRBX], rw.regs[regRBP], err)
	}
}

func TestComputeRowErrors(t *testing.T) {
	deep := bytes.Repeat([]byte{0x0a}, maxRemember+1)
	for _, tc := range []struct {
		name string
		prog []byte
		say  string
	}{
		{"restore_state without remember", []byte{0x0b}, "nothing remembered"},
		{"remember nested too deep", deep, "nested more than"},
		{"truncated operand", []byte{0x0c, 0x07}, "truncated"},
		{"truncated LEB128", []byte{0x0e, 0x80, 0x80}, "truncated"},
		{"block longer than the program", []byte{0x0f, 0x10, 0x01}, "truncated"},
		{"unknown opcode", []byte{0x3c}, "unknown call-frame instruction"},
		{"too long", make([]byte, maxProgram+1), "too long"},
	} {
		if _, err := computeRow(x86Info, tc.prog, 0, 0x10); err == nil || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.say)
		}
	}
}

// TestPLTExpression: the CFA of a PLT entry, as binutils writes it:
// rsp+8 + ((rip & 15) >= 11) * 8.
func TestPLTExpression(t *testing.T) {
	expr := []byte{0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22}
	for _, tc := range []struct{ rip, want uint64 }{{0x1000, 0x7008}, {0x100a, 0x7008}, {0x100b, 0x7010}, {0x100f, 0x7010}} {
		var r regSet
		r.set(regRSP, 0x7000)
		r.set(regRA, tc.rip)
		got, err := evalExpr(expr, &r, nil)
		if err != nil || got != tc.want {
			t.Errorf("rip %#x: %#x, %v; want %#x", tc.rip, got, err, tc.want)
		}
	}
}

// TestSignalFrameRules: register rules by expression, as glibc's __restore_rt
// has them: each register is saved in the ucontext at CFA-relative offsets.
func TestSignalFrameRules(t *testing.T) {
	mem := make([]byte, 0x200)
	binary.LittleEndian.PutUint64(mem[0x20:], 0x4242)  // saved rip
	binary.LittleEndian.PutUint64(mem[0x28:], 0x17000) // the ucontext's rsp
	sr := newStackReader(stackMem{0x10000, mem})
	var r regSet
	r.set(regRSP, 0x10000)
	r.set(regRA, 0x999)
	rw := row{cfa: cfaRule{expr: []byte{0x77, 0x28, 0x06}, set: true}} // CFA = *(rsp+0x28)
	rw.regs[regRA] = rule{kind: ruleExpr, expr: []byte{0x77, 0x20}}    // rip at rsp+0x20
	rw.regs[regRSP] = rule{kind: ruleValExpr, expr: []byte{0x77, 0x28, 0x06}}
	w := walker{mem: sr, m: NewModules(nil, nil)}
	c, res := w.byCFI(&r, &rw, true, "test")
	if res.end != "" || res.cfa != 0x17000 || c.v[regRA] != 0x4242 || c.v[regRSP] != 0x17000 || !res.signal {
		t.Errorf("caller %+v, result %+v", c, res)
	}
}

func TestEvalExprErrors(t *testing.T) {
	var r regSet
	r.set(regRSP, 0x7000)
	deref := func(uint64, int) (uint64, error) { return 0, target.ErrUnreadable }
	for _, tc := range []struct {
		name string
		expr []byte
	}{
		{"empty", nil},
		{"underflow", []byte{0x22}},
		{"unknown register", []byte{0x76, 0x00}}, // breg6 (rbp) not set
		{"register not tracked", []byte{0x92, 0x20, 0x00}},
		{"unreadable", []byte{0x77, 0x00, 0x06}},
		{"division by zero", []byte{0x31, 0x30, 0x1b}},
		{"loop", []byte{0x2f, 0xfd, 0xff}}, // skip -3: itself
		{"branch outside", []byte{0x31, 0x28, 0x00, 0x10}},
		{"location op", []byte{0x50}},
	} {
		if _, err := evalExpr(tc.expr, &r, deref); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, err := evalExpr(bytes.Repeat([]byte{0x30}, maxExprStack+1), &r, deref); !errors.Is(err, errExprStack) {
		t.Errorf("stack overflow: %v", err)
	}
}

// TestSignalFrameNullCall: a signal frame laid out as the kernel writes it
// (the ucontext at the trampoline's stack pointer, glibc's __restore_rt
// rules) over a thread that called address 0: the context gives the fault
// (a page fault at 0), the interrupted pc 0 is no zeroed stack, and the
// interrupted frame's caller is the return address at its stack top.
func TestSignalFrameNullCall(t *testing.T) {
	const uc, stack = 0x10000, 0x20000
	mem := make([]byte, 0x11000)
	put := func(a, v uint64) { binary.LittleEndian.PutUint64(mem[a-uc:], v) }
	put(uc+scRSP, stack)
	put(uc+scRIP, 0)
	put(uc+scTrapno, 14)
	put(uc+scErr, 0x14) // user instruction fetch, page not present
	put(uc+scCR2, 0)
	put(stack, 0x7f0000001234) // the return address the call pushed
	sr := newStackReader(stackMem{uc, mem})
	var r regSet
	r.set(regRSP, uc)
	r.set(regRA, 0x999)
	rw := row{cfa: cfaRule{expr: []byte{0x77, 0xa0, 0x01, 0x06}, set: true}} // CFA = *(rsp+0xa0)
	rw.regs[regRA] = rule{kind: ruleExpr, expr: []byte{0x77, 0xa8, 0x01}}    // rip at rsp+0xa8
	rw.regs[regRSP] = rule{kind: ruleValExpr, expr: []byte{0x77, 0xa0, 0x01, 0x06}}
	w := walker{mem: sr, m: NewModules(nil, nil)}
	c, res := w.byCFI(&r, &rw, true, "test")
	if res.end != "" || !res.signal || c.v[regRA] != 0 || c.v[regRSP] != stack {
		t.Fatalf("caller %+v, result %+v; want pc 0 at sp %#x, no end", c, res, uint64(stack))
	}
	want := SignalContext{PC: 0, SP: stack, Trap: 14, Err: 0x14, Addr: 0}
	if res.context == nil || *res.context != want {
		t.Errorf("context %+v, want %+v", res.context, want)
	}
	if msg := w.plausible(&r, &c, true); msg != "" {
		t.Errorf("the interrupted frame is not plausible: %s", msg)
	}
	caller, step := w.step(&c, true)
	if step.end != "" || caller.v[regRA] != 0x7f0000001234 || caller.v[regRSP] != stack+8 {
		t.Errorf("the caller of address 0: %+v, %+v", caller, step)
	}
}
