package capture

import (
	"fmt"
	"slices"
	"time"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/native"
	"github.com/pyhang/pyhang/snapshot/target"
)

// A live snapshot is taken so that the target stays stopped only while bytes
// are copied, never while they are decoded, and so that every stack in it is
// of one instant:
//
//  1. decode the whole snapshot without stopping the target, to learn which
//     pages of its memory a snapshot reads (the working set), keeping the
//     pages as read. Meanwhile, on another CPU, read the threads from /proc
//     and seize them for the stop (ahead.go);
//  2. stop every thread, copy the working set in a few batched reads (in two
//     goroutines at once, pagecopy.go) and compare it with what step 1 read. If
//     a page differs, follow every
//     thread's frame chain over the copy and fetch the pages the chain has
//     moved to (cpython.WalkStacks). Note each thread's registers and system
//     call, and let the threads go;
//  3. if every page of the copy holds what step 1 read, step 1's decode was a
//     decode of the stopped instant: keep it, and what it read and decoded
//     (cpython.Process.Keep). Otherwise decode again, from the copy.
//
// A hung process often needs no stop at all: when the scheduler's counts of
// every thread, read before step 1 and again after it, say that no thread
// ran in between (live.Runs), step 1 read one instant of the process, and
// steps 2 and 3 are left out. The threads are then seized only when one of
// them was seen running (ahead.go), and the stop is taken as above when a
// thread ran after all.
//
// Threads blocked in a hang do not change their memory: for them the pause is
// a copy and a comparison, and step 3 keeps step 1. A thread that ran between
// 1 and 2 makes the pause walk the frame chains and step 3 decode again; its
// frames are then all in the copy. What step 3 still reads outside the copy
// (an object a new frame refers to) comes from the running process, and the
// report says how many such pages there were.

// takeLive snapshots a running process, stopping it only to copy memory. The
// side work runs on h (nil: a goroutine of its own).
func takeLive(pid int, opts Options, h *helper) (*snapshot.Snapshot, error) {
	// The first look at the threads' runs comes before anything is read.
	runs := idleRuns(pid, opts)
	peek, err := live.Attach(pid, live.Options{NonBlocking: true, ThreadsLater: true})
	if err != nil {
		return nil, err
	}
	defer peek.Close()
	// The modules whose symbols name the threads' native frames: the side
	// work loads the ones the blocked threads are in, finish uses them.
	mods := native.NewModules(peek.Mappings(), peek.OpenFile)
	defer mods.Close()
	mods.ImagesFrom(peek) // the [vdso] does not change: read it unstopped
	seize := seizeAlways
	switch {
	case opts.Stop != nil:
		seize = seizeNever
	case runs != nil:
		seize = seizeUnlessAsleep
	}
	side := startAhead(peek, seize, mods, h)
	defer side.wait() // before Close: the work uses peek
	p, err := cpython.Open(peek)
	if err != nil {
		side.interpreter(nil)
		return nil, side.first(err)
	}
	side.interpreter(p)
	first, err := decodeMemory(p, opts, h)
	if err != nil {
		return nil, side.first(err)
	}
	decoded := p.Notes() // what the decode noted, not the join below
	// The helper reads and parses the frames' source files now, beside the
	// join and around the pause, so that they are ready when the snapshot is
	// completed and analysed: handed over after the pause, the analysis
	// waited for them (1-2 ms on 102 threads, paired runs).
	view := viewOf(peek, opts)
	if !opts.NoSource {
		view.relativeTo(p, first.threads) // before the helper reads a file
		files := frameFiles(first.threads)
		h.do(func() { view.prefetch(files) })
	}
	if err := side.wait(); err != nil {
		return nil, err
	}
	pipesScanned := side.pipesAfter(pid, h)
	defer pipesScanned()
	// Joined only to learn the pages the join reads (wait entries, glibc's
	// thread structs); the kernel's view that counts is the stopped one.
	joinReads(peek, p, first, opts, nil, peek)
	seen, whole := p.PageData()
	if opts.Keep != nil {
		if err := opts.Keep.Plan(peek); err != nil {
			return nil, err
		}
	}
	var stacks *stackCopy
	mods.Adopt(p.Binary, p.Bin)
	if opts.Native {
		stacks = copyBlockedStacks(peek, mods)
	}
	if !namedByNativeID(peek.Threads(), first) {
		runs = nil
	}
	fz, err := stillOrFrozen(peek, p, seen, whole, runs, side.seized, stacks, opts, h)
	if err != nil {
		return nil, err
	}
	d := first
	if whole && fz.same {
		// The stopped instant holds what was read: the decode stands, and
		// so does all that was read and decoded for it and for the join.
		p.Keep(fz, decoded)
	} else {
		p.Rebind(fz)
		if d, err = decodeMemory(p, opts, nil); err != nil {
			return nil, err
		}
	}
	fz.mods = mods
	if !opts.NoSource && d != first { // decoded again: its files too
		files := frameFiles(d.threads)
		h.do(func() { view.prefetch(files) })
	}
	pipesScanned()
	s := finish(fz, p, d, opts, side.kin, view)
	if opts.WatchGIL {
		watchGILs(s, peek) // the target runs again: peek reads it as it runs
	}
	return s, nil
}

// idleRuns takes the first look at the threads' runs when the snapshot may
// do without the stop: not when the stop is another's (opts.Stop), when more
// is kept in it (a core), or when --native needs every thread's registers,
// which only a stop gives. nil: the snapshot stops the target.
func idleRuns(pid int, opts Options) *live.Runs {
	if opts.Stop != nil || opts.Keep != nil || opts.Native || opts.AlwaysStop {
		return nil
	}
	runs, err := live.MarkRuns(pid)
	if err != nil {
		return nil
	}
	return runs
}

// namedByNativeID says whether every kernel thread is the one a thread
// state records (native_thread_id, 3.11+). Any other (a thread that runs no
// Python, or any thread before 3.11) is told by its fs_base register, the
// pthread_t: only a stop reads that.
func namedByNativeID(kts []target.Thread, d *decoded) bool {
	named := make(map[int]bool, len(d.tstates))
	for _, ts := range d.tstates {
		if ts.NativeID != 0 {
			named[ts.NativeID] = true
		}
	}
	for _, kt := range kts {
		if !named[kt.TID] {
			return false
		}
	}
	return true
}

// stillOrFrozen is the instant the first decode is kept from: the process
// as read, when no thread ran since runs was taken and the decode kept
// every page it read (whole); else the stopped instant (freeze), the
// threads seized first if the side work did not.
func stillOrFrozen(peek *live.Process, p *cpython.Process, seen map[uint64][]byte, whole bool, runs *live.Runs,
	seized bool, stacks *stackCopy, opts Options, h *helper) (*frozen, error) {
	if runs != nil && !seized && whole {
		if idle, _ := runs.Idle(); idle {
			return &frozen{Process: peek, pages: seen, same: true, idle: true, threads: peek.Threads()}, nil
		}
	}
	if !seized && opts.Stop == nil {
		if err := peek.Seize(); err != nil {
			return nil, err
		}
	}
	release := h.hold()
	defer release()
	return freeze(peek, p, seen, stacks, opts)
}

// frozen is the stopped instant of a live process, or the instant it was
// read in when no thread ran meanwhile (idle).
type frozen struct {
	*live.Process // the unstopped view: mappings, files, pages not copied
	pages         map[uint64][]byte
	stopped       Stopped // set while the target is stopped
	threads       []target.Thread
	signal        *target.SigInfo
	warnings      []string
	paused        time.Duration
	late          int  // pages read after the target was let go
	same          bool // the copy holds what the first decode read
	idle          bool // not stopped: no thread ran while the process was read
	walkErr       error
	stacks        *stackCopy      // --native: the stacks read before the pause
	mods          *native.Modules // for the native frames: loaded beside the first decode
}

// batchPages bounds one batched read (process_vm_readv takes 1024 ranges).
const batchPages = 1024

// maxRunPages bounds the pages one read request covers.
const maxRunPages = 256

// freeze stops the process, copies the pages of seen comparing each with what
// the first decode read, completes every frame chain from the stopped process
// when a page differs, and returns the stopped instant.
func freeze(peek *live.Process, p *cpython.Process, seen map[uint64][]byte, stacks *stackCopy, opts Options) (*frozen, error) {
	pages := make([]uint64, 0, len(seen))
	for base := range seen {
		pages = append(pages, base)
	}
	slices.Sort(pages)
	// Nothing reads through p until the copy is done: its read-ahead
	// memory is the copy's scratch.
	cp := newPageCopy(pages, seen, p.Scratch())
	fz := &frozen{Process: peek, pages: make(map[uint64][]byte, len(pages)), same: true, stacks: stacks}
	t, err := opts.stop(peek)
	if err != nil {
		return nil, err
	}
	fz.same = cp.run(t)
	for i, pg := range cp.kept {
		if pg != nil {
			fz.pages[pages[i]] = pg
		}
	}
	// When the copy holds what the first decode read, that decode stands
	// and needs nothing more; else the stacks are decoded again from the
	// copy, which the walk completes first.
	if !fz.same {
		fz.stopped = t
		fz.walkErr = p.WalkStacks(fz)
		fz.stopped = nil
	}
	if opts.Keep != nil {
		opts.Keep.Keep(t, fz.pages)
	}
	fz.threads = t.Threads()
	fz.signal = t.Signal()
	if stacks != nil {
		fz.copyStacks(t, stacks.pausePages(nil, fz.threads))
		for range maxNestedSignals {
			pages := stacks.handlerPages(fz.threads, fz.signal, copyOnly{fz.pages})
			if len(pages) == 0 {
				break
			}
			fz.copyStacks(t, pages)
		}
	}
	keepKernelWaits(fz.threads, peek.Threads())
	err = t.Close()
	fz.paused = t.Paused()
	if stacks != nil {
		stacks.fill(fz.pages, fz.threads)
	}
	fz.warnings = t.Warnings()
	return fz, err
}

// keepKernelWaits gives a stopped thread in restart_syscall the kernel
// functions the unstopped look saw it sleep in (stopping it made them
// ptrace's), when that look saw it in the same call with the same arguments.
func keepKernelWaits(stopped, before []target.Thread) {
	byTID := map[int]*target.Thread{}
	for i := range before {
		byTID[before[i].TID] = &before[i]
	}
	for i := range stopped {
		t := &stopped[i]
		if !t.InSyscall || t.Syscall != target.SysRestart {
			continue
		}
		if b := byTID[t.TID]; b != nil && b.InSyscall && b.Syscall == t.Syscall && b.Args == t.Args {
			t.KernelWait = b.KernelWait
		}
	}
}

// copyStacks copies, while the target is stopped, the stack pages --native
// needs that the working set lacks: they say nothing of whether the first
// decode stands.
func (f *frozen) copyStacks(t Stopped, pages []uint64) {
	var need []uint64
	for _, a := range pages {
		if _, ok := f.pages[a]; !ok {
			need = append(need, a)
		}
	}
	if len(need) == 0 {
		return
	}
	buf := make([]byte, len(need)*cpython.PageSize)
	reqs := make([]live.Request, len(need))
	for i, a := range need {
		reqs[i] = live.Request{Addr: a, Buf: buf[i*cpython.PageSize : (i+1)*cpython.PageSize]}
	}
	t.ReadBatch(reqs)
	for _, r := range reqs {
		if r.N == len(r.Buf) {
			f.pages[r.Addr] = r.Buf
		}
	}
}

// pageRuns makes one read request per run of adjacent pages (pages sorted,
// buf holding a page for each in the same order).
func pageRuns(pages []uint64, buf []byte) []live.Request {
	var runs []live.Request
	for i := 0; i < len(pages); {
		j := i + 1
		for j < len(pages) && pages[j] == pages[j-1]+cpython.PageSize && j-i < maxRunPages {
			j++
		}
		runs = append(runs, live.Request{Addr: pages[i], Buf: buf[i*cpython.PageSize : j*cpython.PageSize]})
		i = j
	}
	return runs
}

// Page hands out a page of the copy. While the target is stopped, a page the
// copy lacks is read from it and kept; afterwards it comes from the running
// process and counts as late.
func (f *frozen) Page(base uint64) ([]byte, bool) {
	if pg, ok := f.pages[base]; ok {
		return pg, pg != nil
	}
	pg := make([]byte, cpython.PageSize)
	var n int
	if f.stopped != nil {
		n, _ = f.stopped.ReadAt(pg, base)
	} else {
		n, _ = f.Process.ReadAt(pg, base)
		if n == len(pg) {
			f.late++
		}
	}
	if n != len(pg) {
		pg = nil
	}
	f.pages[base] = pg
	return pg, pg != nil
}

// ReadAt reads from the copy, page by page; what the copy lacks comes from
// the running process (a heap scan reads through here, page cache aside).
func (f *frozen) ReadAt(p []byte, addr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		base := a &^ (cpython.PageSize - 1)
		pg, ok := f.pages[base]
		if ok && pg == nil {
			return n, fmt.Errorf("reading %d bytes at %#x: %w (not readable %s)", len(p)-n, a, target.ErrUnreadable, f.instant())
		}
		if !ok {
			f.late++
			m, err := f.Process.ReadAt(p[n:], a)
			return n + m, err
		}
		n += copy(p[n:], pg[a-base:])
	}
	return n, nil
}

func (f *frozen) Threads() []target.Thread { return f.threads }

// copied reads only the copy: a native stack is unwound from the instant the
// threads were stopped, and what was not copied is not read.
func (f *frozen) copied() target.Memory { return copyOnly{f.pages} }

type copyOnly struct{ pages map[uint64][]byte }

// Page hands the unwinder a copied page without copying it again.
func (c copyOnly) Page(base uint64) []byte { return c.pages[base] }

func (c copyOnly) ReadAt(p []byte, addr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		base := a &^ (cpython.PageSize - 1)
		pg, ok := c.pages[base]
		if !ok || pg == nil {
			return n, fmt.Errorf("reading %d bytes at %#x: not in the copy taken while the target was stopped: %w",
				len(p)-n, a, target.ErrUnreadable)
		}
		n += copy(p[n:], pg[a-base:])
	}
	return n, nil
}

// Signal is the signal a thread was stopped to take, if the stop was its delivery.
func (f *frozen) Signal() *target.SigInfo { return f.signal }

// Paused is how long the threads were stopped.
func (f *frozen) Paused() time.Duration { return f.paused }

// Close leaves the unstopped view to its owner.
func (f *frozen) Close() error { return nil }

func (f *frozen) Warnings() []string {
	w := append(append([]string(nil), f.Process.Warnings()...), f.warnings...)
	if f.walkErr != nil {
		w = append(w, fmt.Sprintf("following the frame chains while the target was stopped: %v; "+
			"frames beyond were read afterwards", f.walkErr))
	}
	if f.late > 0 {
		w = append(w, fmt.Sprintf("%d memory page(s) were not read %s; they were read afterwards "+
			"and may not match the rest", f.late, f.instant()))
	}
	return w
}

// instant names the instant the snapshot holds, for messages.
func (f *frozen) instant() string {
	if f.idle {
		return "while no thread of the target ran"
	}
	return "while the target was stopped"
}

// Consistency says how the snapshot is one instant of the process.
func (f *frozen) Consistency() string {
	if f.idle {
		return snapshot.ReadIdle
	}
	return snapshot.ReadStopped
}
