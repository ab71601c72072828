package capture

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/native"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Unwinding a live thread's native stack needs its used stack as of the
// instant the threads were stopped. A thread blocked in a system call does
// not touch its stack until it returns, so its stack is read before the
// pause: what is read holds for the pause when the thread did not run while
// it was read (its CPU time did not move) and the pause finds it in the same
// call at the same stack and program counters. Only the stacks of the other
// threads (running, or woken meanwhile) are copied during the pause, so
// --native adds next to nothing to it.
//
// A blocked thread's stack is unwound as soon as it is read, through one
// buffer reused from thread to thread, and only its frames are kept: fresh
// memory costs a page fault a page, and a hundred threads of CPython 3.8
// under fifty Python calls each have 8 MiB of stack. Before the pause only
// its stack and program counters are known, not its other registers; an
// unwind that needs one of those (it stops short of the thread's first
// function) is not kept, and the thread's stack is kept instead, to be
// unwound with the registers the pause reads.

// Bounds on the stack memory copied: a thread's used stack is [sp, top of its
// stack mapping), which for a thread blocked under a few hundred frames is
// tens of KiB.
const (
	maxStackCopy      = 2 << 20   // per thread
	overflowReach     = 64 << 10  // below a stack, where a frame that overflowed it begins
	maxStackCopyTotal = 256 << 20 // per snapshot
)

// stackGroup bounds the pages of the stacks read at once (more when one
// thread's stack alone is larger): the buffer they are read through.
const stackGroup = 128

// stackCopy is what was read of the stacks of blocked threads before the
// pause: the native stacks unwound, and the stacks kept to be unwound later.
type stackCopy struct {
	pages map[uint64][]byte
	// blocked is, by tid, the threads whose stacks were read, with the
	// state what was read holds for.
	blocked map[int]preCopied
	// inHandler is the threads seen blocked inside a signal handler that
	// runs on an alternate signal stack: the stack the signal interrupted
	// is elsewhere, and the pause copies it too (handlerPages).
	inHandler map[int]bool
	maps      []target.Mapping
	total     uint64          // bytes copied, towards maxStackCopyTotal
	mods      *native.Modules // what the stacks were unwound with, for the rest
	slab      frameSlab       // where their frames are taken from
}

type preCopied struct {
	th    target.Thread
	pages []uint64      // the stack kept, when not unwound
	stack *unwoundStack // the stack unwound, or nil
}

// copyBlockedStacks reads the used stacks of peek's threads that sit in a
// system call, without stopping them, and unwinds each with mods.
func copyBlockedStacks(peek *live.Process, mods *native.Modules) *stackCopy {
	sc := &stackCopy{pages: map[uint64][]byte{}, blocked: map[int]preCopied{}, inHandler: map[int]bool{},
		maps: peek.Mappings(), mods: mods}
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
		if pages := sc.stackPages(bt.Regs.RSP); len(pages) > 0 {
			cands = append(cands, cand{bt, cpu, pages})
		}
	}
	var (
		buf  []byte
		reqs []live.Request
		st   native.Stack
	)
	for i := 0; i < len(cands); {
		// A group of threads, its stacks read in one batch.
		j, n := i, 0
		for j < len(cands) && (j == i || n+len(cands[j].pages) <= stackGroup) {
			n += len(cands[j].pages)
			j++
		}
		if len(buf) < n*cpython.PageSize {
			buf = make([]byte, max(n, stackGroup)*cpython.PageSize)
		}
		reqs = reqs[:0]
		for _, c := range cands[i:j] {
			for _, a := range c.pages {
				k := len(reqs) * cpython.PageSize
				reqs = append(reqs, live.Request{Addr: a, Buf: buf[k : k+cpython.PageSize]})
			}
		}
		for k := 0; k < len(reqs); k += batchPages {
			peek.ReadBatch(reqs[k:min(k+batchPages, len(reqs))])
		}
		at := 0
		for _, c := range cands[i:j] {
			rs := reqs[at : at+len(c.pages)]
			at += len(c.pages)
			if cpu, err := peek.CPUTime(c.th.TID); err != nil || cpu != c.cpu {
				continue // it ran: its stack is copied in the pause
			}
			complete := true
			for _, r := range rs {
				if r.N != len(r.Buf) {
					complete = false
				}
			}
			if !complete {
				continue
			}
			// The pages of one stack are adjacent, and so are their buffers.
			first := rs[0].Addr
			mem := stackView{start: first, data: buf[(at-len(c.pages))*cpython.PageSize : at*cpython.PageSize]}
			mods.UnwindInto(&st, mem, c.th.Regs, true)
			if st.End == "" {
				sc.blocked[c.th.TID] = preCopied{th: c.th, stack: keepStack(&st, &sc.slab)}
				continue
			}
			if elsewhere(&st, mem) {
				sc.inHandler[c.th.TID] = true
				continue // the pause copies both stacks
			}
			for _, r := range rs {
				sc.pages[r.Addr] = bytes.Clone(r.Buf)
			}
			sc.blocked[c.th.TID] = preCopied{th: c.th, pages: c.pages}
		}
		i = j
	}
	return sc
}

// elsewhere says whether a signal frame of st saved a stack pointer outside
// mem: the handler ran on an alternate signal stack.
func elsewhere(st *native.Stack, mem stackView) bool {
	for i := range st.Frames {
		if c := st.Frames[i].Context; c != nil && mem.Page(c.SP&^(cpython.PageSize-1)) == nil {
			return true
		}
	}
	return false
}

// unwound returns the native stack of kt unwound before the pause, when the
// pause found kt where it was then.
func (sc *stackCopy) unwound(kt *target.Thread) *unwoundStack {
	if sc == nil {
		return nil
	}
	if pre, ok := sc.blocked[kt.TID]; ok && pre.stack != nil && sameState(&pre.th, kt) {
		return pre.stack
	}
	return nil
}

// stackView is the memory of one stack read before the pause: data holds
// the pages from start on.
type stackView struct {
	start uint64
	data  []byte
}

// Page hands the unwinder a page without copying it.
func (v stackView) Page(base uint64) []byte {
	if base < v.start || base-v.start >= uint64(len(v.data)) {
		return nil
	}
	off := base - v.start
	return v.data[off : off+cpython.PageSize]
}

func (v stackView) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < v.start || addr-v.start >= uint64(len(v.data)) {
		return 0, fmt.Errorf("reading %d bytes at %#x: not in the stack read: %w", len(p), addr, target.ErrUnreadable)
	}
	n := copy(p, v.data[addr-v.start:])
	if n < len(p) {
		return n, fmt.Errorf("reading %d bytes at %#x: not in the stack read: %w", len(p)-n, addr+uint64(n), target.ErrUnreadable)
	}
	return n, nil
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
// of the main thread's), at most maxStackCopy. A thread that ran out of stack
// may have its stack pointer in the unmapped gap or guard below its stack,
// where a frame it began faulted: its stack is then the mapping just above,
// within overflowReach.
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
	from := sp
	if !ok { // sc.maps[i] is the first mapping above sp, if any
		if i == len(sc.maps) || sc.maps[i].Start-sp > overflowReach {
			return nil
		}
		from = sc.maps[i].Start
	}
	if len(sc.maps[i].Perms) < 2 || sc.maps[i].Perms[1] != 'w' {
		return nil
	}
	var out []uint64
	top := min(sc.maps[i].End, from+maxStackCopy)
	for a := from &^ (page - 1); a < top && sc.total < maxStackCopyTotal; a += page {
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

// maxNestedSignals bounds the rounds of handlerPages in one pause: a
// handler that a second signal interrupted, on another stack, takes two.
const maxNestedSignals = 3

// handlerPages lists, for the stopped threads that may be inside a signal
// handler running on an alternate signal stack (sigaltstack, as
// faulthandler's), the pages of the stacks their signals interrupted that
// the copy (mem) lacks: the stack pointer the kernel saved in the signal
// frame, not the thread's, is where the rest of the stack is. Those threads
// are the one whose stop is a signal's delivery (a crash caught by pyhang
// run, the handler maybe having raised the signal again) and the ones seen
// blocked in a handler before the pause; their first frames are unwound
// over the copy, in the pause, to find the signal frames.
func (sc *stackCopy) handlerPages(threads []target.Thread, sig *target.SigInfo, mem copyOnly) []uint64 {
	var out []uint64
	for i := range threads {
		th := &threads[i]
		if th.Regs == nil || !(sc.inHandler[th.TID] || sig != nil && sig.TID == th.TID) {
			continue
		}
		for _, c := range sc.mods.SignalContexts(mem, th.Regs) {
			// The working set may hold some pages of that stack already
			// (the interpreter's frames on it), not all it needs.
			for _, a := range sc.stackPages(c.SP) {
				if mem.Page(a) == nil {
					out = append(out, a)
				}
			}
		}
	}
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
