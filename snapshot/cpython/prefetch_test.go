package cpython

import (
	"testing"
	"unsafe"
)

// blockHeap is a heap that reads blocks in batches, and counts its calls.
type blockHeap struct {
	*heap
	reads, batches int
}

func (b *blockHeap) ReadAt(p []byte, addr uint64) (int, error) {
	b.reads++
	return b.heap.ReadAt(p, addr)
}

func (b *blockHeap) ReadBlocks(buf []byte, addrs []uint64, size int) []bool {
	b.batches++
	whole := make([]bool, len(addrs))
	for i, a := range addrs {
		n, _ := b.heap.ReadAt(buf[i*size:(i+1)*size], a)
		whole[i] = n == size
	}
	return whole
}

// TestPrefetchSavesReadsAndChangesNothingElse: pages read ahead together are
// then served without a read of their own, hold what the memory holds, and
// are not among the pages read (PageData) until asked for; a block the batch
// could not read is read on its own when asked for.
func TestPrefetchSavesReadsAndChangesNothingElse(t *testing.T) {
	h := &blockHeap{heap: &heap{data: make([]byte, 16*pageSize), next: heapBase}}
	var addrs []uint64
	for i := range 4 {
		a := uint64(heapBase + (2*i+1)*pageSize + 64)
		h.put64(a, uint64(0x1000+i))
		addrs = append(addrs, a)
	}
	unreadable := uint64(heapBase + 64*pageSize)
	r := newReader(h)
	r.prefetch(append(addrs, unreadable), 0)
	if h.batches != 1 || h.reads != 0 {
		t.Fatalf("prefetch: %d batches and %d reads, want one batch", h.batches, h.reads)
	}
	if len(r.pages) != 0 {
		t.Fatalf("prefetch put %d pages among those read, want none until asked for", len(r.pages))
	}
	for i, a := range addrs[:3] {
		if v, err := r.u64(a); err != nil || v != uint64(0x1000+i) {
			t.Fatalf("u64(%#x) = %#x, %v", a, v, err)
		}
	}
	if h.reads != 0 {
		t.Errorf("%d reads of pages read ahead", h.reads)
	}
	if pages, _ := (&Process{r: r}).PageData(); len(pages) != 3 {
		t.Errorf("PageData holds %d pages, want the 3 asked for", len(pages))
	}
	if _, err := r.u64(unreadable); err == nil || h.reads == 0 {
		t.Errorf("unreadable page: err %v after %d reads, want an error after reading it again", err, h.reads)
	}
	// A page read already is not read ahead again: one page left is no batch.
	r.prefetch(addrs, 0)
	if h.batches != 1 {
		t.Errorf("prefetch of pages held: %d batches, want none more", h.batches)
	}
}

// TestPrefetchThroughStage: more pages than the staging buffer holds are
// read in batches of stagePages, and each page read ahead keeps what the
// memory held after later prefetches reuse the buffer: no page handed out
// lies in it.
func TestPrefetchThroughStage(t *testing.T) {
	const first, second = stagePages*2 + 22, stagePages + 6
	h := &blockHeap{heap: &heap{data: make([]byte, (first+second+1)*pageSize), next: heapBase}}
	page := func(i int) uint64 { return uint64(heapBase + i*pageSize + 8) }
	var a1, a2 []uint64
	for i := range first + second {
		h.put64(page(i), uint64(0x5000+i))
		if i < first {
			a1 = append(a1, page(i))
		} else {
			a2 = append(a2, page(i))
		}
	}
	r := newReader(h)
	r.prefetch(a1, 0)
	if h.batches != 3 {
		t.Fatalf("%d pages prefetched in %d batches, want 3 of at most %d", first, h.batches, stagePages)
	}
	r.prefetch(a2, 0)
	lo, hi := &r.stage[0], &r.stage[len(r.stage)-1]
	for base, pg := range r.ahead {
		if at := &pg[0]; uintptr(unsafe.Pointer(at)) >= uintptr(unsafe.Pointer(lo)) && uintptr(unsafe.Pointer(at)) <= uintptr(unsafe.Pointer(hi)) {
			t.Fatalf("page %#x read ahead is kept in the staging buffer", base)
		}
	}
	for i := range first + second {
		if v, err := r.u64(page(i)); err != nil || v != uint64(0x5000+i) {
			t.Fatalf("u64(%#x) = %#x, %v; want %#x", page(i), v, err, 0x5000+i)
		}
	}
	if h.reads != 0 {
		t.Errorf("%d reads of pages read ahead", h.reads)
	}
}
