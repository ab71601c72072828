// Package elfsym reads what pyhang needs from an ELF file on disk: symbols
// (.dynsym, and .symtab when the file has one), sections, the first loadable
// segment and the GNU build-id. Files are untrusted input: debug/elf panics are
// turned into errors and every table is size-checked before it is read.
package elfsym

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Symbol is a defined symbol.
type Symbol struct {
	Name  string
	Value uint64
	Size  uint64
	Local bool
}

// File is the parsed view of one ELF file.
type File struct {
	Path     string
	Type     elf.Type
	BuildID  string
	FirstVA  uint64 // p_vaddr of the first PT_LOAD with offset 0
	HasDWARF bool
	Stripped bool // no .symtab

	syms     map[string]Symbol
	byAddr   []Symbol // sorted by Value, function symbols with size, for symbolising
	sections map[string]*elf.Section
	f        *elf.File
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
	f = &File{Path: path, Type: ef.Type, f: ef, syms: map[string]Symbol{}, sections: map[string]*elf.Section{}}
	for _, s := range ef.Sections {
		f.sections[s.Name] = s
	}
	f.HasDWARF = f.sections[".debug_info"] != nil
	f.Stripped = f.sections[".symtab"] == nil
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && p.Off == 0 {
			f.FirstVA = p.Vaddr
			break
		}
	}
	f.BuildID = buildID(ef)
	f.addSymbols(ef.DynamicSymbols())
	f.addSymbols(ef.Symbols())
	sort.Slice(f.byAddr, func(i, j int) bool { return f.byAddr[i].Value < f.byAddr[j].Value })
	return f, nil
}

func (f *File) addSymbols(syms []elf.Symbol, err error) {
	if err != nil || len(syms) > maxSymbols {
		return
	}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || s.Name == "" {
			continue
		}
		local := elf.ST_BIND(s.Info) == elf.STB_LOCAL
		sym := Symbol{Name: s.Name, Value: s.Value, Size: s.Size, Local: local}
		if old, ok := f.syms[s.Name]; !ok || (old.Local && !local) {
			f.syms[s.Name] = sym
		}
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Value != 0 {
			f.byAddr = append(f.byAddr, sym)
		}
	}
}

// Lookup returns the symbol called name (a global one when both exist).
func (f *File) Lookup(name string) (Symbol, bool) {
	s, ok := f.syms[name]
	return s, ok
}

// Symbolize returns the function symbol containing the file-relative address va.
func (f *File) Symbolize(va uint64) (Symbol, bool) {
	i := sort.Search(len(f.byAddr), func(i int) bool { return f.byAddr[i].Value > va })
	if i == 0 {
		return Symbol{}, false
	}
	s := f.byAddr[i-1]
	if va < s.Value+max(s.Size, 1) {
		return s, true
	}
	return Symbol{}, false
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
