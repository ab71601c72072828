package native

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The x86-64 DWARF register numbers the unwinder tracks (System V psABI,
// figure 3.36): the general registers and the return address column.
const (
	regRAX = iota
	regRDX
	regRCX
	regRBX
	regRSI
	regRDI
	regRBP
	regRSP
	regR8
	regR9
	regR10
	regR11
	regR12
	regR13
	regR14
	regR15
	regRA // the return address (rip)
	nregs
)

// calleeSaved are the registers a called function gives back unchanged: a
// rule that does not mention them means "same value". Any other register an
// outer frame held is lost at a call unless a rule restores it.
const calleeSaved = 1<<regRBX | 1<<regRBP | 1<<regR12 | 1<<regR13 | 1<<regR14 | 1<<regR15

// ruleKind says how to recover a register of the caller (DWARF 5, 6.4.1).
type ruleKind uint8

const (
	ruleUnset     ruleKind = iota // not mentioned: same value if callee-saved, else unknown
	ruleUndefined                 // no value; for the return address: the outermost frame
	ruleSame                      // unchanged
	ruleOffset                    // saved at CFA+off
	ruleValOffset                 // the value is CFA+off
	ruleRegister                  // held in register reg
	ruleExpr                      // saved at the address expr computes (CFA pushed first)
	ruleValExpr                   // the value expr computes (CFA pushed first)
)

type rule struct {
	kind ruleKind
	reg  uint64
	off  int64
	expr []byte
}

// cfaRule computes the canonical frame address: reg+off, or expr.
type cfaRule struct {
	reg  uint64
	off  int64
	expr []byte // non-nil: DW_CFA_def_cfa_expression
	set  bool
}

// row is one row of the call-frame table: how to find the caller's frame
// from the registers at one program counter.
type row struct {
	cfa  cfaRule
	regs [nregs]rule
}

// cie is what a row is computed from: the CIE's alignment factors, return
// address column and initial instructions, and the FDE's own instructions.
type cieInfo struct {
	codeAlign uint64
	dataAlign int64
	raReg     uint64
	initial   []byte
}

// Bounds on the table program of one function. Real ones are under 8 KiB
// (the longest seen, CPython 3.14's interpreter loop, has 6.9 KiB) and nest
// remember_state a few levels deep; a hostile file gets an error, never a
// quadratic blow-up (an unbounded remember stack of register maps costs
// gigabytes for 64 KiB of instructions).
const (
	maxProgram  = 64 << 10
	maxRemember = 64
)

var (
	errTruncated = errors.New("truncated call-frame instruction")
	errTooLong   = errors.New("call-frame program too long")
)

// cfiMachine executes call-frame instructions (DWARF 5, 6.4.2).
type cfiMachine struct {
	info    cieInfo
	row     row
	initial row // the row after the CIE's instructions, for DW_CFA_restore
	stack   []row
	loc     uint64
	pc      uint64
}

// computeRow returns the row of the table that applies at pc, for a function
// whose FDE starts at begin.
func computeRow(info cieInfo, fdeProgram []byte, begin, pc uint64) (row, error) {
	if len(info.initial) > maxProgram || len(fdeProgram) > maxProgram {
		return row{}, errTooLong
	}
	m := &cfiMachine{info: info, loc: begin, pc: pc}
	// The CIE's instructions describe the state at the function's entry;
	// an advance there would be odd but is harmless: it only moves loc.
	if err := m.run(info.initial, true); err != nil {
		return row{}, fmt.Errorf("CIE: %w", err)
	}
	m.initial = m.row
	m.loc = begin
	if err := m.run(fdeProgram, false); err != nil {
		return row{}, fmt.Errorf("FDE: %w", err)
	}
	return m.row, nil
}

// run executes prog until its end or, outside the CIE, until the location
// passes pc. Every instruction consumes at least one byte, so run ends.
func (m *cfiMachine) run(prog []byte, inCIE bool) error {
	r := reader{b: prog}
	for r.len() > 0 {
		op := r.byte()
		var delta uint64
		advance := false
		switch op & 0xc0 {
		case 0x40: // DW_CFA_advance_loc
			delta, advance = uint64(op&0x3f), true
		case 0x80: // DW_CFA_offset
			off := r.uleb()
			m.setReg(uint64(op&0x3f), rule{kind: ruleOffset, off: int64(off) * m.info.dataAlign})
		case 0xc0: // DW_CFA_restore
			m.restore(uint64(op & 0x3f))
		default:
			var err error
			delta, advance, err = m.extended(op, &r)
			if err != nil {
				return err
			}
		}
		if r.err != nil {
			return r.err
		}
		if advance && !inCIE {
			step := delta * m.info.codeAlign
			if m.info.codeAlign != 0 && step/m.info.codeAlign != delta {
				return nil // overflows: beyond any pc
			}
			next := m.loc + step
			if next < m.loc || next > m.pc {
				return nil // the rows from here on are for later addresses
			}
			m.loc = next
		}
	}
	return nil
}

// extended executes one instruction whose opcode is in the low 6 bits.
func (m *cfiMachine) extended(op byte, r *reader) (delta uint64, advance bool, err error) {
	daf := m.info.dataAlign
	switch op {
	case 0x00: // DW_CFA_nop
	case 0x01: // DW_CFA_set_loc: an absolute address (GCC never emits it)
		m.loc = r.u64()
	case 0x02: // DW_CFA_advance_loc1
		return uint64(r.byte()), true, nil
	case 0x03: // DW_CFA_advance_loc2
		return uint64(r.u16()), true, nil
	case 0x04: // DW_CFA_advance_loc4
		return uint64(r.u32()), true, nil
	case 0x05: // DW_CFA_offset_extended
		reg, off := r.uleb(), r.uleb()
		m.setReg(reg, rule{kind: ruleOffset, off: int64(off) * daf})
	case 0x06: // DW_CFA_restore_extended
		m.restore(r.uleb())
	case 0x07: // DW_CFA_undefined
		m.setReg(r.uleb(), rule{kind: ruleUndefined})
	case 0x08: // DW_CFA_same_value
		m.setReg(r.uleb(), rule{kind: ruleSame})
	case 0x09: // DW_CFA_register
		reg, reg2 := r.uleb(), r.uleb()
		m.setReg(reg, rule{kind: ruleRegister, reg: reg2})
	case 0x0a: // DW_CFA_remember_state
		if len(m.stack) >= maxRemember {
			return 0, false, fmt.Errorf("remember_state nested more than %d deep", maxRemember)
		}
		m.stack = append(m.stack, m.row)
	case 0x0b: // DW_CFA_restore_state
		if len(m.stack) == 0 {
			return 0, false, errors.New("restore_state with nothing remembered")
		}
		// The CFA rule is restored too (DWARF 5 clarified this; GCC relies on it).
		m.row = m.stack[len(m.stack)-1]
		m.stack = m.stack[:len(m.stack)-1]
	case 0x0c: // DW_CFA_def_cfa
		reg, off := r.uleb(), r.uleb()
		m.row.cfa = cfaRule{reg: reg, off: int64(off), set: true}
	case 0x0d: // DW_CFA_def_cfa_register
		m.row.cfa.reg, m.row.cfa.expr, m.row.cfa.set = r.uleb(), nil, true
	case 0x0e: // DW_CFA_def_cfa_offset
		m.row.cfa.off = int64(r.uleb())
	case 0x0f: // DW_CFA_def_cfa_expression
		m.row.cfa = cfaRule{expr: r.block(), set: true}
	case 0x10: // DW_CFA_expression
		reg := r.uleb()
		m.setReg(reg, rule{kind: ruleExpr, expr: r.block()})
	case 0x11: // DW_CFA_offset_extended_sf
		reg, off := r.uleb(), r.sleb()
		m.setReg(reg, rule{kind: ruleOffset, off: off * daf})
	case 0x12: // DW_CFA_def_cfa_sf
		reg, off := r.uleb(), r.sleb()
		m.row.cfa = cfaRule{reg: reg, off: off * daf, set: true}
	case 0x13: // DW_CFA_def_cfa_offset_sf
		m.row.cfa.off = r.sleb() * daf
	case 0x14: // DW_CFA_val_offset
		reg, off := r.uleb(), r.uleb()
		m.setReg(reg, rule{kind: ruleValOffset, off: int64(off) * daf})
	case 0x15: // DW_CFA_val_offset_sf
		reg, off := r.uleb(), r.sleb()
		m.setReg(reg, rule{kind: ruleValOffset, off: off * daf})
	case 0x16: // DW_CFA_val_expression
		reg := r.uleb()
		m.setReg(reg, rule{kind: ruleValExpr, expr: r.block()})
	case 0x2e: // DW_CFA_GNU_args_size: only matters for exception handling
		r.uleb()
	case 0x2f: // DW_CFA_GNU_negative_offset_extended
		reg, off := r.uleb(), r.uleb()
		m.setReg(reg, rule{kind: ruleOffset, off: -int64(off) * daf})
	default:
		return 0, false, fmt.Errorf("unknown call-frame instruction %#x", op)
	}
	return 0, false, r.err
}

// setReg records a rule; registers pyhang does not track (vector registers)
// are parsed and ignored.
func (m *cfiMachine) setReg(reg uint64, r rule) {
	if reg < nregs {
		m.row.regs[reg] = r
	}
}

func (m *cfiMachine) restore(reg uint64) {
	if reg < nregs {
		m.row.regs[reg] = m.initial.regs[reg]
	}
}

// reader decodes the operands of instructions and expressions; the first
// error sticks and every later read returns zero.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) len() int { return len(r.b) - r.off }

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || r.len() < n {
		r.err = errTruncated
		r.off = len(r.b)
		return false
	}
	return true
}

func (r *reader) byte() byte {
	if !r.need(1) {
		return 0
	}
	r.off++
	return r.b[r.off-1]
}

func (r *reader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	r.off += 2
	return binary.LittleEndian.Uint16(r.b[r.off-2:])
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	r.off += 4
	return binary.LittleEndian.Uint32(r.b[r.off-4:])
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	r.off += 8
	return binary.LittleEndian.Uint64(r.b[r.off-8:])
}

// uleb reads an unsigned LEB128 number; bits beyond 64 are dropped.
func (r *reader) uleb() uint64 {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		if shift < 64 {
			v |= uint64(c&0x7f) << shift
		}
		if c&0x80 == 0 {
			return v
		}
	}
}

// sleb reads a signed LEB128 number.
func (r *reader) sleb() int64 {
	var v int64
	var shift uint
	var c byte
	for {
		c = r.byte()
		if r.err != nil {
			return 0
		}
		if shift < 64 {
			v |= int64(c&0x7f) << shift
		}
		shift += 7
		if c&0x80 == 0 {
			break
		}
	}
	if shift < 64 && c&0x40 != 0 {
		v |= -1 << shift
	}
	return v
}

// block reads a ULEB128 length and that many bytes (a DWARF expression).
func (r *reader) block() []byte {
	n := r.uleb()
	if r.err != nil {
		return nil
	}
	if n > uint64(r.len()) {
		r.need(r.len() + 1)
		return nil
	}
	r.off += int(n)
	return r.b[r.off-int(n) : r.off]
}
