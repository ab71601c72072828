package main

import "testing"

// TestSpareMemoryTake: room is taken from the first chunk that has it, each
// taking disjoint from the others, and fresh when no chunk has it.
func TestSpareMemoryTake(t *testing.T) {
	block := make([]byte, 100)
	m := &spareMemory{}
	m.keep([][]byte{block[:30], block[30:]})
	a := m.take(40) // only the second chunk has room
	b := m.take(20)
	c := m.take(40) // no room left: fresh
	if cap(a) != 40 || &a[:1][0] != &block[30] {
		t.Errorf("a: cap %d, not at the second chunk's start", cap(a))
	}
	if cap(b) != 20 || &b[:1][0] != &block[0] {
		t.Errorf("b: cap %d, not at the first chunk's start", cap(b))
	}
	a = append(a, make([]byte, 40)...)
	a = append(a, 1) // past its room: reallocated, not into the next taking
	if &a[0] == &block[30] || block[70] != 0 {
		t.Errorf("appending past the room wrote into the spare memory")
	}
	if cap(c) != 40 || len(c) != 0 {
		t.Errorf("c: len %d cap %d", len(c), cap(c))
	}
	var none *spareMemory
	if d := none.take(8); cap(d) != 8 {
		t.Errorf("nil spare memory: cap %d", cap(d))
	}
}
