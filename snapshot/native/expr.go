package native

import (
	"errors"
	"fmt"
)

// Bounds on one DWARF expression: its operations (a branch can loop) and
// its stack. Real call-frame expressions (PLT entries, signal trampolines)
// take under ten operations.
const (
	maxExprSteps = 1000
	maxExprStack = 64
)

var errExprStack = errors.New("DWARF expression stack under- or overflow")

// evalExpr evaluates a DWARF expression of a call-frame rule (DWARF 5, 2.5)
// over the registers of the frame being unwound, with initial pushed first
// (the CFA, for register rules). Memory is read through deref.
func evalExpr(expr []byte, regs *regSet, deref func(addr uint64, size int) (uint64, error), initial ...uint64) (uint64, error) {
	stack := make([]uint64, 0, 8)
	push := func(v uint64) error {
		if len(stack) >= maxExprStack {
			return errExprStack
		}
		stack = append(stack, v)
		return nil
	}
	pop := func() (uint64, error) {
		if len(stack) == 0 {
			return 0, errExprStack
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v, nil
	}
	for _, v := range initial {
		if err := push(v); err != nil {
			return 0, err
		}
	}
	r := reader{b: expr}
	for steps := 0; r.len() > 0; steps++ {
		if steps >= maxExprSteps {
			return 0, fmt.Errorf("DWARF expression runs more than %d operations", maxExprSteps)
		}
		op := r.byte()
		var err error
		switch {
		case op >= 0x30 && op <= 0x4f: // DW_OP_lit0..31
			err = push(uint64(op - 0x30))
		case op >= 0x70 && op <= 0x8f: // DW_OP_breg0..31
			off := r.sleb()
			var v uint64
			if v, err = regs.get(uint64(op - 0x70)); err == nil {
				err = push(v + uint64(off))
			}
		default:
			err = exprOp(op, &r, regs, deref, push, pop, &stack)
		}
		if err == nil {
			err = r.err
		}
		if err != nil {
			return 0, fmt.Errorf("DWARF expression, operation %#x at byte %d: %w", op, r.off-1, err)
		}
	}
	return pop()
}

// exprOp executes the operations that are not a literal or a register.
func exprOp(op byte, r *reader, regs *regSet, deref func(uint64, int) (uint64, error),
	push func(uint64) error, pop func() (uint64, error), stack *[]uint64) error {
	binary := func(f func(a, b uint64) (uint64, error)) error {
		b, err := pop()
		if err != nil {
			return err
		}
		a, err := pop()
		if err != nil {
			return err
		}
		v, err := f(a, b)
		if err != nil {
			return err
		}
		return push(v)
	}
	unary := func(f func(a uint64) uint64) error {
		a, err := pop()
		if err != nil {
			return err
		}
		return push(f(a))
	}
	b2u := func(c bool) uint64 {
		if c {
			return 1
		}
		return 0
	}
	jump := func(off int16) error {
		to := r.off + int(off)
		if to < 0 || to > len(r.b) {
			return fmt.Errorf("branch to %d outside the expression", to)
		}
		r.off = to
		return nil
	}
	switch op {
	case 0x03: // DW_OP_addr
		return push(r.u64())
	case 0x06: // DW_OP_deref
		a, err := pop()
		if err != nil {
			return err
		}
		v, err := deref(a, 8)
		if err != nil {
			return err
		}
		return push(v)
	case 0x94: // DW_OP_deref_size
		n := int(r.byte())
		a, err := pop()
		if err != nil {
			return err
		}
		if n < 1 || n > 8 {
			return fmt.Errorf("deref_size %d", n)
		}
		v, err := deref(a, n)
		if err != nil {
			return err
		}
		return push(v)
	case 0x08: // DW_OP_const1u
		return push(uint64(r.byte()))
	case 0x09: // DW_OP_const1s
		return push(uint64(int64(int8(r.byte()))))
	case 0x0a: // DW_OP_const2u
		return push(uint64(r.u16()))
	case 0x0b: // DW_OP_const2s
		return push(uint64(int64(int16(r.u16()))))
	case 0x0c: // DW_OP_const4u
		return push(uint64(r.u32()))
	case 0x0d: // DW_OP_const4s
		return push(uint64(int64(int32(r.u32()))))
	case 0x0e, 0x0f: // DW_OP_const8u, DW_OP_const8s
		return push(r.u64())
	case 0x10: // DW_OP_constu
		return push(r.uleb())
	case 0x11: // DW_OP_consts
		return push(uint64(r.sleb()))
	case 0x12: // DW_OP_dup
		a, err := pop()
		if err != nil {
			return err
		}
		if err := push(a); err != nil {
			return err
		}
		return push(a)
	case 0x13: // DW_OP_drop
		_, err := pop()
		return err
	case 0x14: // DW_OP_over
		if len(*stack) < 2 {
			return errExprStack
		}
		return push((*stack)[len(*stack)-2])
	case 0x15: // DW_OP_pick
		i := int(r.byte())
		if i >= len(*stack) {
			return errExprStack
		}
		return push((*stack)[len(*stack)-1-i])
	case 0x16: // DW_OP_swap
		if len(*stack) < 2 {
			return errExprStack
		}
		s := *stack
		s[len(s)-1], s[len(s)-2] = s[len(s)-2], s[len(s)-1]
	case 0x17: // DW_OP_rot
		if len(*stack) < 3 {
			return errExprStack
		}
		s := *stack
		n := len(s)
		s[n-1], s[n-2], s[n-3] = s[n-2], s[n-3], s[n-1]
	case 0x19: // DW_OP_abs
		return unary(func(a uint64) uint64 {
			if int64(a) < 0 {
				return -a
			}
			return a
		})
	case 0x1a: // DW_OP_and
		return binary(func(a, b uint64) (uint64, error) { return a & b, nil })
	case 0x1b: // DW_OP_div (signed)
		return binary(func(a, b uint64) (uint64, error) {
			if b == 0 || (int64(b) == -1 && int64(a) == -1<<63) {
				return 0, errors.New("division by zero or overflow")
			}
			return uint64(int64(a) / int64(b)), nil
		})
	case 0x1c: // DW_OP_minus
		return binary(func(a, b uint64) (uint64, error) { return a - b, nil })
	case 0x1d: // DW_OP_mod
		return binary(func(a, b uint64) (uint64, error) {
			if b == 0 {
				return 0, errors.New("modulo by zero")
			}
			return a % b, nil
		})
	case 0x1e: // DW_OP_mul
		return binary(func(a, b uint64) (uint64, error) { return a * b, nil })
	case 0x1f: // DW_OP_neg
		return unary(func(a uint64) uint64 { return -a })
	case 0x20: // DW_OP_not
		return unary(func(a uint64) uint64 { return ^a })
	case 0x21: // DW_OP_or
		return binary(func(a, b uint64) (uint64, error) { return a | b, nil })
	case 0x22: // DW_OP_plus
		return binary(func(a, b uint64) (uint64, error) { return a + b, nil })
	case 0x23: // DW_OP_plus_uconst
		n := r.uleb()
		return unary(func(a uint64) uint64 { return a + n })
	case 0x24: // DW_OP_shl
		return binary(func(a, b uint64) (uint64, error) {
			if b >= 64 {
				return 0, nil
			}
			return a << b, nil
		})
	case 0x25: // DW_OP_shr
		return binary(func(a, b uint64) (uint64, error) {
			if b >= 64 {
				return 0, nil
			}
			return a >> b, nil
		})
	case 0x26: // DW_OP_shra
		return binary(func(a, b uint64) (uint64, error) { return uint64(int64(a) >> min(b, 63)), nil })
	case 0x27: // DW_OP_xor
		return binary(func(a, b uint64) (uint64, error) { return a ^ b, nil })
	case 0x28: // DW_OP_bra
		off := int16(r.u16())
		c, err := pop()
		if err != nil || c == 0 {
			return err
		}
		return jump(off)
	case 0x29: // DW_OP_eq
		return binary(func(a, b uint64) (uint64, error) { return b2u(a == b), nil })
	case 0x2a: // DW_OP_ge
		return binary(func(a, b uint64) (uint64, error) { return b2u(int64(a) >= int64(b)), nil })
	case 0x2b: // DW_OP_gt
		return binary(func(a, b uint64) (uint64, error) { return b2u(int64(a) > int64(b)), nil })
	case 0x2c: // DW_OP_le
		return binary(func(a, b uint64) (uint64, error) { return b2u(int64(a) <= int64(b)), nil })
	case 0x2d: // DW_OP_lt
		return binary(func(a, b uint64) (uint64, error) { return b2u(int64(a) < int64(b)), nil })
	case 0x2e: // DW_OP_ne
		return binary(func(a, b uint64) (uint64, error) { return b2u(a != b), nil })
	case 0x2f: // DW_OP_skip
		return jump(int16(r.u16()))
	case 0x92: // DW_OP_bregx
		reg, off := r.uleb(), r.sleb()
		v, err := regs.get(reg)
		if err != nil {
			return err
		}
		return push(v + uint64(off))
	case 0x96: // DW_OP_nop
	default:
		return errors.New("operation not supported in call-frame expressions")
	}
	return nil
}
