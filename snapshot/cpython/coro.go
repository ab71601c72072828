package cpython

import "fmt"

// A suspended coroutine that awaits another keeps the awaited object on top
// of its frame's value stack (CPython's _PyGen_yf, also cr_await and
// gi_yieldfrom). Following that object from coroutine to coroutine gives a
// task's await chain, its stack as the task itself would show it; the chain
// ends at what the innermost coroutine waits for: a future (through the
// FutureIter that `await future` makes), a task, or nothing.

// AwaitChain is a task's stack.
type AwaitChain struct {
	// Frames are the frames of the coroutines (and generators) the task
	// awaits through, innermost first.
	Frames []Frame
	// Leaf is what the innermost frame awaits: a future or a task, or
	// another awaitable object; 0 when it awaits nothing.
	Leaf uint64
	// Running is true when the task's coroutine executes right now: its
	// inner frames are then on the stack of the thread running the loop.
	Running bool
	// Created is true when the coroutine has not started yet.
	Created bool
	Err     error
}

// maxChain bounds an await chain.
const maxChain = 1024

// Outcomes of looking at one coroutine's frame.
const (
	genSuspended = iota
	genRunning
	genCreated
	genDone
)

func (p *Process) awaitChain(coro uint64) AwaitChain {
	var c AwaitChain
	obj := coro
walk:
	for i := 0; obj != 0; i++ {
		if i >= maxChain {
			c.Err = fmt.Errorf("await chain cut after %d objects at %#x", maxChain, obj)
			break
		}
		tn, err := p.typeName(obj)
		if err != nil {
			c.Err = fmt.Errorf("awaited object at %#x: %w", obj, err)
			break
		}
		switch tn {
		case "coroutine", "generator", "async_generator":
			f, state, err := p.genFrame(obj)
			if err != nil {
				c.Err = err
				break walk
			}
			if state == genDone {
				break walk
			}
			fr, ok, err := p.decodeGenFrame(f)
			if err != nil {
				c.Err = err
				break walk
			}
			if !ok {
				break walk
			}
			c.Frames = append(c.Frames, fr)
			switch state {
			case genRunning:
				c.Running = len(c.Frames) == 1
				break walk
			case genCreated:
				c.Created = len(c.Frames) == 1
				break walk
			}
			obj = p.yieldFrom(obj, f)
		case "async_generator_asend", "coroutine_wrapper":
			// ags_gen / cw_coroutine: the generator it drives.
			if obj, err = p.r.u64(obj + asendGen); err != nil {
				c.Err = fmt.Errorf("%s at %#x: %w", tn, obj, err)
				break walk
			}
		case "_asyncio.FutureIter":
			if c.Leaf, err = p.r.u64(obj + futureIter); err != nil {
				c.Err = fmt.Errorf("FutureIter at %#x: %w", obj, err)
			}
			break walk
		default:
			c.Leaf = obj
			break walk
		}
	}
	for i, j := 0, len(c.Frames)-1; i < j; i, j = i+1, j-1 {
		c.Frames[i], c.Frames[j] = c.Frames[j], c.Frames[i]
	}
	return c
}

// genFrame returns the frame of a coroutine or generator object and its state.
func (p *Process) genFrame(gen uint64) (uint64, int, error) {
	l := p.Layout
	if l.GenFrame >= 0 { // ≤3.10: a separate frame object, NULL once finished
		f, err := p.r.u64(gen + uint64(l.GenFrame))
		if err != nil {
			return 0, genDone, fmt.Errorf("coroutine at %#x: %w", gen, err)
		}
		if f == 0 {
			return 0, genDone, nil
		}
		if l.GenRunning >= 0 {
			running, err := p.r.u8(gen + uint64(l.GenRunning))
			if err != nil {
				return 0, genDone, fmt.Errorf("coroutine at %#x: %w", gen, err)
			}
			if running != 0 {
				return f, genRunning, nil
			}
			// Not started: f_lasti is still -1.
			if lasti, err := p.r.i32(f + uint64(l.FLasti)); err == nil && lasti < 0 {
				return f, genCreated, nil
			}
			return f, genSuspended, nil
		}
		st, err := p.r.u8(f + uint64(l.FState))
		if err != nil {
			return 0, genDone, fmt.Errorf("frame at %#x: %w", f, err)
		}
		return f, genStateOf(l, int(int8(st))), nil
	}
	st, err := p.r.u8(gen + uint64(l.GenFrameState))
	if err != nil {
		return 0, genDone, fmt.Errorf("coroutine at %#x: %w", gen, err)
	}
	return gen + uint64(l.GenIFrame), genStateOf(l, int(int8(st))), nil
}

// genStateOf maps a frame state (3.10+) to an outcome. States below the
// suspended ones mean "created"; above executing, "completed" or "cleared".
func genStateOf(l *Layout, st int) int {
	switch {
	case st == l.FrameExecuting:
		return genRunning
	case st > l.FrameExecuting:
		return genDone
	case st == l.FrameSuspended || (l.FrameYieldFrom != 0 && st == l.FrameYieldFrom):
		return genSuspended
	}
	return genCreated
}

func (p *Process) decodeGenFrame(f uint64) (Frame, bool, error) {
	var fr Frame
	var ok bool
	var err error
	if p.Layout.GenFrame >= 0 {
		ok, err = p.oldFrame(&fr, f, false)
	} else {
		ok, err = p.newFrame(&fr, f, false) // a suspended frame: not the one a thread executes
	}
	return fr, ok, err
}

// maxStackDepth bounds the value-stack depth read from a frame.
const maxStackDepth = 1 << 16

// yieldFrom returns what a suspended coroutine awaits (the top of its value
// stack when it is suspended in an await or a yield from), 0 for none.
func (p *Process) yieldFrom(gen, f uint64) uint64 {
	l := p.Layout
	top := func(stack uint64, depth int64) uint64 {
		if depth < 1 || depth > maxStackDepth {
			return 0
		}
		v, err := p.r.u64(stack + 8*uint64(depth-1))
		if err != nil {
			return 0
		}
		return v
	}
	switch {
	case l.Minor <= 9:
		stacktop, err := p.r.u64(f + uint64(l.FStacktop))
		if err != nil || stacktop == 0 {
			return 0
		}
		if p.oldOpcodeAfter(f, 2) != l.YieldFromOp {
			return 0
		}
		v, err := p.r.u64(stacktop - 8)
		if err != nil {
			return 0
		}
		return v
	case l.Minor == 10:
		if p.oldOpcodeAfter(f, 1) != l.YieldFromOp {
			return 0
		}
		depth, err1 := p.r.i32(f + uint64(l.FStackdepth))
		vs, err2 := p.r.u64(f + uint64(l.FValuestack))
		if err1 != nil || err2 != nil {
			return 0
		}
		return top(vs, int64(depth))
	}
	st, err := p.r.u8(gen + uint64(l.GenFrameState))
	if err != nil {
		return 0
	}
	state := int(int8(st))
	if l.FrameYieldFrom != 0 {
		if state != l.FrameYieldFrom {
			return 0
		}
	} else {
		if state != l.FrameSuspended {
			return 0
		}
		// 3.11/3.12: after an await the next instruction is RESUME with
		// oparg 2 (yield from) or 3 (await).
		prev, err := p.r.u64(f + uint64(l.IFInstr))
		if err != nil {
			return 0
		}
		var next [2]byte
		if err := p.r.read(next[:], prev+2); err != nil {
			return 0
		}
		if (int(next[0]) != l.ResumeOps[0] && int(next[0]) != l.ResumeOps[1]) || next[1] < 2 {
			return 0
		}
	}
	locals := f + uint64(l.IFLocalsplus)
	if l.IFStackpointer >= 0 {
		sp, err := p.r.u64(f + uint64(l.IFStackpointer))
		if err != nil || sp <= locals || sp-locals > 8*maxStackDepth {
			return 0
		}
		v, err := p.r.u64(sp - 8)
		if err != nil || v == 1 || v&3 == 3 { // NULL or a tagged int
			return 0
		}
		return v &^ 3
	}
	depth, err := p.r.i32(f + uint64(l.IFStacktop))
	if err != nil {
		return 0
	}
	return top(locals, int64(depth))
}

// oldOpcodeAfter reads the opcode `units` code units after f_lasti of a
// 3.8–3.10 frame (f_lasti counts bytes before 3.10, code units from it).
func (p *Process) oldOpcodeAfter(f uint64, units int64) int {
	l := p.Layout
	lasti, err := p.r.i32(f + uint64(l.FLasti))
	if err != nil || lasti < 0 {
		return -1
	}
	codeObj, err := p.r.u64(f + uint64(l.FCode))
	if err != nil {
		return -1
	}
	bytecode, err := p.r.u64(codeObj + uint64(l.CoCode))
	if err != nil {
		return -1
	}
	size, err := p.r.i64(bytecode + obSize)
	if err != nil {
		return -1
	}
	off := int64(lasti) + units
	if l.Minor >= 10 {
		off = (int64(lasti) + units) * 2
	}
	if off < 0 || off >= size {
		return -1
	}
	op, err := p.r.u8(bytecode + bytesSval + uint64(off))
	if err != nil {
		return -1
	}
	return int(op)
}
