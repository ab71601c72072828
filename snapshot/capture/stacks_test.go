package capture

import (
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

// TestStackPages: the pages copied for a stack run from the stack pointer to
// the top of its mapping; a stack pointer in the gap just below a stack (a
// thread that ran out of stack) gets that stack from its start; one far from
// any writable mapping gets none.
func TestStackPages(t *testing.T) {
	maps := []target.Mapping{
		{Start: 0x10000, End: 0x20000, Perms: "r-xp"},
		{Start: 0x7f0000, End: 0x7f4000, Perms: "rw-p"},
	}
	for _, c := range []struct {
		sp    uint64
		first uint64
		n     int
	}{
		{0x7f2010, 0x7f2000, 2},
		{0x7effe8, 0x7f0000, 4}, // 24 bytes below the stack: an overflow
		{0x7d0000, 0, 0},        // 128 KiB below: no stack of its
		{0x11000, 0, 0},         // code is no stack
	} {
		sc := &stackCopy{maps: maps}
		got := sc.stackPages(c.sp)
		if len(got) != c.n || c.n > 0 && got[0] != c.first {
			t.Errorf("stackPages(%#x) = %#x, want %d pages from %#x", c.sp, got, c.n, c.first)
		}
	}
}
