package capture

import (
	"fmt"
	"time"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// A live snapshot is taken in three steps, so that the target stays stopped
// only while bytes are copied, never while they are decoded:
//
//  1. read the whole snapshot without stopping the target, only to learn
//     which pages of its memory a snapshot reads (the working set);
//  2. stop every thread, copy those pages in a few batched reads, note each
//     thread's registers and system call, and let the threads go;
//  3. read the snapshot again from that copy.
//
// Threads blocked in a hang do not change their memory between 1 and 2, so
// for them the copy holds all that step 3 needs, as of one instant. A page
// step 3 needs that is not in the copy belongs to a thread that ran in
// between; it is read from the running process, and the report says how many
// such pages there were.

// frozen is the stopped instant of a live process.
type frozen struct {
	*live.Process // the unstopped view: mappings, files, pages not copied
	pages         map[uint64][]byte
	threads       []target.Thread
	signal        *target.SigInfo
	warnings      []string
	paused        time.Duration
	late          int
}

// batchPages bounds one batched read (process_vm_readv takes 1024 ranges).
const batchPages = 1024

// freeze stops pid (as opts say), copies pages and returns the stopped
// instant. With stacks (--native) it also copies the used stacks of the
// threads whose stacks were not copied before the pause (see stacks.go).
func freeze(peek *live.Process, pid int, pages []uint64, stacks *stackCopy, opts Options) (*frozen, error) {
	t, err := opts.stop(pid)
	if err != nil {
		return nil, err
	}
	if stacks != nil {
		pages = stacks.pausePages(pages, t.Threads())
	}
	fz := &frozen{Process: peek, pages: make(map[uint64][]byte, len(pages))}
	buf := make([]byte, len(pages)*cpython.PageSize)
	reqs := make([]live.Request, 0, batchPages)
	for i := 0; i < len(pages); i += batchPages {
		reqs = reqs[:0]
		for j := i; j < len(pages) && j < i+batchPages; j++ {
			reqs = append(reqs, live.Request{Addr: pages[j], Buf: buf[j*cpython.PageSize : (j+1)*cpython.PageSize]})
		}
		t.ReadBatch(reqs)
		for _, r := range reqs {
			if r.N == len(r.Buf) {
				fz.pages[r.Addr] = r.Buf
			}
		}
	}
	if opts.Keep != nil {
		opts.Keep.Keep(t, fz.pages)
	}
	fz.threads = t.Threads()
	fz.signal = t.Signal()
	fz.warnings = t.Warnings()
	err = t.Close()
	fz.paused = t.Paused()
	if stacks != nil {
		stacks.fill(fz.pages, fz.threads)
	}
	return fz, err
}

// ReadAt reads from the copy, page by page; what the copy lacks comes from
// the running process.
func (f *frozen) ReadAt(p []byte, addr uint64) (int, error) {
	n := 0
	for n < len(p) {
		a := addr + uint64(n)
		base := a &^ (cpython.PageSize - 1)
		pg, ok := f.pages[base]
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
		if !ok {
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
	if f.late > 0 {
		w = append(w, fmt.Sprintf("%d memory page(s) were not in the copy taken while the target was stopped "+
			"(threads ran between the two reads); they were read afterwards and may not match the rest", f.late))
	}
	return w
}
