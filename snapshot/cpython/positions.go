package cpython

// Source positions of 3.11+ instructions: line, end line, column and end
// column, as code.co_positions() gives them and tracebacks underline them
// (PEP 657; Objects/locations.md). Columns are 0-based offsets in bytes of
// the line's UTF-8 text, as CPython records them.

// location is one instruction's source position; -1 marks a missing part
// (no line, or no columns).
type location struct {
	line, endLine, col, endCol int
}

var noLocation = location{-1, -1, -1, -1}

// locationAt returns the position of code unit `unit` (instruction index
// counted in 2-byte units from the start of co_code, CACHE entries included)
// from a 3.11+ co_linetable, or noLocation when the unit has none or lies
// past the table. A truncated entry loses the running line: every unit from
// it on has none. The table is hostile input: the walk only moves forward
// and stops at its end.
//
// Each entry starts with a byte with bit 7 set: bits 3–6 are the code, bits
// 0–2 the length in units minus one; the following bytes (bit 7 clear) hold
// the line delta and the columns, as the code says.
func locationAt(tbl []byte, firstLine int, unit int) location {
	if unit < 0 {
		// Before the first instruction: PyCode_Addr2Line gives
		// co_firstlineno and co_positions nothing more.
		return location{firstLine, firstLine, -1, -1}
	}
	line := firstLine
	pos := 0
	for i := 0; i < len(tbl); {
		head := tbl[i]
		code := int(head>>3) & 15
		length := int(head&7) + 1
		// The entry's body runs to the next byte with bit 7 set. CPython
		// starts every entry at such a byte; a hostile table that lacks one
		// simply yields a long body.
		j := i + 1
		for j < len(tbl) && tbl[j]&0x80 == 0 {
			j++
		}
		body := tbl[i+1 : j]
		i = j

		loc := noLocation
		switch {
		case code <= locShortMax:
			// One byte: column bits 4–6 (plus code*8), end column offset bits 0–3.
			loc = location{line, line, -1, -1}
			if len(body) >= 1 {
				loc.col = code<<3 | int(body[0]>>4&7)
				loc.endCol = loc.col + int(body[0]&15)
			}
		case code <= locOneLine2:
			line += code - locOneLine0
			loc = location{line, line, -1, -1}
			if len(body) >= 2 {
				loc.col, loc.endCol = int(body[0]), int(body[1])
			}
		case code == locNoColumns:
			d, _, ok := readLocSvarint(body)
			if !ok {
				return noLocation
			}
			line += d
			loc = location{line, line, -1, -1}
		case code == locLong:
			d, n, ok := readLocSvarint(body)
			if !ok {
				return noLocation
			}
			line += d
			loc = location{line, line, -1, -1}
			rest := body[n:]
			if e, m, ok := readLocVarint(rest); ok {
				loc.endLine = line + e
				rest = rest[m:]
				if c, m, ok := readLocVarint(rest); ok {
					loc.col = c - 1 // stored plus one, 0 = none
					rest = rest[m:]
					if c, _, ok := readLocVarint(rest); ok {
						loc.endCol = c - 1
					}
				}
			}
		}
		if unit < pos+length {
			return loc
		}
		pos += length
	}
	return noLocation
}

// locationAt is locationAt memoised per code unit.
func (c *code) locationAt(unit int) location {
	if l, ok := c.locs[unit]; ok {
		return l
	}
	if c.locs == nil {
		c.locs = map[int]location{}
	}
	l := locationAt(c.lineTable, c.FirstLine, unit)
	c.locs[unit] = l
	return l
}
