package corefile

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
)

// The core's ELF header and program headers are read by hand rather than with
// elf.NewFile: gdb's gcore puts its section headers (and its notes) at the end
// of the file, and elf.NewFile refuses a file whose section headers are cut,
// while everything a truncated core still holds is reachable through the
// program headers alone. debug/elf still supplies the constants.

const (
	ehdrSize  = 64 // sizeof(Elf64_Ehdr)
	phdrSize  = 56 // sizeof(Elf64_Phdr)
	shdrSize  = 64 // sizeof(Elf64_Shdr)
	pnXNum    = 0xffff
	maxProgs  = 1 << 20 // far above the kernel's limit of one segment per VMA (vm.max_map_count 65530)
	maxNoteSz = 256 << 20
)

// prog is one program header of the core.
type prog struct {
	typ    elf.ProgType
	flags  elf.ProgFlag
	off    uint64
	vaddr  uint64
	filesz uint64
	memsz  uint64
}

// compressedMagic lists the formats systemd-coredump may store a core in.
var compressedMagic = []struct {
	magic []byte
	name  string
}{
	{[]byte{0x28, 0xb5, 0x2f, 0xfd}, "zstd"},
	{[]byte{0x04, 0x22, 0x4d, 0x18}, "lz4"},
	{[]byte{0xfd, '7', 'z', 'X', 'Z', 0x00}, "xz"},
	{[]byte{0x1f, 0x8b}, "gzip"},
}

// readProgs checks the ELF header of the core r (size bytes, named name in
// errors) and returns its program headers.
func readProgs(r io.ReaderAt, size int64, name string) ([]prog, error) {
	if size == 0 {
		return nil, notCoreErr("%s is not an ELF core file: the file is empty", name)
	}
	var eh [ehdrSize]byte
	n, err := r.ReadAt(eh[:], 0)
	if n < len(eh) && err == nil {
		err = io.ErrUnexpectedEOF
	}
	head := eh[:n]
	for _, c := range compressedMagic {
		if bytes.HasPrefix(head, c.magic) {
			return nil, fmt.Errorf("%s is a %s-compressed core: decompress with coredumpctl dump / zstd -d: %w", name, c.name, ErrCompressed)
		}
	}
	if !bytes.HasPrefix(head, []byte(elf.ELFMAG)) {
		if n < len(elf.ELFMAG) && err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return nil, notCoreErr("%s is not an ELF core file", name)
	}
	if n < len(eh) {
		return nil, fmt.Errorf("%s is truncated: only %d bytes of its %d-byte ELF header: %w", name, n, ehdrSize, ErrTruncated)
	}
	switch {
	case elf.Class(eh[elf.EI_CLASS]) != elf.ELFCLASS64:
		return nil, fmt.Errorf("%s is a %v file; pyhang reads x86-64 cores: %w", name, elf.Class(eh[elf.EI_CLASS]), ErrWrongMachine)
	case elf.Data(eh[elf.EI_DATA]) != elf.ELFDATA2LSB:
		return nil, fmt.Errorf("%s is a %v file; pyhang reads x86-64 cores: %w", name, elf.Data(eh[elf.EI_DATA]), ErrWrongMachine)
	}
	le := binary.LittleEndian
	if t := elf.Type(le.Uint16(eh[16:])); t != elf.ET_CORE {
		return nil, notCoreErr("%s is not an ELF core file: it is an ELF file of type %v", name, t)
	}
	if m := elf.Machine(le.Uint16(eh[18:])); m != elf.EM_X86_64 {
		return nil, fmt.Errorf("%s is a core for %v; pyhang reads x86-64 cores: %w", name, m, ErrWrongMachine)
	}
	phoff := le.Uint64(eh[32:])
	shoff := le.Uint64(eh[40:])
	phentsize := le.Uint16(eh[54:])
	phnum := uint64(le.Uint16(eh[56:]))
	if phnum == pnXNum {
		// More than 0xfffe segments: the real count is in section 0's sh_info.
		if shoff == 0 {
			return nil, fmt.Errorf("%s claims more than %d program headers but has no section header to count them: %w", name, pnXNum-1, ErrCorrupt)
		}
		if shoff > uint64(size) || uint64(size)-shoff < shdrSize {
			return nil, fmt.Errorf("%s is truncated: its segment count is in a section header at offset %#x beyond the end of the file: %w", name, shoff, ErrTruncated)
		}
		var sh [shdrSize]byte
		if _, err := r.ReadAt(sh[:], int64(shoff)); err != nil {
			return nil, fmt.Errorf("reading section header 0 of %s at offset %#x: %w", name, shoff, err)
		}
		phnum = uint64(le.Uint32(sh[44:]))
	}
	if phnum == 0 {
		return nil, fmt.Errorf("%s has no program headers: %w", name, ErrCorrupt)
	}
	if phentsize != phdrSize {
		return nil, fmt.Errorf("%s has %d-byte program headers, want %d: %w", name, phentsize, phdrSize, ErrCorrupt)
	}
	if phnum > maxProgs {
		return nil, fmt.Errorf("%s claims %d program headers (limit %d): %w", name, phnum, maxProgs, ErrCorrupt)
	}
	tableSize := phnum * phdrSize
	if phoff > uint64(size) || uint64(size)-phoff < tableSize {
		return nil, fmt.Errorf("%s is truncated: its %d program headers at offset %#x end beyond its %d bytes: %w", name, phnum, phoff, size, ErrTruncated)
	}
	table := make([]byte, tableSize)
	if _, err := r.ReadAt(table, int64(phoff)); err != nil {
		return nil, fmt.Errorf("reading the program headers of %s at offset %#x: %w", name, phoff, err)
	}
	return decodeProgs(table), nil
}

// readNoteSegments returns the contents of every PT_NOTE segment. Notes cut
// by the end of the file fail: without them there are no threads to read.
func readNoteSegments(r io.ReaderAt, size int64, name string, progs []prog) ([][]byte, error) {
	var segs [][]byte
	var total uint64
	for i, p := range progs {
		if p.typ != elf.PT_NOTE || p.filesz == 0 {
			continue
		}
		if p.filesz > maxNoteSz || total+p.filesz > maxNoteSz {
			return nil, fmt.Errorf("%s: notes of segment %d are %d bytes, more than the %d-byte limit: %w", name, i, p.filesz, maxNoteSz, ErrCorrupt)
		}
		if p.off > uint64(size) || uint64(size)-p.off < p.filesz {
			have := uint64(0)
			if p.off < uint64(size) {
				have = uint64(size) - p.off
			}
			return nil, fmt.Errorf("%s is truncated: its notes at offset %#x need %d bytes, the file holds %d of them: %w", name, p.off, p.filesz, have, ErrTruncated)
		}
		total += p.filesz
		b := make([]byte, p.filesz)
		if _, err := r.ReadAt(b, int64(p.off)); err != nil {
			return nil, fmt.Errorf("reading the notes of %s at offset %#x: %w", name, p.off, err)
		}
		segs = append(segs, b)
	}
	if len(segs) == 0 {
		return nil, fmt.Errorf("%s has no notes (no PT_NOTE segment), so no threads: %w", name, ErrCorrupt)
	}
	return segs, nil
}

// decodeProgs decodes a table of 64-bit little-endian program headers.
func decodeProgs(table []byte) []prog {
	le := binary.LittleEndian
	progs := make([]prog, len(table)/phdrSize)
	for i := range progs {
		b := table[i*phdrSize:]
		progs[i] = prog{
			typ:    elf.ProgType(le.Uint32(b[0:])),
			flags:  elf.ProgFlag(le.Uint32(b[4:])),
			off:    le.Uint64(b[8:]),
			vaddr:  le.Uint64(b[16:]),
			filesz: le.Uint64(b[32:]),
			memsz:  le.Uint64(b[40:]),
		}
	}
	return progs
}
