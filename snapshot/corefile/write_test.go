package corefile

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

// writeCore writes a core with w's segments and p's notes and opens it.
func writeCore(t *testing.T, add func(w *Writer), p *Process) *Core {
	t.Helper()
	path := filepath.Join(t.TempDir(), "core")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := NewWriter(f)
	add(w)
	size, err := w.Finish(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != size {
		t.Fatalf("Finish says %d bytes, the file has %v (%v)", size, st.Size(), err)
	}
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reading the written core back: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestWriteRoundTrip(t *testing.T) {
	page := func(fill byte) []byte { return bytes.Repeat([]byte{fill}, writePage) }
	regs := func(base uint64) target.Regs {
		return target.Regs{RIP: base + 1, RSP: base + 2, RBP: base + 3, RAX: ^uint64(511), OrigRAX: 202,
			RDI: base + 5, RSI: base + 6, RDX: base + 7, R10: base + 8, R8: base + 9, R9: base + 10,
			RBX: base + 11, RCX: base + 12, R11: base + 13, R12: base + 14, R13: base + 15, R14: base + 16, R15: base + 17,
			FSBase: base + 18, EFlags: 0x246, GSBase: base + 19, CS: 0x33, SS: 0x2b}
	}
	auxv := make([]byte, 0, 48)
	for _, kv := range [][2]uint64{{atPagesz, 4096}, {atEntry, 0x401000}, {atNull, 0}} {
		auxv = binary.LittleEndian.AppendUint64(auxv, kv[0])
		auxv = binary.LittleEndian.AppendUint64(auxv, kv[1])
	}
	p := &Process{
		PID: 100, PPID: 1, PGRP: 100, SID: 100, State: 'S', Name: "python3.12-with-a-long-name", Args: "python3 prog.py",
		Threads: []Thread{{TID: 101, Name: "io-\x1bworker", Regs: regs(0x1000), Cursig: sigSEGV}, {TID: 100, Name: "python3.12", Regs: regs(0x2000)}},
		Signal:  &target.SigInfo{Signo: sigSEGV, Code: 1, Addr: 0x18},
		Auxv:    auxv,
		Files: []target.Mapping{
			{Start: 0x400000, End: 0x402000, Offset: 0, Perms: "r-xp", Path: "/nonexistent/python"},
			{Start: 0x600000, End: 0x601000, Offset: 0x2000, Perms: "rw-p", Path: "/nonexistent/python"},
		},
	}
	c := writeCore(t, func(w *Writer) {
		w.Add(0x7000_0000, "rw-p", page(1))
		w.Add(0x7000_1000, "rw-p", page(2)) // continues the first: one segment
		w.Add(0x7000_3000, "rw-p", page(3)) // a hole between: a second one
		w.Add(0x600000, "rw-p", page(4))    // out of order, over a file mapping
		if w.Segments() != 3 {
			t.Errorf("Segments() = %d, want 3", w.Segments())
		}
	}, p)

	if c.PID() != 100 {
		t.Errorf("PID = %d, want 100", c.PID())
	}
	ths := c.Threads()
	if len(ths) != 2 || ths[0].TID != 100 || ths[1].TID != 101 {
		t.Fatalf("threads = %+v, want tids 100 then 101", ths)
	}
	// Every thread's name comes back from the thread names note, not only
	// the main thread's from NT_PRPSINFO.
	if ths[0].Name != "python3.12" || ths[1].Name != "io-\x1bworker" || !c.ThreadNamesNoted() {
		t.Errorf("thread names %q, %q (noted %v), want python3.12 and io-\\x1bworker", ths[0].Name, ths[1].Name, c.ThreadNamesNoted())
	}
	for i, base := range []uint64{0x2000, 0x1000} {
		want := regs(base)
		if *ths[i].Regs != want {
			t.Errorf("thread %d regs = %+v, want %+v", ths[i].TID, *ths[i].Regs, want)
		}
		if !ths[i].InSyscall || ths[i].Syscall != 202 || ths[i].Args[0] != base+5 {
			t.Errorf("thread %d: syscall %v %d %#x, want in futex with rdi %#x", ths[i].TID, ths[i].InSyscall, ths[i].Syscall, ths[i].Args[0], base+5)
		}
	}
	sig := c.Signal()
	if sig == nil || sig.Signo != sigSEGV || sig.Code != 1 || sig.Addr != 0x18 || sig.TID != 101 {
		t.Errorf("signal = %+v, want SIGSEGV code 1 at 0x18 in 101", sig)
	}
	if c.Executable() != "/nonexistent/python" {
		t.Errorf("executable = %q", c.Executable())
	}
	buf := make([]byte, 3*writePage)
	if n, err := c.ReadAt(buf[:2*writePage], 0x7000_0000); err != nil || n != 2*writePage || buf[0] != 1 || buf[writePage] != 2 {
		t.Errorf("reading the first segment: %d %v", n, err)
	}
	if _, err := c.ReadAt(buf[:1], 0x7000_2000); err == nil {
		t.Errorf("the hole between segments reads")
	}
	if _, err := c.ReadAt(buf[:1], 0x600000); err != nil || buf[0] != 4 {
		t.Errorf("the segment over a file mapping: %v %d", err, buf[0])
	}
	var sawFile bool
	for _, m := range c.Mappings() {
		if m.Start == 0x600000 && m.Path == "/nonexistent/python" && m.Offset == 0x2000 && m.Perms == "rw-p" {
			sawFile = true
		}
	}
	if !sawFile {
		t.Errorf("mappings %+v lack the NT_FILE entry at 0x600000", c.Mappings())
	}
}

// More than 0xfffe segments take extended numbering, which the reader undoes.
func TestWriteExtendedNumbering(t *testing.T) {
	const n = pnXNum + 10
	c := writeCore(t, func(w *Writer) {
		for i := range n {
			w.Add(uint64(0x1000_0000+2*writePage*i), "r--p", []byte{byte(i)})
		}
	}, &Process{PID: 7, Threads: []Thread{{TID: 7}}})
	b := make([]byte, 1)
	last := uint64(0x1000_0000 + 2*writePage*(n-1))
	if _, err := c.ReadAt(b, last); err != nil || b[0] != byte((n-1)%256) {
		t.Errorf("last of %d segments: %v %d", n, err, b[0])
	}
}
