package coredump

import (
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

func TestStackRange(t *testing.T) {
	maps := []target.Mapping{
		{Start: 0x7000_0000, End: 0x7080_1000, Perms: "rw-p"},                            // two glibc 2.41 thread stacks, merged
		{Start: 0x7ffd_0000_0000, End: 0x7ffd_0002_1000, Perms: "rw-p", Path: "[stack]"}, // the main thread's
	}
	for _, c := range []struct {
		name   string
		regs   target.Regs
		lo, hi uint64
	}{
		{"a thread's stack ends after its descriptor", target.Regs{RSP: 0x7040_0f00, FSBase: 0x7040_16c0}, 0x7040_0000, 0x7040_3000},
		{"the red zone below the stack pointer", target.Regs{RSP: 0x7040_1040, FSBase: 0x7040_16c0}, 0x7040_0000, 0x7040_3000},
		{"the main thread's stack runs to its mapping's end", target.Regs{RSP: 0x7ffd_0002_0a00, FSBase: 0x7f00_0000_0740}, 0x7ffd_0002_0000, 0x7ffd_0002_1000},
		{"outside every mapping: the pages next to it", target.Regs{RSP: 0x5000_0010}, 0x4fff_f000, 0x4fff_f000 + 64<<10},
	} {
		lo, hi := stackRange(&c.regs, maps)
		if lo != c.lo || hi != c.hi {
			t.Errorf("%s: [%#x, %#x), want [%#x, %#x)", c.name, lo, hi, c.lo, c.hi)
		}
	}
}
