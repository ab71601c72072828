package cpython

import "testing"

// Fuzz targets for the table decoders. Seeds: the hand-written tables of the
// unit tests (f.Add) and real tables from the interpreters in
// testdata/fuzz/<target>/ (see testdata/README.md).
//
// Every target checks that the decoder returns on any input. Where the input
// is a well-formed table, it also compares the decoder with an oracle that
// expands the whole table into ranges first — the way dis and co_lines() read
// it — rather than searching it for one position: at the fuzzed position and
// on both sides of a bounded sample of range boundaries, so one input costs
// O(table size).

// tableSpan is one oracle range of positions [start, end) with its answer.
type tableSpan struct{ start, end, val int }

// spanOpenEnd ends a span that runs to the end of the code.
const spanOpenEnd = int(^uint(0) >> 1)

// maxCheckedSpans bounds the ranges whose boundaries are checked per input.
const maxCheckedSpans = 32

// sampleSpans returns at most maxCheckedSpans spans, evenly spread.
func sampleSpans(spans []tableSpan) []tableSpan {
	if len(spans) <= maxCheckedSpans {
		return spans
	}
	out := make([]tableSpan, 0, maxCheckedSpans)
	for i := range maxCheckedSpans {
		out = append(out, spans[i*len(spans)/maxCheckedSpans])
	}
	return out
}

// spanLookup is the oracle's answer at pos: the value of the range holding it,
// else dflt.
func spanLookup(spans []tableSpan, pos, dflt int) int {
	for _, s := range spans {
		if s.start <= pos && pos < s.end {
			return s.val
		}
	}
	return dflt
}

// spanProbes are the positions to compare: the fuzzed one, -1, 0, and both ends
// and both neighbours of each sampleSpans tableSpan.
func spanProbes(spans []tableSpan, fuzzed int) []int {
	out := []int{fuzzed, -1, 0}
	for _, s := range sampleSpans(spans) {
		out = append(out, s.start-1, s.start, s.end-1)
		if s.end != spanOpenEnd {
			out = append(out, s.end)
		}
	}
	return out
}

func FuzzLnotab(f *testing.F) {
	f.Add(lnotab38, 1000, 10)
	f.Add([]byte{0x00, 0x02, 0x06, 0x01}, 10, 0)
	f.Fuzz(func(t *testing.T, tbl []byte, firstLine int, lasti int) {
		firstLine = clampLine(firstLine)
		spans := lnotabSpans(tbl, firstLine)
		for _, at := range spanProbes(spans, lasti) {
			want := spanLookup(spans, at, firstLine) // before offset 0: co_firstlineno
			if got := lineFromLnotab(tbl, firstLine, at); got != want {
				t.Fatalf("offset %d: line %d, oracle %d", at, got, want)
			}
		}
	})
}

// lnotabSpans expands a co_lnotab the way dis.findlinestarts does: each line
// start runs until the next; the last one has no end.
func lnotabSpans(tbl []byte, firstLine int) []tableSpan {
	out := []tableSpan{{0, spanOpenEnd, firstLine}}
	addr := 0
	for i := 0; i+1 < len(tbl); i += 2 {
		if tbl[i] != 0 {
			addr += int(tbl[i])
			last := &out[len(out)-1]
			last.end = addr
			out = append(out, tableSpan{addr, spanOpenEnd, last.val})
		}
		out[len(out)-1].val += int(int8(tbl[i+1]))
	}
	return out
}

func FuzzLinetable310(f *testing.F) {
	f.Add(linetable310, 50, 155)
	f.Fuzz(func(t *testing.T, tbl []byte, firstLine int, lasti int) {
		firstLine = clampLine(firstLine)
		spans := linetable310Spans(tbl, firstLine)
		for _, u := range spanProbes(spans, lasti) {
			want := spanLookup(spans, u, -1)
			if u < 0 {
				want = firstLine // frame not started
			}
			if got := lineFromLinetable310(tbl, firstLine, u); got != want {
				t.Fatalf("unit %d: line %d, oracle %d", u, got, want)
			}
		}
	})
}

// linetable310Spans expands a 3.10 co_linetable like its co_lines(): byte
// ranges, each with its line or -1, converted to the code units whose first
// byte they hold (lasti counts 2-byte units; a range may start or end
// mid-unit in a hostile table).
func linetable310Spans(tbl []byte, firstLine int) []tableSpan {
	var out []tableSpan
	end, line := 0, firstLine
	for i := 0; i+1 < len(tbl); i += 2 {
		start := end
		end += int(tbl[i])
		val := -1
		if tbl[i+1] != 0x80 {
			line += int(int8(tbl[i+1]))
			val = line
		}
		if u0, u1 := (start+1)/2, (end+1)/2; u0 < u1 {
			out = append(out, tableSpan{u0, u1, val})
		}
	}
	return out
}

func FuzzLocations(f *testing.F) {
	f.Add(locations311, 20, 19)
	f.Add([]byte{0xe8, 0x41}, 5, 0)
	f.Fuzz(func(t *testing.T, tbl []byte, firstLine int, unit int) {
		firstLine = clampLine(firstLine)
		_ = locationAt(tbl, firstLine, unit)
		spans, ok := locationsSpans(tbl, firstLine)
		if !ok {
			return // not a well-formed table: only "returns" is checked
		}
		for _, u := range spanProbes(spans, unit) {
			want := spanLookup(spans, u, -1)
			if u < 0 {
				want = firstLine
			}
			if got := locationAt(tbl, firstLine, u).line; got != want {
				t.Fatalf("unit %d: locationAt line %d, oracle %d", u, got, want)
			}
		}
	})
}

// FuzzBackJump feeds hostile bytecode to the backward-jump decoder of every
// layout: it must return a target within the code or nothing, never panic.
func FuzzBackJump(f *testing.F) {
	f.Add([]byte{0x8c, 0x03, 0x00, 0x00}, 1)
	f.Add([]byte{0x90, 0x01, 0x8c, 0x02}, 1)
	f.Fuzz(func(t *testing.T, units []byte, unit int) {
		for minor := 8; minor <= 14; minor++ {
			l, err := LayoutFor(minor)
			if err != nil {
				t.Fatal(err)
			}
			if target, ok := backJumpTarget(l, units, unit); ok && (target < 0 || target > unit) {
				t.Fatalf("3.%d unit %d: target %d is not behind it", minor, unit, target)
			}
			lineOf := func(k int) int {
				if k >= 0 && k < len(units) && units[k]&1 == 0 {
					return int(units[k])
				}
				return -1
			}
			if line, _ := enclosingLine(l, units, lineOf, 7, unit); line < 0 {
				t.Fatalf("3.%d unit %d: line %d", minor, unit, line)
			}
		}
	})
}

// locationsSpans expands a well-formed 3.11+ location table into one span of
// code units per entry, reading each entry's fields in order as
// co_positions() does; ok is false unless the table is exactly a sequence of
// complete entries whose body bytes all have bit 7 clear.
func locationsSpans(tbl []byte, firstLine int) (spans []tableSpan, ok bool) {
	line, pos := firstLine, 0
	for i := 0; i < len(tbl); {
		head := tbl[i]
		if head&0x80 == 0 {
			return nil, false
		}
		i++
		code, n := int(head>>3)&15, int(head&7)+1
		fixed, varints := 0, 0 // body: fixed bytes, then varints
		switch {
		case code <= 9: // short form: one column byte
			fixed = 1
		case code <= 12: // one-line form: line += code-10, two column bytes
			fixed = 2
			line += code - 10
		case code == 13: // line delta only
			varints = 1
		case code == 14: // line delta, end line, column, end column
			varints = 4
		}
		for range fixed {
			if i >= len(tbl) || tbl[i]&0x80 != 0 {
				return nil, false
			}
			i++
		}
		for k := range varints {
			if i >= len(tbl) {
				return nil, false
			}
			v, m, good := readLocVarint(tbl[i:])
			if !good {
				return nil, false
			}
			for _, b := range tbl[i : i+m] {
				if b&0x80 != 0 {
					return nil, false
				}
			}
			if k == 0 { // the line delta is signed
				if v&1 != 0 {
					line -= v >> 1
				} else {
					line += v >> 1
				}
			}
			i += m
		}
		val := line
		if code == 15 {
			val = -1
		}
		spans = append(spans, tableSpan{pos, pos + n, val})
		pos += n
	}
	return spans, true
}

func FuzzExceptionTable(f *testing.F) {
	f.Add(excNested, 5)
	f.Add(excNested, 100)
	f.Fuzz(func(t *testing.T, tbl []byte, unit int) {
		_, depth, _, ok := exceptionTableEntry(tbl, unit)
		if ok && (depth < 0 || unit < 0) {
			t.Fatalf("unit %d: depth %d", unit, depth)
		}
		ents, good := excEntries(tbl)
		if !good {
			return
		}
		// The answer changes only at entry boundaries.
		spans := make([]tableSpan, len(ents))
		for i, e := range ents {
			spans[i] = tableSpan{e[0], e[1], i}
		}
		for _, u := range spanProbes(spans, unit) {
			var want excWant
			if i := spanLookup(spans, u, -1); i >= 0 { // first covering entry
				e := ents[i]
				want = excWant{e[2], e[3] >> 1, e[3]&1 != 0, true}
			}
			target, depth, lasti, ok := exceptionTableEntry(tbl, u)
			if got := (excWant{target, depth, lasti, ok}); got != want {
				t.Fatalf("unit %d: %+v, oracle %+v (entries %v)", u, got, want, ents)
			}
			var wantAt excWant // the entry starting at u (the first, if several do)
			for _, e := range ents {
				if e[0] == u {
					wantAt = excWant{0, e[3] >> 1, e[3]&1 != 0, true}
					break
				}
			}
			depth, lasti, ok = exceptionTableEntryAt(tbl, u)
			if got := (excWant{0, depth, lasti, ok}); got != wantAt {
				t.Fatalf("entry at unit %d: %+v, oracle %+v (entries %v)", u, got, wantAt, ents)
			}
		}
	})
}

// excEntries parses a well-formed, sorted exception table the way
// dis._parse_exception_table does (four varints per entry, in order) into
// [start, end, target, depth<<1|lasti]; good is false otherwise.
func excEntries(tbl []byte) (ents [][4]int, good bool) {
	for i := 0; i < len(tbl); {
		if tbl[i]&0x80 == 0 {
			return nil, false
		}
		var f [4]int
		for k := range f {
			if k > 0 && i < len(tbl) && tbl[i]&0x80 != 0 {
				return nil, false // a field starting like an entry
			}
			v, n, ok := readExcVarint(tbl[i:])
			if !ok {
				return nil, false
			}
			for _, b := range tbl[i+1 : i+n] {
				if b&0x80 != 0 {
					return nil, false
				}
			}
			f[k] = v
			i += n
		}
		if len(ents) > 0 && f[0] < ents[len(ents)-1][0] {
			return nil, false // unsorted: CPython's scan may stop early
		}
		ents = append(ents, [4]int{f[0], f[0] + f[1], f[2], f[3]})
	}
	return ents, true
}

// clampLine keeps fuzzed first lines in the range of a C int, as in a real
// code object, so line arithmetic in the oracles cannot overflow.
func clampLine(l int) int {
	const limit = 1 << 31
	return max(-limit, min(l, limit))
}
