package cpython

// Line-number tables of code objects, one decoder per format:
//
//	3.8, 3.9  co_lnotab     pairs (byte delta, line delta)          Objects/lnotab_notes.txt (3.8)
//	3.10      co_linetable  pairs (byte delta, line delta, -128=none) Objects/lnotab_notes.txt (3.10)
//	3.11–3.14 co_linetable  PEP 657 location entries               Objects/locations.md (positions.go)
//
// The tables come from target memory, so they are hostile input: every loop
// advances through the slice and stops at its end, and nothing is allocated.
// Each function mirrors CPython's PyCode_Addr2Line for its version, including
// its answer for a frame that has not started yet (a negative lasti gives
// co_firstlineno), so pyhang prints the line Python itself would print.

// lineFromLnotab returns the line of the instruction at byte offset lasti
// (3.8/3.9 f_lasti) from a co_lnotab table.
//
// The table is a sequence of (unsigned byte-offset increment, signed line
// increment) pairs; the line of lasti is co_firstlineno plus every line
// increment whose pair's cumulative offset is <= lasti. Large jumps are split
// over several pairs by the compiler (offset 255 then the rest, line 127/-128
// then the rest), which this sum handles without special cases. A trailing odd
// byte is ignored, as CPython does (it uses size/2 pairs).
func lineFromLnotab(lnotab []byte, firstLine int, lasti int) int {
	line := firstLine
	addr := 0
	for i := 0; i+1 < len(lnotab); i += 2 {
		addr += int(lnotab[i])
		if addr > lasti {
			break
		}
		line += int(int8(lnotab[i+1]))
	}
	return line
}

// noLine310 is the 3.10 co_linetable line delta meaning "this range has no
// line number" (compiler-generated code such as implicit returns' cleanup).
const noLine310 = -128

// lineFromLinetable310 returns the line of the instruction at code unit lasti
// (3.10 f_lasti counts 2-byte units) from a 3.10 co_linetable, or -1 when the
// instruction's range is marked as having no line or lies past the table.
//
// Each pair (unsigned byte length, signed line delta) describes the next
// range [end, end+length) in bytes. The delta applies even to zero-length
// ranges (they only carry line changes), except -128, which marks the range
// as line-less without changing the running line.
func lineFromLinetable310(tbl []byte, firstLine int, lasti int) int {
	if lasti < 0 {
		// Frame not started: CPython's PyCode_Addr2Line answers co_firstlineno.
		return firstLine
	}
	const maxUnits = int(^uint(0)>>1) / 2
	if lasti > maxUnits {
		return -1
	}
	addrq := 2 * lasti
	line := firstLine
	end := 0
	for i := 0; i+1 < len(tbl); i += 2 {
		start := end
		end += int(tbl[i])
		cur := -1
		if delta := int(int8(tbl[i+1])); delta != noLine310 {
			line += delta
			cur = line
		}
		if start <= addrq && addrq < end {
			return cur
		}
	}
	return -1
}

// Location entry codes of the 3.11+ table (bits 3–6 of an entry's first byte).
const (
	locShortMax  = 9  // 0–9: short form, same line, one column byte
	locOneLine0  = 10 // 10–12: same line +0/+1/+2, two column bytes
	locOneLine2  = 12
	locNoColumns = 13 // line delta as svarint, no columns
	locLong      = 14 // line delta svarint, end-line delta, column+1, end-column+1 varints
	locNone      = 15 // no location
)

// maxVarintChunks bounds the 6-bit groups of one varint (30 bits): CPython
// writes C ints, so longer values only occur in corrupt tables, and the
// bound keeps sums of deltas far from overflow.
const maxVarintChunks = 5

// readLocVarint decodes a location-table varint at the start of b: 6-bit groups,
// least significant first, bit 6 (0x40) set on every group but the last.
// ok is false when b ends before the last group or the value is too long.
func readLocVarint(b []byte) (v int, n int, ok bool) {
	shift := 0
	for n < len(b) && n < maxVarintChunks {
		c := b[n]
		n++
		v |= int(c&63) << shift
		if c&64 == 0 {
			return v, n, true
		}
		shift += 6
	}
	return 0, n, false
}

// readLocSvarint decodes a signed varint: the low bit of the unsigned value is
// the sign, the rest the magnitude. n is how many bytes it read.
func readLocSvarint(b []byte) (v int, n int, ok bool) {
	u, n, ok := readLocVarint(b)
	if !ok {
		return 0, n, false
	}
	if u&1 != 0 {
		return -(u >> 1), n, true
	}
	return u >> 1, n, true
}
