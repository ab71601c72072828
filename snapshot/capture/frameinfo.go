package capture

import (
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
)

// position copies a frame's full source position and says how its line was
// found when the instruction has none of its own.
func (b *memBuilder) position(out *snapshot.Frame, f *cpython.Frame) {
	out.LineBasis = f.LineBasis
	out.EndLine = b.intOf(f.EndLine)
	out.Column = b.intOf(f.Column)
	out.EndColumn = b.intOf(f.EndColumn)
}

// positionInts is how many position numbers one block holds.
const positionInts = 4096

// intOf returns a pointer to v, or nil when v is negative (unknown). The
// numbers are taken from a shared block: three allocations of their own
// for every frame were a tenth of the time it takes to build the frames.
func (b *memBuilder) intOf(v int) *int {
	if v < 0 {
		return nil
	}
	if len(b.ints) == cap(b.ints) {
		b.ints = make([]int, 0, positionInts)
	}
	b.ints = append(b.ints, v)
	return &b.ints[len(b.ints)-1]
}

// local records one bound local's repr: in the map of the JSON contract and
// in the ordered list that also marks arguments and what the repr left out.
// It returns the error of memory the repr needed and could not read (the
// repr says which part is unreadable).
func local(p *cpython.Process, opts Options, out *snapshot.Frame, v cpython.Var) error {
	repr, cut, lost := p.ReprLimited(v.Value, localsLimits(opts))
	if out.Locals == nil {
		out.Locals = map[string]string{}
	}
	out.Locals[v.Name] = repr
	l := snapshot.Local{Name: v.Name, Repr: repr, Argument: v.Arg}
	if cut != (snapshot.Cut{}) {
		l.Cut = &cut
	}
	out.LocalList = append(out.LocalList, l)
	return lost
}

// localsLimits are the limits a local's repr is read within.
func localsLimits(opts Options) cpython.ReprLimits {
	if opts.LocalsLimits == (cpython.ReprLimits{}) {
		return cpython.DefaultReprLimits
	}
	return opts.LocalsLimits
}
