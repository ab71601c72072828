//go:build linux

package capture

import "testing"

// The pieces cover the range once, in order; those inside [lo, hi) are
// whole huge pages, the others at most populateChunk and never across lo.
func TestPopulatorPieces(t *testing.T) {
	const base = 0x7f0000000000
	for _, tc := range []struct {
		name       string
		addr, n    uintptr
		lo, hi     uintptr
		wantHuge   int
		wantPieces int
	}{
		{"huge in the middle", base + 40<<10, 5 << 20, base + hugePage, base + 2*hugePage, 1, 63 + 1 + 34}, // 2 MiB-40 KiB, then 1 MiB+40 KiB in 32 KiB
		{"no huge pages", base + 8<<10, 1 << 20, 0, 0, 0, 1 << 20 / populateChunk},
		{"aligned, all huge", base, 2 * hugePage, base, base + 2*hugePage, 2, 2},
	} {
		p := &populator{addr: tc.addr, end: tc.addr + tc.n, lo: tc.lo, hi: tc.hi}
		at, huge, pieces := tc.addr, 0, 0
		for p.addr < p.end {
			addr, n := p.next()
			pieces++
			if addr != at || n == 0 {
				t.Fatalf("%s: piece %d is %#x+%#x, want it at %#x", tc.name, pieces, addr, n, at)
			}
			if addr >= tc.lo && addr < tc.hi {
				if n != hugePage || addr%hugePage != 0 {
					t.Errorf("%s: piece %#x+%#x in the huge part is not one huge page", tc.name, addr, n)
				}
				huge++
			} else if n > populateChunk || (addr < tc.lo && addr+n > tc.lo) {
				t.Errorf("%s: small piece %#x+%#x is too big or crosses %#x", tc.name, addr, n, tc.lo)
			}
			at += n
		}
		if at != tc.addr+tc.n || huge != tc.wantHuge || pieces != tc.wantPieces {
			t.Errorf("%s: ended at %#x (want %#x), %d huge pieces (want %d), %d pieces (want %d)",
				tc.name, at, tc.addr+tc.n, huge, tc.wantHuge, pieces, tc.wantPieces)
		}
	}
}
