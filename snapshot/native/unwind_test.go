package native

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

const (
	testBase  = 0x7f0000000000 // where the synthetic file is mapped
	testStack = 0x7ffd00000000 // where the synthetic stack is
)

// The CIE every x86-64 compiler emits: CFA = rsp+8, return address at CFA-8.
var x86CIE = []byte{0x0c, 0x07, 0x08, 0x90, 0x01}

// threeFrames is a file with three functions, each with a .debug_frame FDE:
//   - f0 at 0x1000: push rbp (CFA rsp+16, rbp at CFA-16) from +1;
//   - f1 at 0x1100: a 24-byte frame (CFA rsp+32) from +4;
//   - f2 at 0x1200: the outermost function (return address undefined).
func threeFrames(t testing.TB) []byte {
	text := make([]byte, 0x300)
	df := debugFrame(x86CIE,
		fdeSpec{0x1000, 0x100, []byte{0x41, 0x0e, 0x10, 0x86, 0x02}},
		fdeSpec{0x1100, 0x100, []byte{0x44, 0x0e, 0x20}},
		fdeSpec{0x1200, 0x100, []byte{0x07, 0x10}},
	)
	file := buildELF(map[string][]byte{".text": padTo(text, 0x1000), ".debug_frame": df},
		[]testSym{{"f0", 0x1000, 0x100}, {"f1", 0x1100, 0x100}, {"f2", 0x1200, 0x100}})
	return file
}

// padTo places text so that it starts at file offset off (the ELF header and
// program header come first).
func padTo(text []byte, off int) []byte {
	return append(make([]byte, off-64-56), text...)
}

func put(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

func TestUnwindCFI(t *testing.T) {
	file := threeFrames(t)
	// The synthetic .text sits after padding: find the real offset of f0.
	m := testModules(file, testBase)
	stack := make([]byte, 0x1000)
	put(stack, 0x100, 0xbbbb)               // f0's saved rbp
	put(stack, 0x108, testBase+0x1100+0x20) // f0 returns into f1
	put(stack, 0x128, testBase+0x1200+0x10) // f1 returns into f2
	regs := &target.Regs{RIP: testBase + 0x1000 + 0x10, RSP: testStack + 0x100, RBP: 0x1234}
	st := m.Unwind(stackMem{testStack, stack}, regs, false)
	if st.End != "" {
		t.Fatalf("End = %q, want the outermost frame reached", st.End)
	}
	want := []struct {
		sym     string
		off     uint64
		sp, cfa uint64
	}{
		{"f0", 0x10, testStack + 0x100, testStack + 0x110},
		{"f1", 0x20, testStack + 0x110, testStack + 0x130},
		{"f2", 0x10, testStack + 0x130, testStack + 0x138},
	}
	if len(st.Frames) != len(want) {
		t.Fatalf("%d frames, want %d: %+v", len(st.Frames), len(want), st.Frames)
	}
	for i, w := range want {
		f := st.Frames[i]
		if f.Symbol != w.sym || f.Offset != w.off || f.SP != w.sp || f.CFA != w.cfa || f.Module != "libtest.so" {
			t.Errorf("frame %d = %s+%#x sp %#x cfa %#x (%s), want %s+%#x sp %#x cfa %#x", i, f.Symbol, f.Offset, f.SP, f.CFA, f.Module, w.sym, w.off, w.sp, w.cfa)
		}
	}
}

// TestUnwindEnds: garbage ends a stack with a note, never a wrong frame.
func TestUnwindEnds(t *testing.T) {
	file := threeFrames(t)
	for _, tc := range []struct {
		name string
		ret  uint64 // what f0's return address slot holds
		rsp  uint64
		say  string
	}{
		{"return address outside code", 0xdeadbeef, testStack + 0x100, "not in mapped code"},
		{"zero return address", 0, testStack + 0x100, "is 0"},
		{"stack unreadable", 0, testStack + 0x2000, "unreadable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := testModules(file, testBase)
			stack := make([]byte, 0x1000)
			put(stack, 0x108, tc.ret)
			st := m.Unwind(stackMem{testStack, stack}, &target.Regs{RIP: testBase + 0x1010, RSP: tc.rsp}, false)
			if !strings.Contains(st.End, tc.say) || len(st.Frames) != 1 {
				t.Errorf("End = %q with %d frames, want one frame and %q", st.End, len(st.Frames), tc.say)
			}
		})
	}
}

// TestUnwindDepthBound: a stack that recurses forever is cut at maxFrames.
func TestUnwindDepthBound(t *testing.T) {
	file := threeFrames(t)
	m := testModules(file, testBase)
	n := maxFrames + 10
	stack := make([]byte, 32*n+64)
	for i := 0; i < n; i++ {
		put(stack, 32*i+24, testBase+0x1100+0x20) // f1 returning into f1
	}
	st := m.Unwind(stackMem{testStack, stack}, &target.Regs{RIP: testBase + 0x1120, RSP: testStack}, false)
	if len(st.Frames) != maxFrames || !strings.Contains(st.End, "cut after") {
		t.Errorf("%d frames, End %q; want %d and a cut", len(st.Frames), st.End, maxFrames)
	}
}

// TestUnwindFramePointer: without call-frame information the rbp chain is followed.
func TestUnwindFramePointer(t *testing.T) {
	file := buildELF(map[string][]byte{".text": padTo(make([]byte, 0x300), 0x1000)},
		[]testSym{{"g0", 0x1000, 0x100}, {"g1", 0x1100, 0x100}})
	m := testModules(file, testBase)
	stack := make([]byte, 0x1000)
	// g0's frame: rbp = stack+0x40 -> [saved rbp = stack+0x80, return into g1].
	put(stack, 0x40, testStack+0x80)
	put(stack, 0x48, testBase+0x1110)
	put(stack, 0x80, 0)
	put(stack, 0x88, 0xdeadbeef) // garbage ends the chain
	st := m.Unwind(stackMem{testStack, stack}, &target.Regs{RIP: testBase + 0x1010, RSP: testStack, RBP: testStack + 0x40}, false)
	if len(st.Frames) != 2 || st.Frames[1].Symbol != "g1" || !st.Frames[1].ViaFramePointer || st.End == "" {
		t.Errorf("frames %+v, End %q", st.Frames, st.End)
	}
}

// TestUnwindJustCalled: a frame-0 pc outside code (a call through a bad
// pointer) is taken as a call that has just pushed its return address.
func TestUnwindJustCalled(t *testing.T) {
	m := testModules(threeFrames(t), testBase)
	stack := make([]byte, 0x1000)
	put(stack, 0x100, testBase+0x1210) // return into f2
	st := m.Unwind(stackMem{testStack, stack}, &target.Regs{RIP: 0, RSP: testStack + 0x100}, false)
	if len(st.Frames) != 2 || st.Frames[1].Symbol != "f2" || st.End != "" {
		t.Errorf("frames %+v, End %q", st.Frames, st.End)
	}
}

// TestUnwindPartialRegisters: with only rip and rsp, a rule that needs another
// register ends the stack and says which.
func TestUnwindPartialRegisters(t *testing.T) {
	df := debugFrame(x86CIE, fdeSpec{0x1000, 0x100, []byte{0x0c, 0x06, 0x10}}) // CFA = rbp+16
	m := testModules(buildELF(map[string][]byte{".text": padTo(make([]byte, 0x100), 0x1000), ".debug_frame": df}, nil), testBase)
	st := m.Unwind(stackMem{testStack, make([]byte, 0x100)}, &target.Regs{RIP: testBase + 0x1010, RSP: testStack, Partial: true}, false)
	if len(st.Frames) != 1 || !strings.Contains(st.End, "rbp is unknown") {
		t.Errorf("frames %d, End %q", len(st.Frames), st.End)
	}
}

// TestSymbolizeReturnAddress: a return address just past a function (a call
// that never returns, at its end) belongs to that function.
func TestSymbolizeReturnAddress(t *testing.T) {
	m := testModules(threeFrames(t), testBase)
	if l := m.Symbolize(testBase+0x1100, false, false); l.Symbol != "f0" || l.Offset != 0x100 {
		t.Errorf("return address at f1's start: %s+%#x, want f0+0x100", l.Symbol, l.Offset)
	}
	if l := m.Symbolize(testBase+0x1100, true, false); l.Symbol != "f1" || l.Offset != 0 {
		t.Errorf("pc at f1's start: %s+%#x, want f1+0", l.Symbol, l.Offset)
	}
	if l := m.Symbolize(testBase+0x1350, true, false); l.Symbol != "" || l.Offset != 0x1350 || l.Module != "libtest.so" {
		t.Errorf("pc past every symbol: %+v, want no symbol and its address in the module", l)
	}
	if l := m.Symbolize(0x1000, true, false); l.Module != "" || l.Symbol != "" {
		t.Errorf("pc outside every mapping: %+v", l)
	}
}

// TestUnwindMemoryImage: code mapped without a file ([vdso]) is read from the
// ELF image in memory: in a live process the mapping is named [vdso], in a
// core it is anonymous (and named by the image's soname when it has one).
func TestUnwindMemoryImage(t *testing.T) {
	image := threeFrames(t)
	const vdso = 0x7ffff7fc0000
	for _, name := range []string{"[vdso]", ""} {
		maps := []target.Mapping{{Start: vdso, End: vdso + uint64(len(image)+0xfff)&^0xfff, Perms: "r-xp", Path: name}}
		m := NewModules(maps, nil)
		mem := stackMem{vdso, append(append([]byte{}, image...), make([]byte, 0x1000)...)}
		m.ImagesFrom(mem)
		l := m.Symbolize(vdso+0x1010, true, false)
		if l.Symbol != "f0" || l.Offset != 0x10 || l.Module != name {
			t.Errorf("mapping %q: %+v, want f0+0x10 in %q", name, l, name)
		}
		stack := make([]byte, 0x1000)
		put(stack, 0x108, vdso+0x1210) // f0 returns into f2, the outermost
		st := m.Unwind(stackMem{testStack, stack}, &target.Regs{RIP: vdso + 0x1010, RSP: testStack + 0x100}, false)
		if len(st.Frames) != 2 || st.Frames[1].Symbol != "f2" || st.End != "" {
			t.Errorf("mapping %q: frames %+v, End %q", name, st.Frames, st.End)
		}
	}
	// Anonymous executable memory without an ELF header (JIT code) is no module.
	m := NewModules([]target.Mapping{{Start: vdso, End: vdso + 0x1000, Perms: "rwxp"}}, nil)
	m.ImagesFrom(stackMem{vdso, make([]byte, 0x1000)})
	if l := m.Symbolize(vdso+0x10, true, false); l.Symbol != "" || l.Module != "" {
		t.Errorf("JIT memory: %+v", l)
	}
}
