package native

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/go-delve/delve/pkg/dwarf/frame"
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
// .debug_frame. Each table is parsed on first need.
func (mod *module) fde(va uint64) *frame.FrameDescriptionEntry {
	if mod.elf == nil {
		return nil
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
