package cpython

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

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

func (fuzzTarget) Kind() string       { return "core" }
func (fuzzTarget) PID() int           { return 1 }
func (fuzzTarget) Executable() string { return "fuzz" }
func (t fuzzTarget) Mappings() []target.Mapping {
	// Anonymous and writable: the heap scan reads it.
	return []target.Mapping{{Start: fuzzBase, End: fuzzBase + uint64(len(t.data)), Perms: "rw-p"}}
}
func (fuzzTarget) Threads() []target.Thread { return nil }
func (fuzzTarget) Signal() *target.SigInfo  { return nil }
func (fuzzTarget) Warnings() []string       { return nil }
func (fuzzTarget) Close() error             { return nil }
func (fuzzTarget) OpenFile(string) (target.File, error) {
	return nil, fmt.Errorf("no files")
}

// fuzzProcess is a Process of layout l over the memory in: as it is (raw),
// or with most words turned into pointers (newFuzzMemory).
func fuzzProcess(l *Layout, in []byte, raw bool) *Process {
	mem := newFuzzMemory(in)
	if raw {
		mem = &fuzzMemory{data: in}
	}
	return newProcess(fuzzTarget{mem}, l, fuzzBase)
}

// readAll does with p what a snapshot with --locals does: every thread, every
// frame, every local's repr and object, the attributes of each, each frame's
// globals and with-blocks, the heap scan for a wait, and the stopped walk.
func readAll(p *Process) {
	ts, _ := p.Threads()
	p.GIL()
	threads, _ := p.ThreadObjects()
	for _, obj := range threads {
		p.ThreadName(obj)
	}
	p.MainThreadIdent()
	objs := p.NewObjects()
	globals := map[uint64]bool{}
	for _, th := range ts {
		for _, fr := range th.Frames {
			for _, v := range fr.Locals {
				p.Repr(v.Value)
				if objs.Add(v.Value) == nil {
					for _, a := range p.InstanceAttrs(v.Value) {
						objs.Add(a)
					}
				}
			}
			for _, m := range fr.With {
				objs.Add(m)
			}
			if !globals[fr.Globals] {
				globals[fr.Globals] = true
				for _, v := range p.DictStrItems(fr.Globals, 4096) {
					objs.Add(v)
				}
			}
		}
	}
	for off := 0; off+8 <= 4096; off += 64 {
		v := fuzzBase + uint64(off)
		objs.Add(v)
		p.Repr(v)
		p.InstanceAttrs(v)
	}
	// One heap scan per thread, as for threads whose waits no object explains.
	p.LockForWait(fuzzBase+8, fuzzBase+16)
	for i := range min(len(ts), 1000) {
		p.LockForWait(fuzzBase+8*uint64(i+2), 0)
	}
	// The frame walk a live snapshot makes while the target is stopped.
	p.WalkStacks(p.Target)
}

// maxFuzzAlloc is the most one input may make pyhang allocate: the budget
// and what is allocated around it (errors, maps, slices grown by doubling).
const maxFuzzAlloc = 2 * readBudget

// FuzzProcess reads an interpreter out of hostile memory with every version's
// layout: whatever the bytes, it must end without a panic, allocating less
// than maxFuzzAlloc in all. raw inputs are mapped as they are (the crafted
// images of craft_test.go); the others have most words turned into pointers.
func FuzzProcess(f *testing.F) {
	f.Add(uint8(12), false, make([]byte, 4096))
	seed := make([]byte, 8192)
	for i := range seed {
		seed[i] = byte(i * 37)
	}
	for minor := uint8(8); minor <= 14; minor++ {
		f.Add(minor, false, seed)
	}
	// Crafted images (craft_test.go), raw. Before the snapshot had one
	// budget, the first (15 threads of 4 locals, each the list) made pyhang
	// allocate 1.75 GiB in 3 s, the second 20.6 GiB, the fourth (frames
	// without code) 12.3 GiB, the last 22 GiB in 29 s; the third was not run
	// to its end.
	shapes := []shape{
		{threads: 15, locals: 4, listLocals: true},
		{threads: 15, locals: 4},
		{loopInterps: true, threads: imgMaxThreads, locals: maxLocals},
		{loopInterps: true, threads: imgMaxThreads, locals: 5, badCode: true},
		{threads: 1, locals: imgFrameLocals},
	}
	for minor := 8; minor <= 14; minor++ {
		l, _ := LayoutFor(minor)
		for _, sh := range shapes {
			f.Add(uint8(minor-8), true, cyclicImage(l, sh))
		}
	}
	f.Fuzz(func(t *testing.T, minor uint8, raw bool, in []byte) {
		if len(in) > 1<<16 {
			return
		}
		l, err := LayoutFor(8 + int(minor%7))
		if err != nil {
			t.Fatal(err)
		}
		p := fuzzProcess(l, in, raw)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		readAll(p)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		spent := readBudget - p.r.budget.left
		t.Logf("3.%d raw=%v %d bytes: allocated %.1f MiB in %v; %.1f MiB of the budget spent, %d reads",
			l.Minor, raw, len(in), float64(alloc)/(1<<20), took, float64(spent)/(1<<20), p.Reads())
		if alloc > maxFuzzAlloc {
			t.Fatalf("3.%d: allocated %.2f GiB (bound %d MiB) in %v", l.Minor, float64(alloc)/(1<<30), maxFuzzAlloc>>20, took)
		}
	})
}
