package corefile

import (
	"cmp"
	"slices"
)

// A core holds only part of the address space: kernel cores drop read-only
// file-backed memory (except the first page, which holds the ELF header) and
// gcore drops unmodified file mappings. The memory is therefore spliced: the
// core's segments laid over the files named in NT_FILE, the core winning
// where both have bytes. The splice is computed once, as a sorted list of
// disjoint regions each backed by exactly one source.

// region is a piece of the address space backed by one source: the core
// file (file == nil) or a mapped file, at offset off for address start.
type region struct {
	start, end uint64
	off        uint64
	file       *mappedFile
}

// spliceRegions lays over on top of under and returns the disjoint regions
// sorted by address, in O((n+m) log(n+m)). Overlaps within a layer are
// resolved first (see normalize), so hostile input cannot make a list that is
// not disjoint.
func spliceRegions(under, over []region) []region {
	over = normalize(over)
	out := append(slices.Clip(over), subtract(normalize(under), over)...)
	slices.SortFunc(out, func(a, b region) int { return cmp.Compare(a.start, b.start) })
	return out
}

// subtract returns the parts of under that no region of over covers. Both
// must be sorted and disjoint (normalized); the result is too. A region of
// under splits around each region of over inside it.
func subtract(under, over []region) []region {
	var out []region
	j := 0
	for _, u := range under {
		for j < len(over) && over[j].end <= u.start {
			j++
		}
		cur := u.start
		for k := j; k < len(over) && over[k].start < u.end; k++ {
			if cur < over[k].start {
				out = append(out, u.slice(cur, over[k].start))
			}
			cur = max(cur, over[k].end)
		}
		if cur < u.end {
			out = append(out, u.slice(cur, u.end))
		}
	}
	return out
}

// slice is the part [s, e) of r, which must lie inside it.
func (r region) slice(s, e uint64) region {
	return region{start: s, end: e, off: r.off + (s - r.start), file: r.file}
}

// normalize drops empty regions and returns the rest sorted by address and
// disjoint. Entries of one layer overlap only in a corrupt core; then the
// entry that starts lower (or comes first, at equal starts) keeps the bytes.
func normalize(rs []region) []region {
	out := make([]region, 0, len(rs))
	for _, r := range rs {
		if r.end > r.start {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b region) int { return cmp.Compare(a.start, b.start) })
	n := 0
	var cur uint64
	for i, r := range out {
		if i > 0 && r.start < cur {
			if r.end <= cur {
				continue
			}
			r = r.slice(cur, r.end)
		}
		out[n] = r
		n++
		cur = r.end
	}
	return out[:n]
}
