package cpython

import "testing"

// excNested is the shape 3.11+ compilers give to
//
//	try:             # try body: units 2–19, handler at 40
//	    a()
//	    with lock:   # with body: units 5–14, handler (the with cleanup) at 30
//	        b()
//	    c()
//	except E:        # except handler body, itself covered: units 40–47
//	    pass
//
// plus one large entry to exercise multi-group varints. The `with` body
// splits the try body's range in two, so the first entry covering a unit is
// the innermost handler. Entry: start, length, target (code units),
// depth<<1|lasti; varints big-endian 6-bit groups, 0x80 on an entry's first
// byte, 0x40 = more groups follow. Checked once against dis._parse_exception_table.
var excNested = []byte{
	0x82, 0x03, 0x28, 0x00, // A: start 2, len 3 → [2,5), target 40, depth 0 (0<<1|0)
	0x85, 0x0a, 0x1e, 0x05, // B: start 5, len 10 → [5,15), target 30, depth 2, lasti (2<<1|1 = 5)
	0x8f, 0x05, 0x28, 0x00, // C: start 15, len 5 → [15,20), target 40, depth 0
	0x9e, 0x06, 0x32, 0x09, // D: start 30, len 6 → [30,36), target 50, depth 4, lasti (9)
	0xa8, 0x08, 0x32, 0x03, // E: start 40, len 8 → [40,48), target 50, depth 1, lasti (3)
	// F: start 100 = 1<<6|36: 0xc1 (0x80|0x40|1), 0x24
	//    len 300 = 4<<6|44:   0x44, 0x2c  → [100,400)
	//    target 2000 = 31<<6|16: 0x5f, 0x10
	//    depth 70<<1|0 = 140 = 2<<6|12: 0x42, 0x0c
	0xc1, 0x24, 0x44, 0x2c, 0x5f, 0x10, 0x42, 0x0c,
}

type excWant struct {
	target, depth int
	lasti, ok     bool
}

func excExpect(unit int) excWant {
	switch {
	case unit >= 2 && unit < 5:
		return excWant{40, 0, false, true}
	case unit >= 5 && unit < 15:
		return excWant{30, 2, true, true}
	case unit >= 15 && unit < 20:
		return excWant{40, 0, false, true}
	case unit >= 30 && unit < 36:
		return excWant{50, 4, true, true}
	case unit >= 40 && unit < 48:
		return excWant{50, 1, true, true}
	case unit >= 100 && unit < 400:
		return excWant{2000, 70, false, true}
	}
	return excWant{}
}

func TestExceptionTableEntry(t *testing.T) {
	for unit := -2; unit < 420; unit++ {
		target, depth, lasti, ok := exceptionTableEntry(excNested, unit)
		got, want := excWant{target, depth, lasti, ok}, excExpect(unit)
		if got != want {
			t.Errorf("unit %d: %+v, want %+v", unit, got, want)
		}
	}
}

func TestExceptionTableMalformed(t *testing.T) {
	cases := []struct {
		name string
		tbl  []byte
		unit int
		want excWant
	}{
		{"empty", nil, 0, excWant{}},
		// Last byte of F (depth) missing: F cannot be read…
		{"truncated depth", excNested[:len(excNested)-1], 100, excWant{}},
		// …but entries before it still can.
		{"truncated, earlier entry", excNested[:len(excNested)-1], 5, excWant{30, 2, true, true}},
		{"truncated start", []byte{0xc1}, 0, excWant{}},
		{"overlong start", []byte{0xc0, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01}, 0, excWant{}},
		// Unsorted: an entry starting after the unit stops the scan, as in CPython.
		{"unsorted", []byte{0x8a, 0x02, 0x01, 0x00, 0x80, 0x05, 0x07, 0x02}, 1, excWant{}},
		// Junk without entry-start bits after a non-covering entry is skipped.
		{"junk between entries", []byte{0x80, 0x01, 0x01, 0x00, 0x11, 0x22, 0x82, 0x02, 0x09, 0x04}, 3, excWant{9, 2, false, true}},
	}
	for _, c := range cases {
		target, depth, lasti, ok := exceptionTableEntry(c.tbl, c.unit)
		if got := (excWant{target, depth, lasti, ok}); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestExceptionTableEntryAt(t *testing.T) {
	for _, tc := range []struct {
		unit, depth int
		lasti, ok   bool
	}{
		{2, 0, false, true}, {5, 2, true, true}, {15, 0, false, true}, {30, 4, true, true},
		{40, 1, true, true}, {100, 70, false, true},
		{0, 0, false, false}, {3, 0, false, false}, {6, 0, false, false}, {99, 0, false, false},
		{400, 0, false, false}, {-1, 0, false, false},
	} {
		d, l, ok := exceptionTableEntryAt(excNested, tc.unit)
		if d != tc.depth || l != tc.lasti || ok != tc.ok {
			t.Errorf("entry at %d = (%d, %v, %v), want (%d, %v, %v)", tc.unit, d, l, ok, tc.depth, tc.lasti, tc.ok)
		}
	}
	// A table cut inside the entry that starts at the unit.
	if _, _, ok := exceptionTableEntryAt(excNested[:6], 5); ok {
		t.Error("a truncated entry was accepted")
	}
}
