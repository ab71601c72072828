package capture

import (
	"slices"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Bounds on the stack memory copied while a live target is stopped: a
// thread's used stack is [sp, top of its stack mapping), which for a thread
// blocked under a few hundred frames is tens of KiB.
const (
	maxStackCopy      = 2 << 20   // per thread
	maxStackCopyTotal = 256 << 20 // per snapshot
)

// withStacks adds to pages (sorted) the pages of every thread's used stack:
// from its stack pointer to the end of the mapping that holds it (glibc puts
// a thread's descriptor and TLS at the top of its stack mapping, the kernel
// the arguments and environment at the top of the main thread's), at most
// maxStackCopy each.
func withStacks(pages []uint64, threads []target.Thread, maps []target.Mapping) []uint64 {
	const page = cpython.PageSize
	var extra []uint64
	total := uint64(0)
	for _, th := range threads {
		if th.Regs == nil {
			continue
		}
		sp := th.Regs.RSP
		i, ok := slices.BinarySearchFunc(maps, sp, func(m target.Mapping, a uint64) int {
			switch {
			case m.End <= a:
				return -1
			case m.Start > a:
				return 1
			}
			return 0
		})
		if !ok || len(maps[i].Perms) < 2 || maps[i].Perms[1] != 'w' {
			continue
		}
		top := min(maps[i].End, sp+maxStackCopy)
		for a := sp &^ (page - 1); a < top && total < maxStackCopyTotal; a += page {
			extra = append(extra, a)
			total += page
		}
	}
	if len(extra) == 0 {
		return pages
	}
	out := append(slices.Clone(pages), extra...)
	slices.Sort(out)
	return slices.Compact(out)
}
