package cpython

import (
	"errors"
	"testing"
)

// TestReleaseHandsOverPagesAndStopsReading: the memory Release hands over is
// the pages read (and the read-ahead ring), and no read goes through the
// reader afterwards, not even of a page it had.
func TestReleaseHandsOverPagesAndStopsReading(t *testing.T) {
	h := newHeap()
	a := h.alloc(64)
	h.put64(a, 0x1234)
	r := newReader(heapTarget{h})
	if v, err := r.u64(a); err != nil || v != 0x1234 {
		t.Fatalf("u64 = %#x, %v", v, err)
	}
	mem := r.release()
	total := 0
	for _, m := range mem {
		total += len(m)
	}
	if total < pageSize {
		t.Fatalf("released %d bytes, less than the page read", total)
	}
	for _, m := range mem {
		clear(m) // the caller writes over it
	}
	if _, err := r.u64(a); !errors.Is(err, errReleased) {
		t.Errorf("read of a page read before: %v, want errReleased", err)
	}
	if err := r.read(make([]byte, 16), a); !errors.Is(err, errReleased) {
		t.Errorf("read: %v, want errReleased", err)
	}
}
