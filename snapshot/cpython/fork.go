package cpython

import (
	"bytes"
	"slices"
)

// Fork returns a second reader of p's interpreter, to decode part of the
// same snapshot at the same time as p, on another goroutine: it shares p's
// target, layout and ELF file, and p's budget (a pool both draw from), and
// has caches and pages of its own. Once it is done, p.Join takes back what
// it read. Neither may be used from two goroutines at once.
func (p *Process) Fork() *Process {
	l := *p.Layout // aioLayout settles the asyncio offsets in place
	q := &Process{Target: p.Target, Layout: &l, Version: p.Version, Runtime: p.Runtime,
		Binary: p.Binary, Bin: p.Bin, Bias: p.Bias, scanned: map[uint64]uint64{}, aioDone: p.aioDone}
	q.r = newReader(p.r.mem)
	q.r.budget = p.r.budget.share()
	q.clearCaches()
	return q
}

// Join takes back into p what its fork q read and decoded: q's pages (the
// working set of the snapshot is both readers'), the budget q drew and did
// not spend, q's notes, and q's caches where p has no entry. The notes both
// took since mark (p.Notes when q was forked) are sorted: which reader
// decoded what, and so noted it, changes from one look to the next. A page both
// read with different bytes was read at two instants: the snapshot is then
// not whole (PageData), and is decoded again from the stopped copy. q is
// not used afterwards.
func (p *Process) Join(q *Process, mark Notes) {
	r, o := p.r, q.r
	for base, pg := range o.pages {
		mine, ok := r.pages[base]
		if !ok {
			r.pages[base] = pg
			continue
		}
		if (mine == nil) != (pg == nil) || !bytes.Equal(mine, pg) {
			r.partial = true
		}
	}
	r.reads += o.reads
	r.partial = r.partial || o.partial
	r.budget.join(o.budget)
	r.slabs = append(r.slabs, o.release()...)
	for _, w := range q.warnings {
		p.warnf("%s", w)
	}
	for _, m := range q.missing {
		p.missf("%s", m)
	}
	slices.Sort(p.warnings[min(mark.warnings, len(p.warnings)):])
	slices.Sort(p.missing[min(mark.missing, len(p.missing)):])
	addMissing(p.typeNames, q.typeNames)
	addMissing(p.codes, q.codes)
	addMissing(p.exitDefs, q.exitDefs)
	addMissing(p.kinds, q.kinds)
	addMissing(p.walkTypes, q.walkTypes)
	addMissing(p.aioTypes, q.aioTypes)
	addMissing(p.attrs, q.attrs)
	addMissing(p.members, q.members)
}

// addMissing copies into dst the entries of src whose keys dst lacks.
func addMissing[V any](dst, src map[uint64]V) {
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
}
