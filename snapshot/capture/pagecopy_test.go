package capture

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
)

// pagesOnly is a stopped target that only reads memory, from mem by page.
type pagesOnly struct {
	Stopped
	mem map[uint64][]byte
}

func (s pagesOnly) ReadBatch(reqs []live.Request) {
	for i := range reqs {
		r := &reqs[i]
		r.N = 0
		for off := 0; off < len(r.Buf); off += cpython.PageSize {
			pg, ok := s.mem[r.Addr+uint64(off)]
			if !ok {
				break
			}
			r.N += copy(r.Buf[off:], pg)
		}
	}
}

func TestPageCopy(t *testing.T) {
	page := func(b byte) []byte { return bytes.Repeat([]byte{b}, cpython.PageSize) }
	// Runs of adjacent pages and gaps, over more than one part and batch.
	var pages []uint64
	for i := range 700 {
		pages = append(pages, 0x10000000+uint64(i+i/7)*cpython.PageSize)
	}
	seen := map[uint64][]byte{}
	mem := map[uint64][]byte{}
	for i, a := range pages {
		seen[a] = page(byte(i))
		mem[a] = page(byte(i))
	}

	c := newPageCopy(pages, seen, nil)
	if !c.run(pagesOnly{mem: mem}) {
		t.Errorf("an unchanged working set copied as changed")
	}
	for i, a := range pages {
		if &c.kept[i][0] != &seen[a][0] {
			t.Fatalf("page %#x: an equal page was not kept as the first read's", a)
		}
	}

	changed, gone := pages[650], pages[3]
	mem[changed] = page(0xff)
	delete(mem, gone)
	// Scratch carved from spare memory (the reader's read-ahead ring), as
	// a live snapshot copies.
	c = newPageCopy(pages, seen, make([]byte, 1<<20))
	if c.run(pagesOnly{mem: mem}) {
		t.Errorf("a changed and an unreadable page copied as unchanged")
	}
	for i, a := range pages {
		switch {
		case a == changed:
			if !bytes.Equal(c.kept[i], mem[a]) {
				t.Errorf("the changed page %#x was not kept as copied", a)
			}
		case a == gone:
			if c.kept[i] != nil {
				t.Errorf("the unreadable page %#x was kept", a)
			}
		case !bytes.Equal(c.kept[i], seen[a]):
			t.Errorf("page %#x: kept wrong bytes", a)
		}
	}
}

// adjacentPages is n adjacent pages from base, each filled with its index,
// as the target holds them (mem) and as the first decode read them (seen).
func adjacentPages(base uint64, n int) (pages []uint64, mem, seen map[uint64][]byte) {
	mem, seen = map[uint64][]byte{}, map[uint64][]byte{}
	for i := range n {
		a := base + uint64(i)*cpython.PageSize
		pages = append(pages, a)
		mem[a] = bytes.Repeat([]byte{byte(i)}, cpython.PageSize)
		seen[a] = mem[a]
	}
	return pages, mem, seen
}

// TestPageCopyScratchInSpare: when spare is too small for a full batch for
// each goroutine, as the reader's read-ahead ring (512 KiB) is, the batches
// are cut so that every scratch buffer is spare's, and the copy still reads
// and compares every page.
func TestPageCopyScratchInSpare(t *testing.T) {
	pages, mem, seen := adjacentPages(0x30000000, 3*copyBatch+5)
	changed := pages[2*copyBatch+1]
	mem[changed] = bytes.Repeat([]byte{0xee}, cpython.PageSize)
	spare := make([]byte, copyBatch*cpython.PageSize)
	c := newPageCopy(pages, seen, spare)
	lo, hi := &spare[0], &spare[len(spare)-1]
	for i, w := range c.workers {
		first, last := &w.scratch[0], &w.scratch[len(w.scratch)-1]
		if uintptr(unsafe.Pointer(first)) < uintptr(unsafe.Pointer(lo)) || uintptr(unsafe.Pointer(last)) > uintptr(unsafe.Pointer(hi)) {
			t.Errorf("worker %d: scratch allocated outside spare", i)
		}
	}
	if len(c.workers) == 2 && c.batch != copyBatch/2 {
		t.Errorf("two workers in %d pages of spare: batches of %d pages, want %d", copyBatch, c.batch, copyBatch/2)
	}
	if c.run(pagesOnly{mem: mem}) {
		t.Errorf("a changed page copied as unchanged")
	}
	for i, a := range pages {
		if !bytes.Equal(c.kept[i], mem[a]) {
			t.Fatalf("page %#x: kept bytes differ from the target's", a)
		}
	}
}

// TestPageCopyAloneTakesAll: one goroutine copies every batch when the other
// has not begun, and nothing waits for the other; begun late, it takes none.
func TestPageCopyAloneTakesAll(t *testing.T) {
	pages, mem, seen := adjacentPages(0x20000000, 5*copyBatch+3)
	c := newPageCopy(pages, seen, nil)
	if len(c.workers) < 2 {
		c.workers = append(c.workers, copyWorker{scratch: make([]byte, copyBatch*cpython.PageSize)})
	}
	c.work(pagesOnly{mem: mem}, &c.workers[0])
	select {
	case <-c.done:
	default:
		t.Fatalf("every batch copied by one goroutine, but the copy is not done")
	}
	c.work(noReads{t: t}, &c.workers[1]) // late: finds nothing left, reads nothing
	for i, a := range pages {
		if c.kept[i] == nil || &c.kept[i][0] != &seen[a][0] {
			t.Fatalf("page %#x not kept as the first read's", a)
		}
	}
	for b, ch := range c.changed {
		if ch {
			t.Errorf("batch %d marked changed", b)
		}
	}
}

// noReads is a stopped target that must not be read.
type noReads struct {
	Stopped
	t *testing.T
}

func (s noReads) ReadBatch([]live.Request) { s.t.Fatalf("a goroutine that began late read a batch") }
