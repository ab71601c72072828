package capture

import (
	"slices"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Unwinding a live thread's native stack needs its used stack as of the
// instant the threads were stopped. A thread blocked in a system call does
// not touch its stack until it returns, so its stack is copied before the
// pause: the copy is kept for the pause when the thread did not run while it
// was copied (its CPU time did not move) and the pause finds it in the same
// call at the same stack and program counters. Only the stacks of the other
// threads (running, or woken meanwhile) are copied during the pause, so
// --native adds next to nothing to it.

// Bounds on the stack memory copied: a thread's used stack is [sp, top of its
// stack mapping), which for a thread blocked under a few hundred frames is
// tens of KiB.
const (
	maxStackCopy      = 2 << 20   // per thread
	maxStackCopyTotal = 256 << 20 // per snapshot
)

// stackCopy is the used stacks of blocked threads, copied before the pause.
type stackCopy struct {
	pages map[uint64][]byte
	// blocked is, by tid, the threads whose copy was taken, with the state
	// it holds for.
	blocked map[int]preCopied
	maps    []target.Mapping
	total   uint64 // bytes copied, towards maxStackCopyTotal
}

type preCopied struct {
	th    target.Thread
	pages []uint64
}

// copyBlockedStacks copies the used stacks of peek's threads that sit in a
// system call, without stopping them.
func copyBlockedStacks(peek *live.Process) *stackCopy {
	sc := &stackCopy{pages: map[uint64][]byte{}, blocked: map[int]preCopied{}, maps: peek.Mappings()}
	type cand struct {
		th    target.Thread
		cpu   uint64
		pages []uint64
	}
	var cands []cand
	for _, th := range peek.Threads() {
		cpu, err := peek.CPUTime(th.TID)
		if err != nil {
			continue
		}
		bt, ok := peek.Blocked(th.TID)
		if !ok {
			continue
		}
		cands = append(cands, cand{bt, cpu, sc.stackPages(bt.Regs.RSP)})
	}
	n := 0
	for _, c := range cands {
		n += len(c.pages)
	}
	buf := make([]byte, n*cpython.PageSize)
	reqs := make([]live.Request, 0, n)
	for _, c := range cands {
		for _, a := range c.pages {
			i := len(reqs) * cpython.PageSize
			reqs = append(reqs, live.Request{Addr: a, Buf: buf[i : i+cpython.PageSize]})
		}
	}
	for i := 0; i < len(reqs); i += batchPages {
		peek.ReadBatch(reqs[i:min(i+batchPages, len(reqs))])
	}
	got := map[uint64][]byte{}
	for _, r := range reqs {
		if r.N == len(r.Buf) {
			got[r.Addr] = r.Buf
		}
	}
	for _, c := range cands {
		if cpu, err := peek.CPUTime(c.th.TID); err != nil || cpu != c.cpu {
			continue // it ran: its stack is copied in the pause
		}
		complete := true
		for _, a := range c.pages {
			if got[a] == nil {
				complete = false
			}
		}
		if !complete {
			continue
		}
		for _, a := range c.pages {
			sc.pages[a] = got[a]
		}
		sc.blocked[c.th.TID] = preCopied{c.th, c.pages}
	}
	return sc
}

// sameState reports whether a thread is in the same system call, with the
// same arguments, at the same stack and program counters.
func sameState(a, b *target.Thread) bool {
	return a.InSyscall && b.InSyscall && a.Syscall == b.Syscall && a.Args == b.Args &&
		a.Regs != nil && b.Regs != nil && a.Regs.RSP == b.Regs.RSP && a.Regs.RIP == b.Regs.RIP
}

// stackPages lists the pages of the used stack above sp: to the end of the
// mapping that holds it (glibc puts a thread's descriptor and TLS at the top
// of its stack mapping, the kernel the arguments and environment at the top
// of the main thread's), at most maxStackCopy.
func (sc *stackCopy) stackPages(sp uint64) []uint64 {
	const page = cpython.PageSize
	i, ok := slices.BinarySearchFunc(sc.maps, sp, func(m target.Mapping, a uint64) int {
		switch {
		case m.End <= a:
			return -1
		case m.Start > a:
			return 1
		}
		return 0
	})
	if !ok || len(sc.maps[i].Perms) < 2 || sc.maps[i].Perms[1] != 'w' {
		return nil
	}
	var out []uint64
	top := min(sc.maps[i].End, sp+maxStackCopy)
	for a := sp &^ (page - 1); a < top && sc.total < maxStackCopyTotal; a += page {
		out = append(out, a)
		sc.total += page
	}
	return out
}

// pausePages adds to pages (sorted) the stack pages of the stopped threads
// whose stacks were not copied before the pause.
func (sc *stackCopy) pausePages(pages []uint64, threads []target.Thread) []uint64 {
	var extra []uint64
	for i := range threads {
		th := &threads[i]
		if th.Regs == nil {
			continue
		}
		if pre, ok := sc.blocked[th.TID]; ok && sameState(&pre.th, th) {
			continue
		}
		extra = append(extra, sc.stackPages(th.Regs.RSP)...)
	}
	if len(extra) == 0 {
		return pages
	}
	out := append(slices.Clone(pages), extra...)
	slices.Sort(out)
	return slices.Compact(out)
}

// fill adds the stacks copied before the pause to the pause's copy, for the
// threads the pause found unchanged; pages copied in the pause win.
func (sc *stackCopy) fill(pages map[uint64][]byte, threads []target.Thread) {
	for i := range threads {
		th := &threads[i]
		pre, ok := sc.blocked[th.TID]
		if !ok || !sameState(&pre.th, th) {
			continue
		}
		for _, a := range pre.pages {
			if _, done := pages[a]; !done && sc.pages[a] != nil {
				pages[a] = sc.pages[a]
			}
		}
	}
}
