// Package coredump writes an ELF core file of a live process from the pause
// of a snapshot: the pages the snapshot copied, every thread's stack with its
// registers, what gdb needs to find the shared libraries, and the notes that
// describe the process. With Full it keeps every readable mapping instead.
//
// A Dump is a capture.Keeper: Plan runs before the target is stopped, Keep
// while it is, and Write once it runs again.
package coredump

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/pyhang/pyhang/snapshot/corefile"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// page is the unit of memory a core keeps.
const page = 4096

// Bounds on what a default core keeps of the thread stacks: the used part,
// from the stack pointer (less the 128-byte red zone) to the top of the
// stack's mapping, where glibc puts the thread's descriptor and its TLS.
const (
	redZone       = 128
	maxStack      = 16 << 20  // per thread
	maxStackTotal = 512 << 20 // per core
)

// Dump collects the memory and notes of one core.
type Dump struct {
	f    *os.File
	full bool
	w    *corefile.Writer

	pid   int
	info  live.Info
	maps  []target.Mapping
	plan  []uint64 // pages to copy beyond the snapshot's: ELF heads, [vdso], the loader's list
	pages map[uint64][]byte
	kept  map[uint64][]byte // copied in the pause, not in pages

	threads    []target.Thread
	sig        *target.SigInfo
	stackPages int
	unreadable []string
	warnings   []string
	keptAt     time.Duration // pause so far when Keep ended
	err        error
}

var _ capture.Keeper = (*Dump)(nil)

// New starts a core in f (empty; it is written as the dump goes).
func New(f *os.File, full bool) *Dump {
	return &Dump{f: f, full: full, w: corefile.NewWriter(f), kept: map[uint64][]byte{}}
}

// Plan reads what the notes need from /proc and finds the pages a core needs
// beyond the snapshot's, on the still running target.
func (d *Dump) Plan(t target.Target) error {
	d.pid = t.PID()
	info, err := live.ProcessInfo(d.pid)
	if err != nil {
		return fmt.Errorf("core of pid %d: %w", d.pid, err)
	}
	d.info = info
	d.maps = t.Mappings()
	if d.full {
		return nil
	}
	var want []uint64
	for _, m := range d.maps {
		switch {
		case m.Path == "[vdso]":
			// gdb reads the vDSO's symbols and unwind tables from memory.
			for a := m.Start; a < m.End && a-m.Start < 64<<10; a += page {
				want = append(want, a)
			}
		case m.Offset == 0 && strings.HasPrefix(m.Path, "/") && readable(m):
			// The ELF header and program headers of each mapped file, with
			// its build-id (as the kernel keeps them).
			want = append(want, m.Start)
		}
	}
	lp, err := loaderPages(t, auxvOf(info.Auxv))
	if err != nil {
		d.warnings = append(d.warnings, fmt.Sprintf("gdb may not find the shared libraries in this core: %v", err))
	}
	want = append(want, lp...)
	slices.Sort(want)
	d.plan = slices.Compact(want)
	return nil
}

// Keep copies, while the target is stopped, every thread's stack, the
// planned pages, and with Full every readable mapping (written to the file
// at once).
func (d *Dump) Keep(s capture.Stopped, pages map[uint64][]byte) {
	d.pages = pages
	d.threads = s.Threads()
	d.sig = s.Signal()
	if ms := s.Mappings(); len(ms) > 0 {
		d.maps = ms
	}
	if d.full {
		d.keepAll(s)
	} else {
		d.keepStacks(s)
		d.copyPages(s, d.plan, nil)
	}
	d.keptAt = s.Paused()
}

// keepStacks copies each thread's used stack.
func (d *Dump) keepStacks(s capture.Stopped) {
	total := 0
	for _, th := range d.threads {
		if th.Regs == nil || th.Regs.RSP == 0 {
			continue
		}
		lo, hi := stackRange(th.Regs, d.maps)
		var want []uint64
		for a := lo; a < hi && total < maxStackTotal; a += page {
			if _, ok := d.pages[a]; !ok {
				want = append(want, a)
			}
			total += page
		}
		d.stackPages += int((hi - lo) / page)
		fs := th.Regs.FSBase
		d.copyPages(s, want, func(lost []uint64) {
			n := 0
			for _, a := range lost {
				// Past a glibc thread's descriptor lies the next block's
				// guard page: not part of this stack.
				if fs <= lo || a <= fs {
					n++
				}
			}
			if n > 0 {
				d.unreadable = append(d.unreadable, fmt.Sprintf("thread %d: %d page(s) of its stack above %#x", th.TID, n, lo))
			}
		})
	}
}

// stackRange is the used part of a thread's stack: from its stack pointer
// (less the red zone) to the top of the mapping that holds it. A glibc thread
// keeps its descriptor (struct pthread, less than a page, where fs_base
// points) at the very top of its stack block; since glibc 2.41 the guard
// page lies inside the block's mapping, so adjacent thread stacks merge into
// one mapping, and the block ends right above the descriptor.
func stackRange(r *target.Regs, maps []target.Mapping) (lo, hi uint64) {
	lo = (r.RSP - redZone) &^ (page - 1)
	m, ok := mappingAt(maps, r.RSP)
	if !ok {
		return lo, lo + 64<<10 // not in a known mapping: the pages next to it
	}
	hi = min(m.End, lo+maxStack)
	if r.FSBase > r.RSP && r.FSBase < hi {
		hi = min(hi, r.FSBase&^(page-1)+2*page) // the descriptor may cross a page
	}
	return lo, hi
}

// runPages bounds the pages of one read request.
const runPages = 64

// copyPages copies the pages at addrs (sorted) into d.kept, in runs of
// adjacent pages; a run that cannot be read whole is read page by page, so
// that a guard page inside a mapping costs only itself. lost, if set, hears
// which pages could not be read.
func (d *Dump) copyPages(s capture.Stopped, addrs []uint64, lost func([]uint64)) {
	if len(addrs) == 0 {
		return
	}
	buf := make([]byte, len(addrs)*page)
	var reqs []live.Request
	for i := 0; i < len(addrs); {
		j := i + 1
		for j < len(addrs) && addrs[j] == addrs[j-1]+page && j-i < runPages {
			j++
		}
		reqs = append(reqs, live.Request{Addr: addrs[i], Buf: buf[i*page : j*page]})
		i = j
	}
	s.ReadBatch(reqs)
	var retry []live.Request
	for _, r := range reqs {
		if r.N == len(r.Buf) {
			for off := 0; off < len(r.Buf); off += page {
				d.kept[r.Addr+uint64(off)] = r.Buf[off : off+page]
			}
			continue
		}
		for off := 0; off < len(r.Buf); off += page {
			retry = append(retry, live.Request{Addr: r.Addr + uint64(off), Buf: r.Buf[off : off+page]})
		}
	}
	if len(retry) == 0 {
		return
	}
	s.ReadBatch(retry)
	var bad []uint64
	for _, r := range retry {
		if r.N == len(r.Buf) {
			d.kept[r.Addr] = r.Buf
		} else {
			bad = append(bad, r.Addr)
		}
	}
	if len(bad) > 0 && lost != nil {
		lost(bad)
	}
}

// fullChunk is how much of a mapping --full reads at once.
const fullChunk = 1 << 20

// keepAll writes every readable mapping to the core, reading around the
// pages that cannot be read (a guard region inside a thread stack, device
// memory): those are left out, never written as zeros.
func (d *Dump) keepAll(s capture.Stopped) {
	buf := make([]byte, fullChunk)
	for _, m := range d.maps {
		if !readable(m) || m.Path == "[vsyscall]" || strings.HasPrefix(m.Path, "[vvar") {
			continue
		}
		bad := 0
		for a := m.Start; a < m.End; a += fullChunk {
			n := min(m.End-a, fullChunk)
			req := []live.Request{{Addr: a, Buf: buf[:n]}}
			s.ReadBatch(req)
			if req[0].N == int(n) {
				d.add(a, m.Perms, buf[:n])
				continue
			}
			reqs := make([]live.Request, 0, n/page)
			for off := uint64(0); off < n; off += page {
				reqs = append(reqs, live.Request{Addr: a + off, Buf: buf[off : off+page]})
			}
			s.ReadBatch(reqs)
			for _, r := range reqs {
				if r.N == page {
					d.add(r.Addr, m.Perms, r.Buf)
				} else {
					bad++
				}
			}
		}
		if bad > 0 {
			d.unreadable = append(d.unreadable, fmt.Sprintf("%d page(s) of %#x-%#x %s", bad, m.Start, m.End, describe(m)))
		}
	}
}

func (d *Dump) add(addr uint64, perms string, b []byte) {
	if d.err == nil {
		d.err = d.w.Add(addr, perms, b)
	}
}

// Result says what a core holds.
type Result struct {
	Bytes      int64    `json:"bytes"`
	Segments   int      `json:"segments"`
	Threads    int      `json:"threads"`
	Memory     int64    `json:"memory_bytes"`
	StackPages int      `json:"stack_pages,omitempty"`
	Full       bool     `json:"full"`
	Unreadable []string `json:"unreadable,omitempty"` // what could not be read, left out
	Warnings   []string `json:"warnings,omitempty"`
	// PausedMS is how long the target had been stopped when the core's
	// memory was copied: a little less than the whole pause (the
	// snapshot's TargetInfo.PausedMS), which ends once the threads run.
	PausedMS float64 `json:"paused_ms"`
}

// Write writes the memory kept (the default) and the notes, once the target
// runs again.
func (d *Dump) Write() (Result, error) {
	if d.err != nil {
		return Result{}, d.err
	}
	if d.threads == nil {
		return Result{}, fmt.Errorf("core of pid %d: the target was never stopped", d.pid)
	}
	if !d.full {
		addrs := make([]uint64, 0, len(d.pages)+len(d.kept))
		for a := range d.pages {
			addrs = append(addrs, a)
		}
		for a := range d.kept {
			if _, dup := d.pages[a]; !dup {
				addrs = append(addrs, a)
			}
		}
		slices.Sort(addrs)
		for _, a := range addrs {
			b, ok := d.pages[a]
			if !ok {
				b = d.kept[a]
			}
			perms := "rw-p" // a page the mappings read before the stop do not cover
			if m, ok := mappingAt(d.maps, a); ok {
				perms = m.Perms
			}
			if err := d.w.Add(a, perms, b); err != nil {
				return Result{}, err
			}
		}
	}
	n, err := d.w.Finish(d.process())
	if err != nil {
		return Result{}, err
	}
	return Result{
		Bytes: n, Segments: d.w.Segments(), Threads: len(d.threads), Memory: d.w.MemoryBytes(),
		StackPages: d.stackPages, Full: d.full, Unreadable: d.unreadable, Warnings: d.warnings,
		PausedMS: float64(d.keptAt.Microseconds()) / 1000,
	}, nil
}

// process is the notes' view of the process: the thread that took the
// signal first, else the main thread, then the others by tid.
func (d *Dump) process() *corefile.Process {
	p := &corefile.Process{
		PID: d.pid, PPID: d.info.PPID, PGRP: d.info.PGRP, SID: d.info.SID, UID: d.info.UID, GID: d.info.GID,
		State: d.info.State, Nice: d.info.Nice, Name: d.info.Name, Args: d.info.Args,
		Signal: d.sig, Auxv: d.info.Auxv, Cwd: d.info.Cwd,
	}
	first := d.pid
	if d.sig != nil && d.sig.TID != 0 {
		first = d.sig.TID
	}
	ths := slices.Clone(d.threads)
	slices.SortStableFunc(ths, func(a, b target.Thread) int {
		if (a.TID == first) != (b.TID == first) {
			if a.TID == first {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.TID, b.TID)
	})
	for _, th := range ths {
		ct := corefile.Thread{TID: th.TID, Name: th.Name}
		if th.Regs != nil {
			ct.Regs = *th.Regs
		}
		if d.sig != nil && th.TID == d.sig.TID {
			ct.Cursig = d.sig.Signo
		}
		p.Threads = append(p.Threads, ct)
	}
	for _, m := range d.maps {
		if strings.HasPrefix(m.Path, "/") {
			p.Files = append(p.Files, m)
		}
	}
	return p
}

func readable(m target.Mapping) bool { return len(m.Perms) > 0 && m.Perms[0] == 'r' }

func describe(m target.Mapping) string {
	if m.Path == "" {
		return "(anonymous)"
	}
	return m.Path
}

// mappingAt finds the mapping holding addr in maps (sorted by address).
func mappingAt(maps []target.Mapping, addr uint64) (target.Mapping, bool) {
	i := sort.Search(len(maps), func(i int) bool { return maps[i].End > addr })
	if i < len(maps) && maps[i].Start <= addr {
		return maps[i], true
	}
	return target.Mapping{}, false
}
