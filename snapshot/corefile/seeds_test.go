//go:build linux

package corefile

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteSeeds regenerates the fuzz seeds in testdata/ (see its README):
//
//	PYHANG_WRITE_SEEDS=1 go test ./snapshot/corefile -run TestWriteSeeds
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("PYHANG_WRITE_SEEDS") != "1" {
		t.Skip("set PYHANG_WRITE_SEEDS=1 to rewrite testdata/*.core")
	}
	kpath, _ := kernelCore(t)
	gpath, _ := gcoreOf(t)
	for _, s := range []struct{ from, to string }{
		{kpath, "kernel-abort.core"},
		{gpath, "gcore-threads.core"},
	} {
		b, err := os.ReadFile(s.from)
		if err != nil {
			t.Fatal(err)
		}
		writeSeed(t, s.to, notesOnly(t, b))
	}
	writeSeed(t, "synthetic-segv.core", syntheticSeed().bytes())
}

func writeSeed(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote testdata/%s (%d bytes)", name, len(b))
}

// notesOnly rewrites a core as its ELF header, its program headers and its
// notes, in that order: every PT_LOAD keeps its address and size but holds
// no bytes (p_filesz 0), and section headers are dropped.
func notesOnly(t *testing.T, core []byte) []byte {
	t.Helper()
	r := bytes.NewReader(core)
	progs, err := readProgs(r, int64(len(core)), "core")
	if err != nil {
		t.Fatal(err)
	}
	segs, err := readNoteSegments(r, int64(len(core)), "core", progs)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte{}, core[:ehdrSize]...)
	le.PutUint64(out[32:], ehdrSize) // e_phoff
	le.PutUint64(out[40:], 0)        // e_shoff
	le.PutUint16(out[58:], 0)        // e_shentsize
	le.PutUint16(out[60:], 0)        // e_shnum
	le.PutUint16(out[62:], 0)        // e_shstrndx
	le.PutUint16(out[56:], uint16(len(progs)))
	off := uint64(ehdrSize + phdrSize*len(progs))
	var notes []byte
	for _, seg := range segs {
		notes = append(notes, seg...)
	}
	for _, p := range progs {
		ph := make([]byte, phdrSize)
		le.PutUint32(ph[0:], uint32(p.typ))
		le.PutUint32(ph[4:], uint32(p.flags))
		le.PutUint64(ph[16:], p.vaddr)
		le.PutUint64(ph[40:], p.memsz)
		le.PutUint64(ph[48:], 1)
		switch p.typ {
		case elf.PT_NOTE:
			le.PutUint64(ph[8:], off)
			le.PutUint64(ph[32:], uint64(len(notes)))
			off += uint64(len(notes))
			notes = nil // all notes go in the first PT_NOTE
		default:
			le.PutUint64(ph[8:], off)
		}
		out = append(out, ph...)
	}
	for _, seg := range segs {
		out = append(out, seg...)
	}
	return out
}

// syntheticSeed is a small core with every note the reader decodes and a
// few bytes of memory in segments.
func syntheticSeed() *fakeCore {
	stack := make([]byte, 64)
	copy(stack, "/usr/bin/python3\x00")
	return &fakeCore{
		threads: []fakeThread{
			{tid: 101, cursig: 11, regs: [27]uint64{regRIP: 0x401000, regRSP: 0x7ffc0000, regFSBase: 0x7f0000000700, regOrigRAX: ^uint64(0)}},
			{tid: 100, regs: [27]uint64{regOrigRAX: 202, regRAX: uint64(0xfffffffffffffe00), regRDI: 0x600010}},
		},
		psPid: 100,
		fname: "python3",
		sig:   &fakeSig{signo: 11, code: 1, addr: 0x18},
		auxv:  [][2]uint64{{atPagesz, 4096}, {atEntry, 0x401000}, {atExecfn, 0x600000}},
		files: []fileMapping{
			{start: 0x400000, end: 0x401000, off: 0, path: "/usr/bin/python3.11"},
			{start: 0x401000, end: 0x403000, off: 0x1000, path: "/usr/bin/python3.11"},
			{start: 0x7f0000000000, end: 0x7f0000001000, off: 0, path: "/dev/zero (deleted)"},
		},
		loads: []fakeLoad{
			{vaddr: 0x400000, memsz: 0x1000, flags: elf.PF_R, data: fakeELF([]byte{0xab, 0xcd}, 0x1000)[:256]},
			{vaddr: 0x401000, memsz: 0x2000, flags: elf.PF_R | elf.PF_X},
			{vaddr: 0x600000, memsz: 0x1000, flags: elf.PF_R | elf.PF_W, data: stack},
		},
	}
}
