package capture

import (
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
)

// position copies a frame's full source position and says how its line was
// found when the instruction has none of its own.
func position(out *snapshot.Frame, f cpython.Frame) {
	out.LineBasis = f.LineBasis
	if f.EndLine >= 0 {
		v := f.EndLine
		out.EndLine = &v
	}
	if f.Column >= 0 {
		v := f.Column
		out.Column = &v
	}
	if f.EndColumn >= 0 {
		v := f.EndColumn
		out.EndColumn = &v
	}
}

// local records one bound local's repr: in the map of the JSON contract and
// in the ordered list that also marks arguments and what the repr left out.
func local(p *cpython.Process, opts Options, out *snapshot.Frame, v cpython.Var) {
	lim := opts.LocalsLimits
	if lim == (cpython.ReprLimits{}) {
		lim = cpython.DefaultReprLimits
	}
	repr, cut := p.ReprLimited(v.Value, lim)
	if out.Locals == nil {
		out.Locals = map[string]string{}
	}
	out.Locals[v.Name] = repr
	l := snapshot.Local{Name: v.Name, Repr: repr, Argument: v.Arg}
	if cut != (snapshot.Cut{}) {
		l.Cut = &cut
	}
	out.LocalList = append(out.LocalList, l)
}
