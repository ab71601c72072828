package cpython

// Exception tables of 3.11+ code objects (co_exceptiontable), described in
// CPython's Objects/exception_handling_notes.txt. pyhang uses the entry that
// covers a frame's current instruction to learn how deep the value stack is
// live, which is where `with` blocks keep their bound __exit__.
//
// The table is a sequence of entries sorted by start, each four varints:
//
//	start (code units), length (code units), target (code units), depth<<1 | lasti
//
// The varints are big-endian 6-bit groups, bit 6 (0x40) meaning "another group
// follows"; the first byte of each entry also has bit 7 (0x80) set so that a
// reader can find entry boundaries. Ranges never overlap: a nested `try` or
// `with` splits its parent's range, so the first entry covering an
// instruction is the innermost handler.

// exceptionTableEntry returns the handler covering code unit `unit`: the
// handler's target in code units, the value-stack depth to unwind to, whether
// the offset of the raising instruction is pushed (lasti), and ok=false when
// no entry covers the unit or the table is malformed before one is found.
//
// It follows CPython's get_exception_handler linear scan: stop at the first
// entry starting after the unit (entries are sorted), and skip to the next
// entry-start byte after an entry that does not cover it.
func exceptionTableEntry(tbl []byte, unit int) (target, depth int, lasti bool, ok bool) {
	if unit < 0 {
		return 0, 0, false, false
	}
	for i := 0; i < len(tbl); {
		start, n, good := readExcVarint(tbl[i:])
		if !good {
			return 0, 0, false, false
		}
		i += n
		if start > unit {
			break
		}
		size, n, good := readExcVarint(tbl[i:])
		if !good {
			return 0, 0, false, false
		}
		i += n
		if unit < start+size {
			tgt, n, good := readExcVarint(tbl[i:])
			if !good {
				return 0, 0, false, false
			}
			i += n
			dl, _, good := readExcVarint(tbl[i:])
			if !good {
				return 0, 0, false, false
			}
			return tgt, dl >> 1, dl&1 != 0, true
		}
		// Skip target and depth: the next entry starts at the next byte
		// with bit 7 set.
		for i < len(tbl) && tbl[i]&0x80 == 0 {
			i++
		}
	}
	return 0, 0, false, false
}

// readExcVarint decodes one big-endian exception-table varint at the start of
// b, ignoring the entry-start bit. ok is false when b ends inside the value or
// it has more than maxVarintChunks groups (CPython writes C ints).
func readExcVarint(b []byte) (v int, n int, ok bool) {
	for n < len(b) && n < maxVarintChunks {
		c := b[n]
		n++
		v = v<<6 | int(c&63)
		if c&64 == 0 {
			return v, n, true
		}
	}
	return 0, n, false
}

// exceptionTableEntryAt returns the entry whose range starts exactly at code
// unit `unit`: its value-stack depth and lasti flag. A with block's entry
// starts at the instruction after the one that entered it, so its depth says
// where that instruction keeps the manager's slot. ok is false when no entry
// starts there or the table is malformed before one is found.
func exceptionTableEntryAt(tbl []byte, unit int) (depth int, lasti bool, ok bool) {
	if unit < 0 {
		return 0, false, false
	}
	for i := 0; i < len(tbl); {
		start, n, good := readExcVarint(tbl[i:])
		if !good || start > unit {
			return 0, false, false
		}
		i += n
		if start == unit {
			for k := 0; k < 2; k++ { // length, target
				_, n, good := readExcVarint(tbl[i:])
				if !good {
					return 0, false, false
				}
				i += n
			}
			dl, _, good := readExcVarint(tbl[i:])
			if !good {
				return 0, false, false
			}
			return dl >> 1, dl&1 != 0, true
		}
		for i < len(tbl) && tbl[i]&0x80 == 0 {
			i++ // the rest of an entry that starts before unit
		}
	}
	return 0, false, false
}
