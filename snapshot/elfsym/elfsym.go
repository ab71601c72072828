// Package elfsym reads what pyhang needs from an ELF file on disk: symbols
// (.dynsym, and .symtab when the file has one), sections, the first loadable
// segment and the GNU build-id. Files are untrusted input: debug/elf panics are
// turned into errors and every table is size-checked before it is read.
package elfsym

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Symbol is a defined symbol.
type Symbol struct {
	Name  string
	Value uint64
	Size  uint64
	Local bool
	Weak  bool
}

// File is the parsed view of one ELF file.
type File struct {
	Path     string
	Type     elf.Type
	BuildID  string
	FirstVA  uint64 // p_vaddr of the first PT_LOAD with offset 0
	HasDWARF bool
	Stripped bool   // no .symtab
	Soname   string // DT_SONAME of a shared object ("linux-vdso.so.1")

	tabs   []symtab  // .dynsym, .symtab
	byAddr []funcSym // function symbols sorted by value, the preferred alias last; built by sortFuncs (Symbolize)
	sorted sync.Once
	scans  atomic.Int32 // Symbolize calls so far, up to scanFirst
	mu     sync.Mutex   // guards tabs while .symtab is read
	// symtabLater is set until .symtab, which the file has, is read
	// (loadSymtabs).
	symtabLater bool
	sections    map[string]*elf.Section
	loads       []elf.ProgHeader // PT_LOAD segments
	f           *elf.File
}

// maxSymbols bounds the symbol tables read from one file.
const maxSymbols = 2_000_000

// Open parses path. r must stay open while the File is used (section reads).
func Open(r io.ReaderAt, path string) (f *File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("%s: malformed ELF file: %v", path, p)
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not an ELF file: %w", path, err)
	}
	f = &File{Path: path, Type: ef.Type, f: ef, sections: map[string]*elf.Section{}}
	for _, s := range ef.Sections {
		f.sections[s.Name] = s
	}
	f.HasDWARF = f.sections[".debug_info"] != nil
	f.Stripped = f.sections[".symtab"] == nil
	first := true
	for _, p := range ef.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		if p.Off == 0 && first {
			f.FirstVA = p.Vaddr
			first = false
		}
		f.loads = append(f.loads, p.ProgHeader)
	}
	f.BuildID = buildID(ef)
	if names, err := ef.DynString(elf.DT_SONAME); err == nil && len(names) > 0 && len(names[0]) < 256 {
		f.Soname = names[0]
	}
	// .symtab (a file not stripped has one) is read when .dynsym is not
	// enough: the names looked up in most files are exported ones, and an
	// interpreter's .symtab and its strings are a megabyte.
	f.loadSymtab(ef, ".dynsym")
	f.symtabLater = f.sections[".symtab"] != nil
	return f, nil
}

// loadSymtabs reads .symtab if it is still to be read, and says whether it did.
func (f *File) loadSymtabs() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.symtabLater {
		return false
	}
	f.symtabLater = false
	f.loadSymtab(f.f, ".symtab")
	return true
}

// sortFuncs builds byAddr, on the first Symbolize: most files are opened
// for a few names (Lookup), and the interpreter's has tens of thousands of
// functions to sort.
func (f *File) sortFuncs() {
	f.loadSymtabs()
	for i := range f.tabs {
		f.addFuncs(uint8(i))
	}
	slices.SortFunc(f.byAddr, func(a, b funcSym) int { return cmp.Compare(a.value, b.value) })
	// Of the aliases at one address, the preferred one goes last, where
	// Symbolize looks.
	for i := 0; i < len(f.byAddr); {
		j := i + 1
		for j < len(f.byAddr) && f.byAddr[j].value == f.byAddr[i].value {
			j++
		}
		best := i
		for k := i + 1; k < j; k++ {
			if preferred(f.symbol(f.byAddr[k]), f.symbol(f.byAddr[best])) {
				best = k
			}
		}
		f.byAddr[best], f.byAddr[j-1] = f.byAddr[j-1], f.byAddr[best]
		i = j
	}
}

// symtab is one symbol table, kept as read: a name is decoded only for the
// symbols a caller asks about (a C library's debug file has ten thousand).
type symtab struct {
	ents []byte // Elf64_Sym entries, the null symbol cut off
	strs []byte // the string table they name
}

// funcSym is a defined function symbol.
type funcSym struct {
	value, size uint64
	name        uint32 // offset in its table's strings
	tab, bind   uint8
}

const symSize = 24 // sizeof(Elf64_Sym)

// loadSymtab reads the named symbol table and its string table.
func (f *File) loadSymtab(ef *elf.File, name string) {
	s := f.sections[name]
	if s == nil || (s.Type != elf.SHT_SYMTAB && s.Type != elf.SHT_DYNSYM) || int(s.Link) >= len(ef.Sections) ||
		s.Size/symSize > maxSymbols {
		return
	}
	ents, err := f.SectionData(name)
	if err != nil || len(ents) < symSize {
		return
	}
	strs, err := f.SectionData(ef.Sections[s.Link].Name)
	if err != nil {
		return
	}
	f.tabs = append(f.tabs, symtab{ents: ents[symSize : len(ents)/symSize*symSize], strs: strs})
}

// addFuncs adds table tab's defined functions to byAddr.
func (f *File) addFuncs(tab uint8) {
	n := 0
	for e := f.tabs[tab].ents; len(e) >= symSize; e = e[symSize:] {
		if isFunc(e) {
			n++
		}
	}
	f.byAddr = slices.Grow(f.byAddr, n)
	for e := f.tabs[tab].ents; len(e) >= symSize; e = e[symSize:] {
		if !isFunc(e) {
			continue
		}
		f.byAddr = append(f.byAddr, funcSymOf(e, tab))
	}
}

// funcSymOf is symbol entry e of table tab, as byAddr keeps it.
func funcSymOf(e []byte, tab uint8) funcSym {
	le := binary.LittleEndian
	return funcSym{value: le.Uint64(e[8:]), size: le.Uint64(e[16:]), name: le.Uint32(e), tab: tab, bind: uint8(elf.ST_BIND(e[4]))}
}

// isFunc reports whether symbol entry e is a defined function.
func isFunc(e []byte) bool {
	return elf.SectionIndex(binary.LittleEndian.Uint16(e[6:])) != elf.SHN_UNDEF && elf.ST_TYPE(e[4]) == elf.STT_FUNC &&
		binary.LittleEndian.Uint64(e[8:]) != 0
}

// maxName bounds a symbol name read from a string table.
const maxName = 4096

// name reads the NUL-terminated string at off of table tab.
func (f *File) name(tab uint8, off uint32) string {
	strs := f.tabs[tab].strs
	if int(off) >= len(strs) {
		return ""
	}
	b := strs[off:min(len(strs), int(off)+maxName)]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func (f *File) symbol(s funcSym) Symbol {
	return Symbol{Name: f.name(s.tab, s.name), Value: s.value, Size: s.size,
		Local: elf.SymBind(s.bind) == elf.STB_LOCAL, Weak: elf.SymBind(s.bind) == elf.STB_WEAK}
}

// preferred reports whether alias a names a function better than b, which
// starts at the same address: a name without a symbol version, the name a
// person would write (fewer leading underscores: recv over __libc_recv), then a global over a weak over a
// local symbol, then the shorter name; ties go by name, so the choice does
// not depend on the order of the symbol tables.
func preferred(a, b Symbol) bool {
	// A symbol version in the name (__libc_start_main@@GLIBC_2.34) is noise.
	if va, vb := strings.Contains(a.Name, "@"), strings.Contains(b.Name, "@"); va != vb {
		return vb
	}
	ua, ub := underscores(a.Name), underscores(b.Name)
	if ua != ub {
		return ua < ub
	}
	if ra, rb := bindRank(a), bindRank(b); ra != rb {
		return ra > rb
	}
	if len(a.Name) != len(b.Name) {
		return len(a.Name) < len(b.Name)
	}
	return a.Name < b.Name
}

func underscores(s string) int {
	n := 0
	for n < len(s) && s[n] == '_' {
		n++
	}
	return n
}

func bindRank(s Symbol) int {
	switch {
	case s.Local:
		return 0
	case s.Weak:
		return 1
	}
	return 2
}

// Lookup returns the defined symbol called name (a global one when both
// exist). It scans the tables: callers look up a handful of names per file.
func (f *File) Lookup(name string) (Symbol, bool) {
	n := len(f.tabs)
	found, ok := f.lookupIn(f.tabs, name, Symbol{}, false)
	if (!ok || found.Local) && f.loadSymtabs() {
		// .symtab holds what .dynsym lacks: static and hidden symbols.
		found, ok = f.lookupIn(f.tabs[n:], name, found, ok)
	}
	return found, ok
}

// lookupIn continues Lookup's scan over tabs, from what it found so far.
func (f *File) lookupIn(tabs []symtab, name string, found Symbol, ok bool) (Symbol, bool) {
	le := binary.LittleEndian
	for _, t := range tabs {
		for e := t.ents; len(e) >= symSize; e = e[symSize:] {
			off := int(le.Uint32(e))
			if off+len(name) >= len(t.strs) || t.strs[off+len(name)] != 0 || string(t.strs[off:off+len(name)]) != name {
				continue
			}
			if elf.SectionIndex(le.Uint16(e[6:])) == elf.SHN_UNDEF || name == "" {
				continue
			}
			bind := elf.ST_BIND(e[4])
			if ok && !(found.Local && bind != elf.STB_LOCAL) {
				continue
			}
			found = Symbol{Name: name, Value: le.Uint64(e[8:]), Size: le.Uint64(e[16:]), Local: bind == elf.STB_LOCAL, Weak: bind == elf.STB_WEAK}
			ok = true
		}
	}
	return found, ok
}

// scanFirst is how many addresses a file has symbolized by a scan of its
// tables before they are sorted. Sorting a C library's functions takes
// milliseconds, and a snapshot without --native symbolizes a few addresses
// in it (where each thread sits); scanning them takes microseconds each.
const scanFirst = 32

// Symbolize returns the function symbol containing the file-relative address
// va. A symbol covers [Value, Value+Size): an address past the end of the
// nearest function before it (a static function of a stripped file) has no
// symbol, rather than the wrong one. Of the aliases at one address, the
// preferred one names it.
func (f *File) Symbolize(va uint64) (Symbol, bool) {
	if f.scans.Load() < scanFirst && f.scans.Add(1) <= scanFirst {
		return f.scan(va)
	}
	f.sorted.Do(f.sortFuncs)
	i := sort.Search(len(f.byAddr), func(i int) bool { return f.byAddr[i].value > va })
	if i == 0 {
		return Symbol{}, false
	}
	return f.covering(f.byAddr[i-1], va)
}

// scan is Symbolize without the sorted table: the nearest function at or
// below va, in one pass over the symbol tables.
func (f *File) scan(va uint64) (Symbol, bool) {
	f.loadSymtabs()
	le := binary.LittleEndian
	var best funcSym
	found := false
	for tab := range f.tabs {
		for e := f.tabs[tab].ents; len(e) >= symSize; e = e[symSize:] {
			v := le.Uint64(e[8:])
			if v > va || (found && v < best.value) || !isFunc(e) {
				continue
			}
			s := funcSymOf(e, uint8(tab))
			if !found || v > best.value || preferred(f.symbol(s), f.symbol(best)) {
				best, found = s, true
			}
		}
	}
	if !found {
		return Symbol{}, false
	}
	return f.covering(best, va)
}

// covering is s when it covers va.
func (f *File) covering(s funcSym, va uint64) (Symbol, bool) {
	if va < s.value+max(s.size, 1) {
		return f.symbol(s), true
	}
	return Symbol{}, false
}

// VAOfOffset returns the virtual address at which the byte at file offset off
// is loaded, from the PT_LOAD segment that holds it.
func (f *File) VAOfOffset(off uint64) (uint64, bool) {
	for _, p := range f.loads {
		if off >= p.Off && off-p.Off < max(p.Filesz, 1) {
			return p.Vaddr + (off - p.Off), true
		}
	}
	return 0, false
}

// maxSection bounds the size of a section read whole (CFI, DWARF tables).
const maxSection = 256 << 20

// SectionData reads the whole named section, decompressed; nil and no error
// when the file has no such section or it occupies no file space.
func (f *File) SectionData(name string) (b []byte, err error) {
	s := f.sections[name]
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("%s: section %s: malformed ELF file: %v", f.Path, name, p)
		}
	}()
	if s.Size > maxSection {
		return nil, fmt.Errorf("%s: section %s is %d bytes, more than pyhang reads (%d)", f.Path, name, s.Size, maxSection)
	}
	b, err = s.Data()
	if err != nil {
		return nil, fmt.Errorf("%s: section %s: %w", f.Path, name, err)
	}
	return b, nil
}

// ReadSection reads n bytes at offset off of the named section (decompressing
// it whole when it is compressed).
func (f *File) ReadSection(name string, off uint64, n int) ([]byte, error) {
	s := f.sections[name]
	if s == nil || s.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("%s: no section %s", f.Path, name)
	}
	if n < 0 || n > maxSection || off > s.Size || uint64(n) > s.Size-off {
		return nil, fmt.Errorf("%s: section %s: %d bytes at %#x are outside its %d bytes", f.Path, name, n, off, s.Size)
	}
	if s.Flags&elf.SHF_COMPRESSED != 0 {
		b, err := f.SectionData(name)
		if err != nil {
			return nil, err
		}
		return b[off : off+uint64(n)], nil
	}
	b := make([]byte, n)
	if _, err := s.ReadAt(b, int64(off)); err != nil {
		return nil, fmt.Errorf("%s: section %s: reading %d bytes at %#x: %w", f.Path, name, n, off, err)
	}
	return b, nil
}

// Compressed reports whether the named section is compressed (SHF_COMPRESSED).
func (f *File) Compressed(name string) bool {
	s := f.sections[name]
	return s != nil && s.Flags&elf.SHF_COMPRESSED != 0
}

// SectionAddr returns the address (sh_addr) of the named section.
func (f *File) SectionAddr(name string) (uint64, bool) {
	s := f.sections[name]
	if s == nil {
		return 0, false
	}
	return s.Addr, true
}

// Section returns the named section header, or nil.
func (f *File) Section(name string) *elf.Section { return f.sections[name] }

// ReadVA reads n bytes of initialised data at the file-relative virtual address
// va, from the PT_LOAD segment that holds it.
func (f *File) ReadVA(va uint64, n int) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("%s: reading %#x: malformed ELF file: %v", f.Path, va, p)
		}
	}()
	if n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("%s: read of %d bytes at %#x refused", f.Path, n, va)
	}
	for _, p := range f.f.Progs {
		if p.Type != elf.PT_LOAD || va < p.Vaddr || va+uint64(n) > p.Vaddr+p.Filesz {
			continue
		}
		b = make([]byte, n)
		if _, err := p.ReadAt(b, int64(va-p.Vaddr)); err != nil {
			return nil, fmt.Errorf("%s: reading %#x: %w", f.Path, va, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: %#x is not in an initialised segment", f.Path, va)
}

// buildID returns the hex GNU build-id, or "".
func buildID(ef *elf.File) string {
	for _, p := range ef.Progs {
		if p.Type != elf.PT_NOTE || p.Filesz > 1<<16 {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			continue
		}
		if id := FindBuildID(data); id != "" {
			return id
		}
	}
	return ""
}

// FindBuildID scans a block of ELF notes (little-endian) for NT_GNU_BUILD_ID.
func FindBuildID(notes []byte) string {
	for i := 0; i < 64 && len(notes) >= 12; i++ {
		namesz := binary.LittleEndian.Uint32(notes[0:])
		descsz := binary.LittleEndian.Uint32(notes[4:])
		typ := binary.LittleEndian.Uint32(notes[8:])
		nameEnd := 12 + align4(uint64(namesz))
		descEnd := nameEnd + align4(uint64(descsz))
		if descEnd > uint64(len(notes)) {
			return ""
		}
		name := notes[12 : 12+uint64(namesz)]
		if typ == 3 && bytes.Equal(bytes.TrimRight(name, "\x00"), []byte("GNU")) {
			return fmt.Sprintf("%x", notes[nameEnd:nameEnd+uint64(descsz)])
		}
		notes = notes[descEnd:]
	}
	return ""
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// ErrNoSymbol is returned when a required symbol is missing.
var ErrNoSymbol = errors.New("symbol not found")
