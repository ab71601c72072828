package native

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/go-delve/delve/pkg/dwarf/frame"
	"github.com/pyhang/pyhang/snapshot/elfsym"
)

// cfiTable is the call-frame information of one section (.eh_frame or
// .debug_frame) of one file. Its entries are parsed by delve's
// pkg/dwarf/frame; the rows are computed by computeRow, whose bounds hold on
// hostile files (delve's own table code allocates without bound; see
// cfa.go).
type cfiTable struct {
	fdes frame.FrameDescriptionEntries // sorted by start address
	err  error
}

// parseCFI parses a .eh_frame (eh, loaded at addr) or .debug_frame section.
// The file is untrusted: a panic in the parser becomes an error.
func parseCFI(data []byte, addr uint64, eh bool) (t *cfiTable) {
	t = &cfiTable{}
	defer func() {
		if p := recover(); p != nil {
			t = &cfiTable{err: fmt.Errorf("malformed call-frame information: %v", p)}
		}
	}()
	var ehAddr uint64
	if eh {
		if addr == 0 {
			// pkg/dwarf/frame takes address 0 to mean .debug_frame.
			t.err = fmt.Errorf(".eh_frame at address 0")
			return t
		}
		ehAddr = addr
	}
	fdes, err := frame.Parse(data, binary.LittleEndian, 0, 8, ehAddr)
	if err != nil {
		t.err = err
		return t
	}
	t.fdes = fdes.Append(nil) // sorts by start address
	return t
}

// find returns the entry covering the virtual address va.
func (t *cfiTable) find(va uint64) *frame.FrameDescriptionEntry {
	if t == nil || len(t.fdes) == 0 {
		return nil
	}
	fde, err := t.fdes.FDEForPC(va)
	if err != nil {
		return nil
	}
	return fde
}

// fde returns the entry of module mod covering va: from .eh_frame (which the
// dynamic loader maps, and every x86-64 compiler emits), else from
// .debug_frame. The entry is found through .eh_frame_hdr's index when the
// file has one, and only it parsed; else each table is parsed whole on first
// need.
func (mod *module) fde(va uint64) *frame.FrameDescriptionEntry {
	if mod.elf == nil {
		return nil
	}
	if mod.ehIndex == nil {
		mod.ehIndex = loadEHIndex(mod.elf)
	}
	if f, ok := mod.ehIndex.find(va); ok {
		return f
	}
	if mod.eh == nil {
		mod.eh = mod.loadCFI(".eh_frame", true)
	}
	if f := mod.eh.find(va); f != nil {
		return f
	}
	if mod.debug == nil {
		mod.debug = mod.loadCFI(".debug_frame", false)
	}
	return mod.debug.find(va)
}

func (mod *module) loadCFI(section string, eh bool) *cfiTable {
	data, err := mod.elf.SectionData(section)
	if err != nil {
		return &cfiTable{err: err}
	}
	if data == nil {
		return &cfiTable{}
	}
	addr, _ := mod.elf.SectionAddr(section)
	t := parseCFI(data, addr, eh)
	if t.err != nil {
		t.err = fmt.Errorf("%s %s: %w", mod.path, section, t.err)
	}
	return t
}

// rowAt computes the table row for va from fde.
func rowAt(fde *frame.FrameDescriptionEntry, va uint64) (row, error) {
	cie := fde.CIE
	if cie == nil {
		return row{}, fmt.Errorf("FDE at %#x has no CIE", fde.Begin())
	}
	info := cieInfo{
		codeAlign: cie.CodeAlignmentFactor,
		dataAlign: cie.DataAlignmentFactor,
		raReg:     cie.ReturnAddressRegister,
		initial:   cie.InitialInstructions,
	}
	return computeRow(info, fde.Instructions, fde.Begin(), va)
}

// signalFrame reports whether fde describes a signal trampoline (augmentation
// "S"): the frame above it was interrupted, not calling, so its program
// counter is looked up as is.
func signalFrame(fde *frame.FrameDescriptionEntry) bool {
	return fde.CIE != nil && strings.HasPrefix(fde.CIE.Augmentation, "z") && strings.Contains(fde.CIE.Augmentation, "S")
}

// ehIndex finds the .eh_frame entry of an address through .eh_frame_hdr,
// the sorted table of every entry's start the dynamic loader's unwinder
// searches, and parses that entry alone (with its CIE): a libpython has
// thousands of entries, and a stack needs a few hundred.
type ehIndex struct {
	f       *elfsym.File
	table   []byte // (initial location, entry address) pairs, each sdata4 from hdrAddr
	hdrAddr uint64
	ehAddr  uint64 // .eh_frame's address
	ehSize  uint64
	entries map[uint64]*frame.FrameDescriptionEntry // by offset in .eh_frame; nil: not usable
}

// The encodings of .eh_frame_hdr pyhang reads (as every linker writes them).
const (
	ehPEudata4       = 0x03
	ehPEdatarelSdata = 0x3b // DW_EH_PE_datarel | DW_EH_PE_sdata4
)

// maxEHEntry bounds one entry read through the index.
const maxEHEntry = 1 << 20

// loadEHIndex reads the index of f's .eh_frame; an index that cannot be used
// finds nothing.
func loadEHIndex(f *elfsym.File) *ehIndex {
	x := &ehIndex{f: f}
	hdr, err := f.SectionData(".eh_frame_hdr")
	hdrAddr, ok1 := f.SectionAddr(".eh_frame_hdr")
	ehAddr, ok2 := f.SectionAddr(".eh_frame")
	sec := f.Section(".eh_frame")
	if err != nil || !ok1 || !ok2 || sec == nil || ehAddr == 0 || len(hdr) < 12 {
		return x
	}
	if hdr[0] != 1 || hdr[2] != ehPEudata4 || hdr[3] != ehPEdatarelSdata {
		return x
	}
	// hdr[1] encodes the pointer to .eh_frame (read from the section
	// headers instead); it takes 4 bytes in every encoding linkers use.
	if hdr[1]&0x0f != ehPEudata4 && hdr[1]&0x0f != 0x0b { // udata4, sdata4
		return x
	}
	n := uint64(binary.LittleEndian.Uint32(hdr[8:]))
	if n > uint64(len(hdr)-12)/8 {
		return x
	}
	x.table, x.hdrAddr, x.ehAddr, x.ehSize = hdr[12:12+8*n], hdrAddr, ehAddr, sec.Size
	x.entries = map[uint64]*frame.FrameDescriptionEntry{}
	return x
}

// find returns the entry covering va. ok false means the index could not
// tell (no index, an entry it could not read, or none covering va), and the
// whole table is to be searched.
func (x *ehIndex) find(va uint64) (*frame.FrameDescriptionEntry, bool) {
	if x == nil || x.entries == nil {
		return nil, false
	}
	n := len(x.table) / 8
	i := sort.Search(n, func(i int) bool { return x.loc(i) > va }) - 1
	if i < 0 {
		return nil, false
	}
	fdeAddr := x.hdrAddr + uint64(int64(int32(binary.LittleEndian.Uint32(x.table[8*i+4:]))))
	off := fdeAddr - x.ehAddr
	if fdeAddr < x.ehAddr || off >= x.ehSize {
		return nil, false
	}
	fde, seen := x.entries[off]
	if !seen {
		fde = x.parse(off)
		x.entries[off] = fde
	}
	if fde == nil || !fde.Cover(va) {
		return nil, false
	}
	return fde, true
}

func (x *ehIndex) loc(i int) uint64 {
	return x.hdrAddr + uint64(int64(int32(binary.LittleEndian.Uint32(x.table[8*i:]))))
}

// parse parses the entry at offset off of .eh_frame with its CIE: the two
// copied together, the CIE first, for delve's parser, which is given the
// address that puts the entry where it lies (its addresses are relative to
// it); the CIE's own relative pointers (a personality routine) are not used.
func (x *ehIndex) parse(off uint64) (fde *frame.FrameDescriptionEntry) {
	entry := x.entry(off)
	if len(entry) < 8 {
		return nil
	}
	ciePtr := uint64(binary.LittleEndian.Uint32(entry[4:]))
	if ciePtr == 0 || ciePtr > off+4 {
		return nil // a CIE itself, or pointing before the section
	}
	cie := x.entry(off + 4 - ciePtr)
	if len(cie) < 8 || binary.LittleEndian.Uint32(cie[4:]) != 0 {
		return nil
	}
	buf := make([]byte, 0, len(cie)+len(entry))
	buf = append(append(buf, cie...), entry...)
	binary.LittleEndian.PutUint32(buf[len(cie)+4:], uint32(len(cie)+4))
	defer func() {
		if recover() != nil {
			fde = nil
		}
	}()
	fdes, err := frame.Parse(buf, binary.LittleEndian, 0, 8, x.ehAddr+off-uint64(len(cie)))
	if err != nil || len(fdes) != 1 {
		return nil
	}
	return fdes[0]
}

// entry reads the CIE or FDE at offset off of .eh_frame, its length field
// included.
func (x *ehIndex) entry(off uint64) []byte {
	head, err := x.f.ReadSection(".eh_frame", off, 4)
	if err != nil {
		return nil
	}
	n := uint64(binary.LittleEndian.Uint32(head))
	if n == 0 || n >= 0xfffffff0 || n > maxEHEntry {
		return nil // a terminator, 64-bit DWARF, or too long
	}
	b, err := x.f.ReadSection(".eh_frame", off, int(4+n))
	if err != nil {
		return nil
	}
	return b
}
