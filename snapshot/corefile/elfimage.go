package corefile

import (
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// An ELF image is a mapped object seen either as the local file or as the
// core's copy of its first mapping (base address + file offset, valid because
// the offset-0 mapping maps the file's first bytes linearly). The same bounded
// reader serves both, so the two sides of a build-id comparison are decoded
// alike.

const (
	maxImageProgs = 4096    // a linked object has a dozen program headers
	maxImageNotes = 1 << 20 // bytes of PT_NOTE per segment
)

var errNoBuildID = errors.New("no GNU build-id note")

// imageProgs reads the program headers of the ELF64 little-endian object r,
// of which limit bytes are readable.
func imageProgs(r io.ReaderAt, limit uint64) ([]prog, error) {
	if limit < ehdrSize {
		return nil, fmt.Errorf("%d bytes cannot hold an ELF header", limit)
	}
	var eh [ehdrSize]byte
	if _, err := r.ReadAt(eh[:], 0); err != nil {
		return nil, fmt.Errorf("reading the ELF header: %w", err)
	}
	if string(eh[:4]) != elf.ELFMAG {
		return nil, errors.New("no ELF magic")
	}
	if elf.Class(eh[elf.EI_CLASS]) != elf.ELFCLASS64 || elf.Data(eh[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return nil, fmt.Errorf("not a 64-bit little-endian ELF object (%v, %v)", elf.Class(eh[elf.EI_CLASS]), elf.Data(eh[elf.EI_DATA]))
	}
	le := binary.LittleEndian
	phoff := le.Uint64(eh[32:])
	phentsize := le.Uint16(eh[54:])
	phnum := uint64(le.Uint16(eh[56:]))
	if phnum == 0 {
		return nil, nil
	}
	if phentsize != phdrSize || phnum > maxImageProgs {
		return nil, fmt.Errorf("%d program headers of %d bytes", phnum, phentsize)
	}
	if phoff > limit || limit-phoff < phnum*phdrSize {
		return nil, fmt.Errorf("program headers at offset %#x beyond the %d readable bytes", phoff, limit)
	}
	table := make([]byte, phnum*phdrSize)
	if _, err := r.ReadAt(table, int64(phoff)); err != nil {
		return nil, fmt.Errorf("reading program headers at offset %#x: %w", phoff, err)
	}
	return decodeProgs(table), nil
}

// imageBuildID returns the hex GNU build-id of the ELF object r (limit
// readable bytes), found through its PT_NOTE segments.
func imageBuildID(r io.ReaderAt, limit uint64) (string, error) {
	progs, err := imageProgs(r, limit)
	if err != nil {
		return "", err
	}
	for _, p := range progs {
		if p.typ != elf.PT_NOTE || p.filesz == 0 {
			continue
		}
		if p.filesz > maxImageNotes || p.off > limit || limit-p.off < p.filesz {
			continue
		}
		b := make([]byte, p.filesz)
		if _, err := r.ReadAt(b, int64(p.off)); err != nil {
			return "", fmt.Errorf("reading notes at offset %#x: %w", p.off, err)
		}
		notes, _ := parseNotes(b) // a damaged note still leaves the ones before it
		for _, n := range notes {
			if n.name == "GNU" && n.typ == ntGNUBuildID && len(n.desc) > 0 && len(n.desc) <= 64 {
				return hex.EncodeToString(n.desc), nil
			}
		}
	}
	return "", errNoBuildID
}

// loadFlagsAt returns the flags of the PT_LOAD segment of progs that maps
// file offset off (segments start on page boundaries in memory, so the page
// holding p_offset belongs to the segment too).
func loadFlagsAt(progs []prog, off, pageSize uint64) (elf.ProgFlag, bool) {
	for _, p := range progs {
		if p.typ != elf.PT_LOAD {
			continue
		}
		lo := p.off &^ (pageSize - 1)
		if off >= lo && (off < p.off || off-p.off < p.filesz) {
			return p.flags, true
		}
	}
	return 0, false
}

// memImage presents the core's own bytes of a mapped object as a file: offset
// o reads address base+o, and nothing is read from any mapped file.
type memImage struct {
	c    *Core
	base uint64
}

func (m memImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	return m.c.read(p, m.base+uint64(off), true, true)
}
