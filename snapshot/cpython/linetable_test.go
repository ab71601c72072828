package cpython

import "testing"

// Hand-built tables. Each was also checked once against the interpreter of
// its version (code.replace(co_linetable=…) then co_lines() /
// dis.findlinestarts()), which agreed with the arithmetic in the comments.

type lineCase struct {
	at   int // lasti (byte offset for lnotab, code units otherwise)
	want int
}

// lnotab38 starts at line 1000 and exercises negative deltas, a line jump
// below -128 and a byte jump above 255, and a line jump above 127, each split
// the way 3.8's compiler splits them.
var lnotab38 = []byte{
	0x04, 0x01, // addr 0+4 = 4,    line 1000+1 = 1001
	0x04, 0xfe, // addr 4+4 = 8,    line 1001-2 = 999   (loop back to an earlier line)
	0x02, 0x80, // addr 8+2 = 10,   line 999-128 = 871  } a -200 jump: -128 then -72,
	0x00, 0xb8, // addr 10+0 = 10,  line 871-72 = 799   } the second pair has no bytes
	0xff, 0x00, // addr 10+255 = 265, line 799          } a 300-byte jump: 255 then 45,
	0x2d, 0x7f, // addr 265+45 = 310, line 799+127 = 926 } carrying a +300 line jump:
	0x00, 0x7f, // addr 310,        line 926+127 = 1053 } 127, 127, 46
	0x00, 0x2e, // addr 310,        line 1053+46 = 1099 }
}

var lnotab38Cases = []lineCase{
	{-1, 1000}, // frame not started (f_lasti -1)
	{0, 1000}, {2, 1000}, {3, 1000},
	{4, 1001}, {6, 1001},
	{8, 999},
	{10, 799}, {264, 799}, {265, 799}, {308, 799},
	{310, 1099}, {1 << 20, 1099}, // past the last pair: the last line
}

func TestLineFromLnotab(t *testing.T) {
	for _, c := range lnotab38Cases {
		if got := lineFromLnotab(lnotab38, 1000, c.at); got != c.want {
			t.Errorf("lasti %d: line %d, want %d", c.at, got, c.want)
		}
	}
	// A trailing odd byte is not a pair; CPython ignores it.
	odd := append(append([]byte{}, lnotab38...), 0x05)
	for _, c := range lnotab38Cases {
		if got := lineFromLnotab(odd, 1000, c.at); got != c.want {
			t.Errorf("odd table, lasti %d: line %d, want %d", c.at, got, c.want)
		}
	}
	for _, tbl := range [][]byte{nil, {}, {0x07}} {
		if got := lineFromLnotab(tbl, 7, 12); got != 7 {
			t.Errorf("table %x: line %d, want co_firstlineno 7", tbl, got)
		}
	}
	// First pair with a zero byte delta: its line delta applies at offset 0
	// (a function whose first instruction is on a later line than def).
	if got := lineFromLnotab([]byte{0x00, 0x02, 0x06, 0x01}, 10, 0); got != 12 {
		t.Errorf("zero first delta: line %d, want 12", got)
	}
}

// linetable310 starts at line 50; lasti is in code units, the table in bytes.
var linetable310 = []byte{
	0x06, 0x01, // bytes [0,6)     units 0–2    line 50+1 = 51
	0x04, 0x80, // bytes [6,10)    units 3–4    no line (-128); running line stays 51
	0x00, 0x7f, // bytes [10,10)   empty        line 51+127 = 178 } a +167 jump: 127
	0xfe, 0x28, // bytes [10,264)  units 5–131  line 178+40 = 218 } then 40, and a
	0x2e, 0x00, // bytes [264,310) units 132–154 line 218         } 300-byte range: 254 + 46
	0x02, 0xfd, // bytes [310,312) unit 155     line 218-3 = 215
	0x04, 0x80, // bytes [312,316) units 156–157 no line; running line stays 215
	0x02, 0x81, // bytes [316,318) unit 158     line 215-127 = 88
}

var linetable310Cases = []lineCase{
	{-1, 50}, // frame not started: co_firstlineno
	{0, 51}, {2, 51},
	{3, -1}, {4, -1},
	{5, 218}, {131, 218}, {132, 218}, {154, 218},
	{155, 215},
	{156, -1}, {157, -1},
	{158, 88},
	{159, -1}, {1 << 40, -1}, // past the table
	{int(^uint(0) >> 1), -1}, // 2*lasti would overflow
}

func TestLineFromLinetable310(t *testing.T) {
	for _, c := range linetable310Cases {
		if got := lineFromLinetable310(linetable310, 50, c.at); got != c.want {
			t.Errorf("lasti %d: line %d, want %d", c.at, got, c.want)
		}
	}
	odd := append(append([]byte{}, linetable310...), 0x09)
	if got := lineFromLinetable310(odd, 50, 159); got != -1 {
		t.Errorf("odd trailing byte: line %d, want -1", got)
	}
	if got := lineFromLinetable310(nil, 50, 0); got != -1 {
		t.Errorf("empty table: line %d, want -1", got)
	}
}

// locations311 starts at line 20 and uses every entry code 0–15. Entry head
// byte = 0x80 | code<<3 | (length-1).
var locations311 = []byte{
	0xe8, 0x02, // code 13 len 1: svarint 2 → +1          unit 0      line 21
	0x82, 0x05, // code 0 (short) len 3, column byte      units 1–3   line 21
	0xc8, 0x7f, // code 9 (short) len 1                   unit 4      line 21
	0xd1, 0x04, 0x09, // code 10 (one-line +0) len 2, cols 4..9   units 5–6  line 21
	0xd8, 0x00, 0x03, // code 11 (one-line +1) len 1              unit 7     line 22
	0xe7, 0x01, 0x02, // code 12 (one-line +2) len 8              units 8–15 line 24
	0xf9,       // code 15 (none) len 2; running line stays 24   units 16–17 no location
	0xe8, 0x07, // code 13 len 1: svarint 7 = 3<<1|1 → -3         unit 18 line 21
	// code 14 (long) len 4: line svarint 200 (+100) = 0x48 0x03 (8 | 3<<6, low
	// group first), end-line delta 2, column+1 5, end-column+1 70 = 0x46 0x01.
	0xf3, 0x48, 0x03, 0x02, 0x05, 0x46, 0x01, // units 19–22 line 121
	// code 14 len 1: line svarint 141 = 70<<1|1 → -70 = 0x4d 0x02; zeros.
	0xf0, 0x4d, 0x02, 0x00, 0x00, 0x00, // unit 23 line 51
	// codes 1–8 (short form), len 1 each, units 24–31, line 51.
	0x88, 0x11, 0x90, 0x11, 0x98, 0x11, 0xa0, 0x11,
	0xa8, 0x11, 0xb0, 0x11, 0xb8, 0x11, 0xc0, 0x11,
	0xe8, 0x00, // code 13 len 1: svarint 0 → +0           unit 32 line 51
}

var locations311Cases = []lineCase{
	{-1, 20}, // prev_instr before the first instruction: co_firstlineno
	{0, 21}, {1, 21}, {3, 21}, {4, 21}, {5, 21}, {6, 21},
	{7, 22},
	{8, 24}, {15, 24},
	{16, -1}, {17, -1},
	{18, 21},
	{19, 121}, {22, 121},
	{23, 51},
	{24, 51}, {31, 51}, {32, 51},
	{33, -1}, {1 << 40, -1}, // past the table
}

// TestLocationLines holds the lines of locationAt to hand-decoded 3.11 tables
// and to malformed ones.
func TestLocationLines(t *testing.T) {
	for _, c := range locations311Cases {
		if got := locationAt(locations311, 20, c.at).line; got != c.want {
			t.Errorf("unit %d: line %d, want %d", c.at, got, c.want)
		}
	}
	malformed := []struct {
		name string
		tbl  []byte
		unit int
		want int
	}{
		{"empty", nil, 0, -1},
		// svarint announces another group (0x40) but the table ends.
		{"truncated svarint", []byte{0xe8, 0x41}, 0, -1},
		{"truncated svarint, later entry", []byte{0x80, 0x00, 0xe8, 0x41, 0x80, 0x00}, 2, -1},
		// An earlier good entry still answers.
		{"truncated after good entry", []byte{0x80, 0x00, 0xe8, 0x41}, 0, 5},
		// Six continuation groups: longer than any C int CPython writes.
		{"overlong svarint", []byte{0xe8, 0x40, 0x40, 0x40, 0x40, 0x40, 0x40, 0x01}, 0, -1},
		// Code 13 without a body byte.
		{"missing body", []byte{0xe8}, 0, -1},
		// First byte without bit 7: decoded as an entry anyway, as CPython does
		// (code 13, svarint 4 → +2).
		{"head without bit 7", []byte{0x68, 0x04}, 0, 7},
	}
	for _, m := range malformed {
		if got := locationAt(m.tbl, 5, m.unit).line; got != m.want {
			t.Errorf("%s: line %d, want %d", m.name, got, m.want)
		}
	}
}

func TestReadLocVarint(t *testing.T) {
	cases := []struct {
		in   []byte
		v, n int
		ok   bool
	}{
		{[]byte{0x00}, 0, 1, true},
		{[]byte{0x3f}, 63, 1, true},
		{[]byte{0x48, 0x03}, 8 | 3<<6, 2, true},                    // little-endian groups
		{[]byte{0x7f, 0x7f, 0x7f, 0x7f, 0x3f}, 1<<30 - 1, 5, true}, // longest accepted
		{[]byte{0x40}, 0, 1, false},
		{nil, 0, 0, false},
	}
	for _, c := range cases {
		v, n, ok := readLocVarint(c.in)
		if ok != c.ok || (ok && (v != c.v || n != c.n)) {
			t.Errorf("readLocVarint(%x) = %d, %d, %v; want %d, %d, %v", c.in, v, n, ok, c.v, c.n, c.ok)
		}
	}
	for u, want := range map[byte]int{0: 0, 1: 0, 2: 1, 3: -1, 7: -3, 62: 31, 63: -31} {
		if got, n, ok := readLocSvarint([]byte{u}); !ok || n != 1 || got != want {
			t.Errorf("readLocSvarint(%d) = %d, %v; want %d", u, got, ok, want)
		}
	}
}
