package cpython

import (
	"slices"

	"github.com/pyhang/pyhang/snapshot"
)

// maxDelegation bounds the `yield from` chain followed from a generator.
const maxDelegation = 8

// generator decodes a generator found in a frame's locals, a global or an
// attribute. It is of interest only when it is suspended inside a with
// block: its frame keeps the block's __exit__ on its value stack, so what
// the block took stays taken while no thread runs the generator. Reports
// whether it is.
func (o *Objects) generator(v uint64, ob *snapshot.Object, depth int) bool {
	p := o.p
	info := &snapshot.GeneratorInfo{}
	for gen, i := v, 0; gen != 0 && i < maxDelegation; i++ {
		if i > 0 {
			if tn, _ := p.typeName(gen); tn != "generator" {
				break
			}
		}
		f, state, err := p.genFrame(gen)
		if err != nil || state != genSuspended {
			break
		}
		fr, ok, err := p.decodeGenFrame(f)
		if err != nil || !ok {
			break
		}
		out := snapshot.Frame{Function: fr.Function, Qualname: fr.Qualname, File: fr.File, Line: fr.Line,
			FirstLine: fr.FirstLine, Addr: snapshot.Addr(f)}
		for _, m := range fr.With {
			if a := o.add(m, depth+1); a != nil {
				out.With = append(out.With, a.ID)
				ob.Within = append(ob.Within, a.ID)
			}
		}
		for _, l := range fr.Locals {
			if len(out.With) == 0 {
				break // only a with block's frame is shown, and its locals name the lock
			}
			if a := o.add(l.Value, depth+1); a != nil {
				if out.Refs == nil {
					out.Refs = map[string]string{}
				}
				out.Refs[l.Name] = a.ID
			}
		}
		info.Frames = append(info.Frames, out)
		gen = p.yieldFrom(gen, f)
	}
	if len(ob.Within) == 0 {
		return false
	}
	if n, ok := p.refcount(v); ok {
		info.Refcount = &n
	}
	ob.Generator = info
	return true
}

// refcount reads an object's reference count. From 3.12 the count is the
// low 32 bits of ob_refcnt (the high ones mark immortal objects); before,
// the whole word.
func (p *Process) refcount(v uint64) (int64, bool) {
	w, err := p.r.u64(v)
	if err != nil {
		return 0, false
	}
	if p.Layout.Minor >= 12 {
		w &= 0xffff_ffff
	}
	if w == 0 || w > 1<<40 {
		return 0, false
	}
	return int64(w), true
}

// StackGenerators returns the suspended generators held in the value stack
// of the frame at f (a PyFrameObject up to 3.10, else a
// _PyInterpreterFrame). A frame that called another Python function saved
// its stack pointer (3.11–3.13; 3.14 also around calls into C), and only
// the slots under it are read; else every slot up to co_stacksize, where
// those above the live ones may be left from earlier instructions. Only a
// slot whose type is generator is decoded, so a stale slot never names a
// lock or a thread.
//
// innermost says the frame is the thread's current one, whose saved stack
// pointer is stale before 3.14. seen holds the values the caller's scan
// has already found of no interest: a deep recursion has the same few
// values in every frame.
func (o *Objects) StackGenerators(f uint64, innermost bool, seen map[uint64]bool) []*snapshot.Object {
	p := o.p
	l := p.Layout
	var codePtr, base uint64
	var err error
	if l.IFLocalsplus < 0 {
		if codePtr, err = p.r.u64(f + uint64(l.FCode)); err != nil {
			return nil
		}
		if base, err = p.r.u64(f + uint64(l.FValuestack)); err != nil {
			return nil
		}
	} else {
		if codePtr, err = p.r.u64(f + uint64(l.IFCode)); err != nil {
			return nil
		}
		if l.StackRefTagged {
			codePtr &^= 3
		}
	}
	c, err := p.codeAt(codePtr)
	if err != nil || c.stackSize <= 0 {
		return nil
	}
	n := c.stackSize
	if l.IFLocalsplus >= 0 {
		base = f + uint64(l.IFLocalsplus) + 8*uint64(c.nLocals)
		if d, ok := p.savedDepth(f, base, innermost); ok && d <= n {
			n = d
		}
	}
	if n == 0 {
		return nil
	}
	raw, err := p.r.view(base, 8*n)
	if err != nil {
		return nil
	}
	var out []*snapshot.Object
	for i := 0; i+8 <= len(raw); i += 8 {
		v := le64(raw[i:])
		if l.StackRefTagged {
			if v&3 == 3 {
				continue
			}
			v &^= 3
		}
		if v == 0 || v&7 != 0 || seen[v] || o.Plain(v) {
			continue
		}
		if k, _ := p.kindOf(v); k != snapshot.KindGenerator {
			seen[v] = true
			continue
		}
		if ob := o.add(v, 0); ob != nil && !slices.Contains(out, ob) {
			out = append(out, ob)
		}
	}
	return out
}

// savedDepth is how many value-stack slots (above base, the first one) the
// stack pointer a 3.11+ frame saved says are live, when it saved one.
func (p *Process) savedDepth(f, base uint64, innermost bool) (int, bool) {
	l := p.Layout
	switch {
	case l.IFStackpointer >= 0:
		sp, err := p.r.u64(f + uint64(l.IFStackpointer))
		if err != nil || sp < base || (sp-base)%8 != 0 || (sp-base)/8 > maxStackDepth {
			return 0, false
		}
		return int((sp - base) / 8), true
	case l.IFStacktop >= 0 && !innermost:
		top, err := p.r.i32(f + uint64(l.IFStacktop))
		locals := int32((base - f - uint64(l.IFLocalsplus)) / 8)
		if err != nil || top < locals || top-locals > maxStackDepth {
			return 0, false
		}
		return int(top - locals), true
	}
	return 0, false
}
