package native

import (
	"debug/dwarf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot/elfsym"
)

// lineTable maps the addresses of one module to source lines through its
// DWARF. .debug_aranges names the compilation unit of an address, and only
// that unit's entry and line program are decoded, each once: indexing the
// whole .debug_info of a libpython (15 MB) costs 8 ms and more, a unit's
// line program well under one.
type lineTable struct {
	elf     *elfsym.File
	err     error
	aranges []arange // sorted by lo
	// The sections every unit shares.
	abbrev, line, str, lineStr, strOffsets, addr, rnglists, ranges []byte
	info                                                           []byte                // .debug_info, once decompressed
	units                                                          map[uint64]*unitLines // by offset in .debug_info
	full                                                           *dwarf.Data           // the whole .debug_info, only without .debug_aranges
}

type arange struct{ lo, hi, unit uint64 }

// unitLines is the decoded line program of one compilation unit.
type unitLines struct {
	spans []lineSpan // sorted by lo
	files []string
	err   error
}

type lineSpan struct {
	lo, hi uint64
	file   int32
	line   int32
}

// Bounds on what one module's DWARF may make pyhang hold.
const (
	maxAranges   = 1 << 20
	maxLineRows  = 1 << 22
	maxUnitBytes = 64 << 20
)

// line returns the source file and line of the virtual address va, or "".
func (mod *module) line(va uint64) (string, int) {
	if mod.dwarf == nil {
		return "", 0
	}
	if mod.lines == nil {
		mod.lines = loadLines(mod.dwarf)
	}
	return mod.lines.lookup(va)
}

func loadLines(f *elfsym.File) (t *lineTable) {
	t = &lineTable{elf: f, units: map[uint64]*unitLines{}}
	defer func() {
		if p := recover(); p != nil {
			t.err = fmt.Errorf("malformed DWARF: %v", p)
		}
	}()
	read := func(name string) []byte {
		b, err := f.SectionData(name)
		if err != nil && t.err == nil {
			t.err = err
		}
		return b
	}
	// .debug_info and .debug_line are read a unit at a time; the string and
	// abbreviation tables the units point into, whole.
	t.abbrev, t.str = read(".debug_abbrev"), read(".debug_str")
	t.lineStr, t.strOffsets, t.addr = read(".debug_line_str"), read(".debug_str_offsets"), read(".debug_addr")
	if t.err != nil {
		return t
	}
	ar := read(".debug_aranges")
	if t.err == nil && ar != nil {
		t.aranges, t.err = parseAranges(ar)
	}
	if t.err == nil && len(t.aranges) == 0 {
		// No index of units by address: index the whole .debug_info, which
		// finding a unit by its address ranges needs.
		t.line, t.rnglists, t.ranges = read(".debug_line"), read(".debug_rnglists"), read(".debug_ranges")
		info := read(".debug_info")
		if t.err == nil {
			t.full, t.err = t.newData(info, t.line)
		}
	}
	return t
}

// parseAranges decodes .debug_aranges (DWARF 5, 6.1.2): sets of address
// ranges, each naming its unit's offset in .debug_info.
func parseAranges(b []byte) ([]arange, error) {
	var out []arange
	le := binary.LittleEndian
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			break
		}
		length, hdr, offSize := uint64(le.Uint32(b[off:])), 4, 4
		if length == 0xffffffff {
			if len(b)-off < 12 {
				return out, errors.New(".debug_aranges: truncated header")
			}
			length, hdr, offSize = le.Uint64(b[off+4:]), 12, 8
		}
		if length > uint64(len(b)-off-hdr) {
			return out, fmt.Errorf(".debug_aranges: set at %#x runs past the section", off)
		}
		set := b[off+hdr : off+hdr+int(length)]
		off += hdr + int(length)
		if len(set) < 2+offSize+2 {
			continue
		}
		unit := uint64(le.Uint32(set[2:]))
		if offSize == 8 {
			unit = le.Uint64(set[2:])
		}
		addrSize, segSize := int(set[2+offSize]), int(set[3+offSize])
		if addrSize != 8 || segSize != 0 {
			continue // not an x86-64 set
		}
		// Tuples start at a multiple of twice the address size from the set's start.
		p := hdr + 2 + offSize + 2
		p = (p+15)&^15 - hdr
		for ; p+16 <= len(set); p += 16 {
			lo, n := le.Uint64(set[p:]), le.Uint64(set[p+8:])
			if lo == 0 && n == 0 {
				break
			}
			if len(out) >= maxAranges {
				return out, fmt.Errorf(".debug_aranges: more than %d ranges", maxAranges)
			}
			if lo+n >= lo {
				out = append(out, arange{lo: lo, hi: lo + n, unit: unit})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lo < out[j].lo })
	return out, nil
}

// newData builds a dwarf.Data over info, line and the shared sections.
func (t *lineTable) newData(info, line []byte) (*dwarf.Data, error) {
	d, err := dwarf.New(t.abbrev, nil, nil, info, line, nil, t.ranges, t.str)
	if err != nil {
		return nil, err
	}
	for name, b := range map[string][]byte{".debug_line_str": t.lineStr, ".debug_str_offsets": t.strOffsets,
		".debug_addr": t.addr, ".debug_rnglists": t.rnglists} {
		if b != nil {
			if err := d.AddSection(name, b); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// lookup returns the file and line of va.
func (t *lineTable) lookup(va uint64) (file string, line int) {
	if t.err != nil {
		return "", 0
	}
	defer func() {
		if p := recover(); p != nil {
			file, line = "", 0
			t.err = fmt.Errorf("malformed DWARF: %v", p)
		}
	}()
	var u *unitLines
	if t.full != nil {
		u = t.unitByPC(va)
	} else {
		i := sort.Search(len(t.aranges), func(i int) bool { return t.aranges[i].lo > va }) - 1
		// Ranges of different units do not overlap; look back a little for
		// one that holds va past a shorter neighbour.
		for k := i; k >= 0 && k > i-4; k-- {
			if a := t.aranges[k]; a.lo <= va && va < a.hi {
				u = t.unit(a.unit)
				break
			}
		}
	}
	if u == nil || u.err != nil {
		return "", 0
	}
	j := sort.Search(len(u.spans), func(j int) bool { return u.spans[j].lo > va }) - 1
	if j < 0 || va >= u.spans[j].hi {
		return "", 0
	}
	s := u.spans[j]
	if int(s.file) >= len(u.files) || s.line <= 0 {
		return "", 0
	}
	return u.files[s.file], int(s.line)
}

// unit decodes the unit at offset off of .debug_info: its header and first
// entry, read alone, and its line program.
func (t *lineTable) unit(off uint64) *unitLines {
	if u, ok := t.units[off]; ok {
		return u
	}
	u := &unitLines{}
	t.units[off] = u
	hdr, err := t.readInfo(off, 12)
	if err != nil {
		u.err = err
		return u
	}
	// Only the unit's header and first entry (its name, build folder and
	// line-program offset) are read: the header's length is cut to them.
	le := binary.LittleEndian
	n := uint64(le.Uint32(hdr)) + 4
	long := n == 0xffffffff+4
	if long {
		n = le.Uint64(hdr[4:]) + 12
	}
	raw, err := t.readInfo(off, int(min(n, unitHead)))
	if err != nil {
		u.err = err
		return u
	}
	info := append([]byte(nil), raw...)
	if long {
		le.PutUint64(info[4:], uint64(len(info)-12))
	} else {
		le.PutUint32(info, uint32(len(info)-4))
	}
	d, err := t.newData(info, nil)
	if err != nil {
		u.err = err
		return u
	}
	e, err := d.Reader().Next()
	if err != nil || e == nil {
		u.err = fmt.Errorf("unit at %#x: no entry: %v", off, err)
		return u
	}
	// The line program alone, its offset made 0 to match.
	stmt, ok := e.Val(dwarf.AttrStmtList).(int64)
	if !ok || stmt < 0 {
		u.err = fmt.Errorf("unit at %#x has no line program", off)
		return u
	}
	line, err := t.lineProgram(uint64(stmt))
	if err != nil {
		u.err = err
		return u
	}
	if d, err = t.newData(info, line); err != nil {
		u.err = err
		return u
	}
	if e, err = d.Reader().Next(); err != nil || e == nil {
		u.err = fmt.Errorf("unit at %#x: no entry: %v", off, err)
		return u
	}
	for i := range e.Field {
		if e.Field[i].Attr == dwarf.AttrStmtList {
			e.Field[i].Val = int64(0)
		}
	}
	u.decode(d, e, len(line))
	return u
}

// unitHead bounds what is read of a unit: its header and first entry.
const unitHead = 4096

// lineProgram reads the line program at off of .debug_line.
func (t *lineTable) lineProgram(off uint64) ([]byte, error) {
	hdr, err := t.elf.ReadSection(".debug_line", off, 12)
	if err != nil {
		return nil, err
	}
	n := uint64(binary.LittleEndian.Uint32(hdr)) + 4
	if n == 0xffffffff+4 {
		n = binary.LittleEndian.Uint64(hdr[4:]) + 12
	}
	if n > maxUnitBytes {
		return nil, fmt.Errorf("line program at %#x is %d bytes", off, n)
	}
	return t.elf.ReadSection(".debug_line", off, int(n))
}

// readInfo reads n bytes of .debug_info at off: from the file, or from the
// section decompressed once when it is compressed (separate debug files
// usually are).
func (t *lineTable) readInfo(off uint64, n int) ([]byte, error) {
	if !t.elf.Compressed(".debug_info") {
		return t.elf.ReadSection(".debug_info", off, n)
	}
	if t.info == nil {
		b, err := t.elf.SectionData(".debug_info")
		if err != nil {
			return nil, err
		}
		t.info = b
	}
	if off > uint64(len(t.info)) || uint64(n) > uint64(len(t.info))-off {
		return nil, fmt.Errorf("%d bytes at %#x are outside .debug_info", n, off)
	}
	return t.info[off : off+uint64(n)], nil
}

// unitByPC finds the unit of va through the whole .debug_info.
func (t *lineTable) unitByPC(va uint64) *unitLines {
	r := t.full.Reader()
	e, err := r.SeekPC(va)
	if err != nil || e == nil {
		return nil
	}
	if u, ok := t.units[uint64(e.Offset)]; ok {
		return u
	}
	u := &unitLines{}
	t.units[uint64(e.Offset)] = u
	u.decode(t.full, e, 0)
	return u
}

// decode reads the line program of unit entry e into spans. size is the
// program's length in bytes when known: a span takes 9 to 11 of them, and the
// spans are allocated once for about as many as it has, not grown by
// doubling (fresh memory costs a page fault a page).
func (u *unitLines) decode(d *dwarf.Data, e *dwarf.Entry, size int) {
	if size > 0 {
		u.spans = make([]lineSpan, 0, min(size/8, maxLineRows))
	}
	lr, err := d.LineReader(e)
	if err != nil || lr == nil {
		u.err = fmt.Errorf("no line program: %v", err)
		return
	}
	compDir, _ := e.Val(dwarf.AttrCompDir).(string)
	fileIdx := map[*dwarf.LineFile]int32{}
	var prev dwarf.LineEntry
	have := false
	var le dwarf.LineEntry
	for rows := 0; ; rows++ {
		if rows >= maxLineRows {
			u.err = fmt.Errorf("line program longer than %d rows", maxLineRows)
			break
		}
		if err := lr.Next(&le); err != nil {
			break // io.EOF, or a malformed program: keep what was read
		}
		if have && le.Address > prev.Address && prev.File != nil {
			idx, ok := fileIdx[prev.File]
			if !ok {
				idx = int32(len(u.files))
				fileIdx[prev.File] = idx
				u.files = append(u.files, relativeTo(prev.File.Name, compDir))
			}
			u.spans = append(u.spans, lineSpan{lo: prev.Address, hi: le.Address, file: idx, line: int32(prev.Line)})
		}
		prev, have = le, !le.EndSequence
	}
	sort.SliceStable(u.spans, func(i, j int) bool { return u.spans[i].lo < u.spans[j].lo })
}

// relativeTo shortens a source path under the unit's build directory to the
// path the build named it by ("Python/ceval.c"), as gdb shows it.
func relativeTo(name, dir string) string {
	if dir != "" {
		if rest, ok := strings.CutPrefix(name, strings.TrimSuffix(dir, "/")+"/"); ok {
			return rest
		}
	}
	return name
}
