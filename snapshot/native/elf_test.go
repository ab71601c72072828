package native

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/pyhang/pyhang/snapshot/target"
)

// testSym is a function symbol of a synthetic ELF file.
type testSym struct {
	name        string
	value, size uint64
}

// buildELF writes a minimal little-endian x86-64 ET_DYN file: one PT_LOAD of
// the whole file at address 0 (so file offsets are addresses), the given
// sections at their offsets, and a .symtab of syms. It is what the unwinder
// reads of a mapped file, and nothing more.
func buildELF(sections map[string][]byte, syms []testSym) []byte {
	le := binary.LittleEndian
	const ehsize, phsize, shsize = 64, 56, 64
	var body bytes.Buffer
	body.Write(make([]byte, ehsize+phsize))
	type sec struct {
		name       string
		typ, flags uint32
		off, size  uint64
		link, info uint32
		entsize    uint64
	}
	var secs []sec
	add := func(name string, typ uint32, flags uint32, data []byte, link, info uint32, entsize uint64) {
		for body.Len()%8 != 0 {
			body.WriteByte(0)
		}
		secs = append(secs, sec{name: name, typ: typ, flags: flags, off: uint64(body.Len()), size: uint64(len(data)), link: link, info: info, entsize: entsize})
		body.Write(data)
	}
	// Code first, so the symbols point at file offsets inside the load; then
	// the loaded tables; then the others (.debug_*), by name.
	names := []string{".text", ".eh_frame"}
	var rest []string
	for n := range sections {
		if n != ".text" && n != ".eh_frame" {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	for _, n := range append(names, rest...) {
		if d, ok := sections[n]; ok {
			flags := uint32(0)
			switch n {
			case ".text":
				flags = 2 | 4 // SHF_ALLOC, SHF_EXECINSTR
			case ".eh_frame":
				flags = 2
			}
			add(n, 1, flags, d, 0, 0, 0)
		}
	}
	var strtab bytes.Buffer
	strtab.WriteByte(0)
	symtab := make([]byte, 24) // the null symbol
	for _, s := range syms {
		e := make([]byte, 24)
		le.PutUint32(e[0:], uint32(strtab.Len()))
		e[4] = 1<<4 | 2 // STB_GLOBAL, STT_FUNC
		le.PutUint16(e[6:], 1)
		le.PutUint64(e[8:], s.value)
		le.PutUint64(e[16:], s.size)
		symtab = append(symtab, e...)
		strtab.WriteString(s.name)
		strtab.WriteByte(0)
	}
	strIdx := uint32(len(secs) + 2) // null section, then secs, .symtab, .strtab
	add(".symtab", 2, 0, symtab, strIdx, 1, 24)
	add(".strtab", 3, 0, strtab.Bytes(), 0, 0, 0)
	var shstr bytes.Buffer
	shstr.WriteByte(0)
	nameOff := map[string]uint32{}
	for _, s := range append(secs, sec{name: ".shstrtab"}) {
		nameOff[s.name] = uint32(shstr.Len())
		shstr.WriteString(s.name)
		shstr.WriteByte(0)
	}
	add(".shstrtab", 3, 0, shstr.Bytes(), 0, 0, 0)
	for body.Len()%8 != 0 {
		body.WriteByte(0)
	}
	shoff := uint64(body.Len())
	sh := make([]byte, shsize) // null section header
	for _, s := range secs {
		h := make([]byte, shsize)
		le.PutUint32(h[0:], nameOff[s.name])
		le.PutUint32(h[4:], s.typ)
		le.PutUint64(h[8:], uint64(s.flags))
		if s.flags&2 != 0 {
			le.PutUint64(h[16:], s.off) // sh_addr = offset: loaded at 0
		}
		le.PutUint64(h[24:], s.off)
		le.PutUint64(h[32:], s.size)
		le.PutUint32(h[40:], s.link)
		le.PutUint32(h[44:], s.info)
		le.PutUint64(h[48:], 8)
		le.PutUint64(h[56:], s.entsize)
		sh = append(sh, h...)
	}
	out := append(body.Bytes(), sh...)
	copy(out, "\x7fELF\x02\x01\x01")
	le.PutUint16(out[16:], 3)  // ET_DYN
	le.PutUint16(out[18:], 62) // EM_X86_64
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[32:], ehsize)
	le.PutUint64(out[40:], shoff)
	le.PutUint16(out[52:], ehsize)
	le.PutUint16(out[54:], phsize)
	le.PutUint16(out[56:], 1)
	le.PutUint16(out[58:], shsize)
	le.PutUint16(out[60:], uint16(len(secs)+1))
	le.PutUint16(out[62:], uint16(len(secs))) // .shstrtab is last
	ph := out[ehsize:]
	le.PutUint32(ph[0:], 1) // PT_LOAD
	le.PutUint32(ph[4:], 5) // R+X
	le.PutUint64(ph[32:], uint64(len(out)))
	le.PutUint64(ph[40:], uint64(len(out)))
	le.PutUint64(ph[48:], 0x1000)
	return out
}

// memFile is a target.File over bytes.
type memFile struct {
	*bytes.Reader
	name string
}

func (f memFile) Close() error { return nil }
func (f memFile) Name() string { return f.name }

// testModules maps one synthetic file at base.
func testModules(file []byte, base uint64) *Modules {
	const path = "/test/libtest.so"
	maps := []target.Mapping{{Start: base, End: base + uint64(len(file)+0xfff)&^0xfff, Perms: "r-xp", Path: path}}
	return NewModules(maps, func(p string) (target.File, error) {
		if p != path {
			return nil, errors.New("no such file")
		}
		return memFile{bytes.NewReader(file), p}, nil
	})
}

// stackMem is target memory: one region of bytes at base.
type stackMem struct {
	base uint64
	b    []byte
}

func (m stackMem) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < m.base || addr-m.base >= uint64(len(m.b)) {
		return 0, fmt.Errorf("%#x: %w", addr, target.ErrUnreadable)
	}
	n := copy(p, m.b[addr-m.base:])
	if n < len(p) {
		return n, fmt.Errorf("%#x: %w", addr+uint64(n), target.ErrUnreadable)
	}
	return n, nil
}

// debugFrame builds a .debug_frame section: one CIE (code alignment 1, data
// alignment -8, return address column 16, initial instructions cie) and one
// FDE per function.
func debugFrame(cie []byte, fdes ...fdeSpec) []byte {
	le := binary.LittleEndian
	var b bytes.Buffer
	body := append([]byte{0xff, 0xff, 0xff, 0xff, 1, 0, 1, 0x78, 16}, cie...)
	binary.Write(&b, le, uint32(len(body)))
	b.Write(body)
	for _, f := range fdes {
		fb := le.AppendUint32(nil, 0) // the CIE at offset 0
		fb = le.AppendUint64(fb, f.begin)
		fb = le.AppendUint64(fb, f.size)
		fb = append(fb, f.program...)
		binary.Write(&b, le, uint32(len(fb)))
		b.Write(fb)
	}
	return b.Bytes()
}

type fdeSpec struct {
	begin, size uint64
	program     []byte
}
