package cpython

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

// fuzzBase is where the fuzzed memory is mapped.
const fuzzBase = 0x10000

// fuzzMemory is target memory made from fuzz input: most 8-byte words are
// turned into pointers back into the region, so the walk follows long,
// looping, overlapping chains of "objects" instead of stopping at the first
// wild pointer.
type fuzzMemory struct{ data []byte }

func newFuzzMemory(in []byte) *fuzzMemory {
	data := make([]byte, len(in)&^7)
	copy(data, in)
	for i := 0; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		if w&1 == 0 && len(data) > 0 {
			binary.LittleEndian.PutUint64(data[i:], fuzzBase+(w>>1)%uint64(len(data)))
		}
	}
	return &fuzzMemory{data: data}
}

func (m *fuzzMemory) ReadAt(p []byte, addr uint64) (int, error) {
	if addr < fuzzBase || addr-fuzzBase >= uint64(len(m.data)) {
		return 0, fmt.Errorf("%#x: %w", addr, target.ErrUnreadable)
	}
	n := copy(p, m.data[addr-fuzzBase:])
	if n < len(p) {
		return n, target.ErrUnreadable
	}
	return n, nil
}

// fuzzTarget is a core-like target with nothing but that memory.
type fuzzTarget struct{ *fuzzMemory }

func (fuzzTarget) Kind() string               { return "core" }
func (fuzzTarget) PID() int                   { return 1 }
func (fuzzTarget) Executable() string         { return "fuzz" }
func (fuzzTarget) Mappings() []target.Mapping { return nil }
func (fuzzTarget) Threads() []target.Thread   { return nil }
func (fuzzTarget) Signal() *target.SigInfo    { return nil }
func (fuzzTarget) Warnings() []string         { return nil }
func (fuzzTarget) Close() error               { return nil }
func (fuzzTarget) OpenFile(string) (target.File, error) {
	return nil, fmt.Errorf("no files")
}

// FuzzProcess reads an interpreter out of hostile memory with every version's
// layout: whatever the bytes, it must end, bounded, without a panic.
func FuzzProcess(f *testing.F) {
	f.Add(uint8(12), make([]byte, 4096))
	seed := make([]byte, 8192)
	for i := range seed {
		seed[i] = byte(i * 37)
	}
	for minor := uint8(8); minor <= 14; minor++ {
		f.Add(minor, seed)
	}
	f.Fuzz(func(t *testing.T, minor uint8, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		l, err := LayoutFor(8 + int(minor%7))
		if err != nil {
			t.Fatal(err)
		}
		mem := newFuzzMemory(in)
		tg := fuzzTarget{mem}
		p := &Process{T: tg, L: l, Runtime: fuzzBase, r: newReader(tg),
			typeNames: map[uint64]string{}, codes: map[uint64]*code{}, kinds: map[uint64]string{}, attrs: map[uint64]map[string]uint64{}, scanned: map[uint64]uint64{}}
		ts, _ := p.Threads()
		p.GIL()
		p.ThreadObjects()
		p.MainThreadIdent()
		objs := p.NewObjects()
		for _, th := range ts {
			for _, fr := range th.Frames {
				for _, v := range fr.Locals {
					objs.Add(v.Value)
					p.Repr(v.Value)
				}
			}
		}
		for off := 0; off+8 <= len(mem.data) && off < 512; off += 64 {
			v := fuzzBase + uint64(off)
			objs.Add(v)
			p.Repr(v)
			p.InstanceAttrs(v)
		}
		budget := int64(1 << 16)
		p.LockForWait(fuzzBase+8, fuzzBase+16, &budget)
	})
}
