package native

// Location is what is known of one code address.
type Location struct {
	// Symbol is the function (from .symtab, else .dynsym) whose extent
	// holds the address; "" when none does (a static function of a stripped
	// file, or code outside any file).
	Symbol string
	// Offset is the address's distance from Symbol's start, or, without a
	// symbol, its virtual address in Module (what `addr2line -e MODULE`
	// takes).
	Offset uint64
	// Module is the base name of the mapped file ("libc.so.6"), "" for
	// anonymous memory; Path the file as the target mapped it.
	Module, Path string
	// File and Line are the source position, from the module's DWARF line
	// table when it has one.
	File string
	Line int
}

// Symbolize describes addr. exact says addr is the instruction itself (a
// thread's program counter); otherwise it is a return address and the call
// before it is what is looked up (the call may be the last instruction of
// its function). With lines the DWARF line table is consulted too.
func (m *Modules) Symbolize(addr uint64, exact, lines bool) Location {
	k := locKey{addr, exact, lines}
	if loc, ok := m.locs[k]; ok {
		return loc
	}
	loc := m.symbolize(addr, exact, lines)
	if len(m.locs) < maxCachedRows {
		m.locs[k] = loc
	}
	return loc
}

func (m *Modules) symbolize(addr uint64, exact, lines bool) Location {
	look := addr
	if !exact && look > 0 {
		look--
	}
	mod, va, mp := m.locate(look)
	var loc Location
	if mp != nil && mp.Path != "" {
		loc.Module, loc.Path = moduleName(mp.Path), mp.Path
	}
	if mod == nil || mod.err != nil || va == 0 {
		return loc
	}
	// The same distance from the symbol as addr itself, not the looked-up byte.
	at := va + (addr - look)
	if s, ok := mod.syms.Symbolize(va); ok {
		loc.Symbol, loc.Offset = s.Name, at-s.Value
	} else {
		loc.Offset = at
	}
	if lines {
		loc.File, loc.Line = mod.line(va)
	}
	return loc
}
