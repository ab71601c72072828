package corefile

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
)

// A core is written in the layout of the kernel's, with one difference of
// order: the ELF header, then the memory of every segment (page-aligned),
// then the notes, then the program headers. The memory comes first so that
// it can be written while the process is still stopped, before the threads
// and their registers are all known; ELF lets the program headers lie
// anywhere (e_phoff), and gdb and this package's reader find them there.

// writePage is the alignment of segment contents in a written core.
const writePage = 4096

// maxWriteSegs bounds the segments of a written core: PN_XNUM counting
// (section header 0) takes over past 0xfffe, and a core with more segments
// than the kernel would ever write (one per mapping) is a bug.
const maxWriteSegs = 1 << 20

// Writer writes an ELF core file: Add the memory, then Finish with the notes.
type Writer struct {
	f     *os.File
	next  int64 // where the next segment's bytes go
	loads []prog
	bytes int64 // memory bytes written
	err   error
}

// NewWriter starts a core in f, which must be empty and seekable.
func NewWriter(f *os.File) *Writer {
	return &Writer{f: f, next: writePage}
}

// Add writes the bytes of memory at addr, readable with perms ("rw-p" as in
// /proc/PID/maps). A range that continues the previous one with the same
// permissions extends its segment. Ranges must not overlap; their order is
// free.
func (w *Writer) Add(addr uint64, perms string, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(data) == 0 {
		return nil
	}
	if addr+uint64(len(data)) < addr {
		w.err = fmt.Errorf("segment at %#x of %d bytes wraps around", addr, len(data))
		return w.err
	}
	flags := progFlags(perms)
	if n := len(w.loads); n > 0 {
		l := &w.loads[n-1]
		if l.vaddr+l.memsz == addr && l.flags == flags && int64(l.off+l.filesz) == w.next {
			if err := w.write(data); err != nil {
				return err
			}
			l.filesz += uint64(len(data))
			l.memsz += uint64(len(data))
			return nil
		}
	}
	if len(w.loads) >= maxWriteSegs {
		w.err = fmt.Errorf("more than %d segments", maxWriteSegs)
		return w.err
	}
	w.next = alignUp(w.next, writePage)
	w.loads = append(w.loads, prog{typ: elf.PT_LOAD, flags: flags, off: uint64(w.next), vaddr: addr})
	l := &w.loads[len(w.loads)-1]
	if err := w.write(data); err != nil {
		w.loads = w.loads[:len(w.loads)-1]
		return err
	}
	l.filesz, l.memsz = uint64(len(data)), uint64(len(data))
	return nil
}

func (w *Writer) write(data []byte) error {
	if _, err := w.f.WriteAt(data, w.next); err != nil {
		w.err = fmt.Errorf("writing %d bytes at offset %#x of %s: %w", len(data), w.next, w.f.Name(), err)
		return w.err
	}
	w.next += int64(len(data))
	w.bytes += int64(len(data))
	return nil
}

// Segments is the number of memory segments so far.
func (w *Writer) Segments() int { return len(w.loads) }

// MemoryBytes is the number of memory bytes written so far.
func (w *Writer) MemoryBytes() int64 { return w.bytes }

// Finish writes the notes that describe the process, the program headers
// and the ELF header, and returns the size of the file.
func (w *Writer) Finish(p *Process) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(p.Threads) == 0 {
		return 0, errors.New("a core needs at least one thread")
	}
	notes := p.notes()
	noteOff := alignUp(w.next, 8)
	if _, err := w.f.WriteAt(notes, noteOff); err != nil {
		return 0, fmt.Errorf("writing the notes of %s: %w", w.f.Name(), err)
	}
	progs := make([]prog, 0, len(w.loads)+1)
	progs = append(progs, prog{typ: elf.PT_NOTE, off: uint64(noteOff), filesz: uint64(len(notes))})
	loads := slices.Clone(w.loads)
	slices.SortFunc(loads, func(a, b prog) int { return cmp.Compare(a.vaddr, b.vaddr) })
	progs = append(progs, loads...)

	phOff := alignUp(noteOff+int64(len(notes)), 8)
	table := make([]byte, 0, len(progs)*phdrSize+shdrSize)
	for _, pr := range progs {
		table = appendPhdr(table, pr)
	}
	var shOff int64
	if len(progs) >= pnXNum {
		// Extended numbering: the real count is in section header 0.
		shOff = phOff + int64(len(table))
		table = appendXNumShdr(table, len(progs))
	}
	if _, err := w.f.WriteAt(table, phOff); err != nil {
		return 0, fmt.Errorf("writing the program headers of %s: %w", w.f.Name(), err)
	}
	if _, err := w.f.WriteAt(elfHeader(phOff, shOff, len(progs)), 0); err != nil {
		return 0, fmt.Errorf("writing the ELF header of %s: %w", w.f.Name(), err)
	}
	return phOff + int64(len(table)), nil
}

func alignUp(n, a int64) int64 { return (n + a - 1) &^ (a - 1) }

func progFlags(perms string) elf.ProgFlag {
	var f elf.ProgFlag
	if len(perms) > 0 && perms[0] == 'r' {
		f |= elf.PF_R
	}
	if len(perms) > 1 && perms[1] == 'w' {
		f |= elf.PF_W
	}
	if len(perms) > 2 && perms[2] == 'x' {
		f |= elf.PF_X
	}
	return f
}

// elfHeader is an x86-64 ET_CORE header with nprogs program headers at phOff
// (and, past 0xfffe of them, the section header that counts them at shOff).
func elfHeader(phOff, shOff int64, nprogs int) []byte {
	h := make([]byte, ehdrSize)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	h[elf.EI_OSABI] = byte(elf.ELFOSABI_NONE)
	le := binary.LittleEndian
	le.PutUint16(h[16:], uint16(elf.ET_CORE))
	le.PutUint16(h[18:], uint16(elf.EM_X86_64))
	le.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	le.PutUint64(h[32:], uint64(phOff))
	le.PutUint16(h[52:], ehdrSize)
	le.PutUint16(h[54:], phdrSize)
	if nprogs >= pnXNum {
		le.PutUint64(h[40:], uint64(shOff))
		le.PutUint16(h[56:], pnXNum)
		le.PutUint16(h[58:], shdrSize)
		le.PutUint16(h[60:], 1)
	} else {
		le.PutUint16(h[56:], uint16(nprogs))
	}
	return h
}

func appendPhdr(b []byte, p prog) []byte {
	le := binary.LittleEndian
	align := uint64(writePage)
	if p.typ == elf.PT_NOTE {
		align = 4
	}
	b = le.AppendUint32(b, uint32(p.typ))
	b = le.AppendUint32(b, uint32(p.flags))
	b = le.AppendUint64(b, p.off)
	b = le.AppendUint64(b, p.vaddr)
	b = le.AppendUint64(b, 0) // p_paddr
	b = le.AppendUint64(b, p.filesz)
	b = le.AppendUint64(b, p.memsz)
	return le.AppendUint64(b, align)
}

// appendXNumShdr appends section header 0 of extended numbering: sh_info
// holds the number of program headers.
func appendXNumShdr(b []byte, nprogs int) []byte {
	sh := make([]byte, shdrSize)
	binary.LittleEndian.PutUint32(sh[44:], uint32(nprogs))
	return append(b, sh...)
}
