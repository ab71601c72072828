package native

import (
	"encoding/binary"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

// FuzzUnwind unwinds random registers over a random stack through a file
// whose .eh_frame or .debug_frame is random: the walk must end (within
// maxFrames), never panic, and only report frames it could compute.
func FuzzUnwind(f *testing.F) {
	seedStack := make([]byte, 0x200)
	binary.LittleEndian.PutUint64(seedStack[0x108:], testBase+0x1120)
	binary.LittleEndian.PutUint64(seedStack[0x128:], testBase+0x1210)
	good := debugFrame(x86CIE,
		fdeSpec{0x1000, 0x100, []byte{0x41, 0x0e, 0x10, 0x86, 0x02}},
		fdeSpec{0x1100, 0x100, []byte{0x44, 0x0e, 0x20}},
		fdeSpec{0x1200, 0x100, []byte{0x07, 0x10}})
	f.Add(false, uint64(testBase+0x1010), uint64(testStack+0x100), uint64(0), good, seedStack)
	f.Add(false, uint64(testBase+0x1010), uint64(testStack+0x100), uint64(testStack+0x40), []byte{}, seedStack)
	f.Add(true, uint64(testBase+0x1010), uint64(testStack+0x100), uint64(0), good, seedStack)
	f.Add(false, uint64(testBase+0x1010), uint64(testStack), uint64(0),
		debugFrame(gccProgram[:5], fdeSpec{0x1000, 0x100, gccProgram}), seedStack)
	f.Fuzz(func(t *testing.T, eh bool, rip, rsp, rbp uint64, cfi, stack []byte) {
		name := ".debug_frame"
		if eh {
			name = ".eh_frame"
		}
		file := buildELF(map[string][]byte{".text": padTo(make([]byte, 0x300), 0x1000), name: cfi},
			[]testSym{{"f0", 0x1000, 0x100}, {"f1", 0x1100, 0x100}, {"f2", 0x1200, 0x100}})
		m := testModules(file, testBase)
		regs := &target.Regs{RIP: rip, RSP: rsp, RBP: rbp}
		st := m.Unwind(stackMem{testStack, stack}, regs, true)
		if len(st.Frames) == 0 || len(st.Frames) > maxFrames {
			t.Fatalf("%d frames", len(st.Frames))
		}
		if st.Frames[0].PC != rip || st.Frames[0].SP != rsp {
			t.Fatalf("frame 0 is %#x/%#x, not the registers", st.Frames[0].PC, st.Frames[0].SP)
		}
	})
}

// FuzzComputeRow runs random call-frame programs to random addresses.
func FuzzComputeRow(f *testing.F) {
	f.Add(x86CIE, gccProgram, uint64(0x1013))
	f.Add([]byte{0x0c, 0x07, 0x08}, []byte{0x0a, 0x0a, 0x0b, 0x0b, 0x0b}, uint64(0x2000))
	f.Fuzz(func(t *testing.T, initial, prog []byte, pc uint64) {
		info := cieInfo{codeAlign: 1, dataAlign: -8, raReg: 16, initial: initial}
		computeRow(info, prog, 0x1000, pc)
		info.codeAlign, info.dataAlign = 1<<63, -1<<63
		computeRow(info, prog, 0x1000, pc)
	})
}

// FuzzExpr evaluates random DWARF expressions.
func FuzzExpr(f *testing.F) {
	f.Add([]byte{0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22})
	f.Add([]byte{0x2f, 0xfd, 0xff})
	f.Fuzz(func(t *testing.T, expr []byte) {
		var r regSet
		r.set(regRSP, 0x7000)
		r.set(regRA, 0x1000)
		evalExpr(expr, &r, func(a uint64, n int) (uint64, error) { return a * 3, nil }, 0x7010)
	})
}

// FuzzLines looks source lines up in random DWARF sections.
func FuzzLines(f *testing.F) {
	f.Add([]byte{}, []byte{}, []byte{}, []byte{}, uint64(0x1000))
	// A set of .debug_aranges naming unit 0 for [0x1000, 0x1100).
	ar := []byte{44, 0, 0, 0, 2, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0}
	ar = binary.LittleEndian.AppendUint64(ar, 0x1000)
	ar = binary.LittleEndian.AppendUint64(ar, 0x100)
	ar = append(ar, make([]byte, 16)...)
	f.Add(ar, []byte{0x20, 0, 0, 0, 4, 0, 0, 0, 0, 0, 8, 1}, []byte{1, 0x11, 0, 0x10, 0x17, 0, 0}, []byte{}, uint64(0x1010))
	f.Fuzz(func(t *testing.T, aranges, info, abbrev, line []byte, va uint64) {
		file := buildELF(map[string][]byte{".text": {0}, ".debug_aranges": aranges, ".debug_info": info,
			".debug_abbrev": abbrev, ".debug_line": line}, nil)
		m := testModules(file, testBase)
		mod := m.module("/test/libtest.so")
		if mod.err != nil {
			return
		}
		mod.line(va)
		mod.line(va + 1)
	})
}
