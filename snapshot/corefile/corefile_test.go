package corefile

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func simpleCore() *fakeCore {
	return &fakeCore{
		threads: []fakeThread{{tid: 7}},
		psPid:   7,
		files:   []fileMapping{{start: 0x400000, end: 0x401000, path: "/bin/prog"}},
		loads:   []fakeLoad{{vaddr: 0x600000, memsz: 0x1000, flags: elf.PF_R | elf.PF_W, data: make([]byte, 0x1000)}},
	}
}

func TestOpenBadInput(t *testing.T) {
	dir := t.TempDir()
	good := simpleCore().bytes()
	notesEnd := ehdrSize + 2*phdrSize + len(simpleCore().notes())
	patch := func(off int, v ...byte) []byte {
		b := append([]byte{}, good...)
		copy(b[off:], v)
		return b
	}
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		is   error
		text string
	}{
		{"empty", nil, ErrNotCore, "is not an ELF core file: the file is empty"},
		{"text", []byte("hello, world\n"), ErrNotCore, "is not an ELF core file"},
		{"three bytes of magic", []byte("\x7fEL"), ErrNotCore, "is not an ELF core file"},
		{"executable", exe[:4096], ErrNotCore, "is not an ELF core file: it is an ELF file of type ET_"},
		{"zstd", []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0}, ErrCompressed, "zstd-compressed core: decompress with coredumpctl dump / zstd -d"},
		{"lz4", []byte{0x04, 0x22, 0x4d, 0x18, 0, 0}, ErrCompressed, "lz4-compressed core"},
		{"header cut", good[:40], ErrTruncated, "only 40 bytes of its 64-byte ELF header"},
		{"32-bit", patch(int(elf.EI_CLASS), byte(elf.ELFCLASS32)), ErrWrongMachine, "ELFCLASS32"},
		{"big-endian", patch(int(elf.EI_DATA), byte(elf.ELFDATA2MSB)), ErrWrongMachine, "ELFDATA2MSB"},
		{"aarch64", patch(18, byte(elf.EM_AARCH64), 0), ErrWrongMachine, "is a core for EM_AARCH64; pyhang reads x86-64 cores"},
		{"program headers cut", good[:ehdrSize+phdrSize+10], ErrTruncated, "program headers at offset 0x40 end beyond"},
		{"notes cut", good[:notesEnd-100], ErrTruncated, "is truncated: its notes at offset"},
		{"no program headers", patch(56, 0, 0), ErrCorrupt, "has no program headers"},
		{"odd phentsize", patch(54, 40, 0), ErrCorrupt, "40-byte program headers"},
		{"PN_XNUM without section 0", patch(56, 0xff, 0xff), ErrCorrupt, "no section header to count them"},
		{"PN_XNUM with section 0 cut", func() []byte { b := patch(56, 0xff, 0xff); b[41] = 0xff; return b }(), ErrTruncated, "segment count is in a section header"},
		{"no PT_NOTE", patch(ehdrSize, byte(elf.PT_NULL)), ErrCorrupt, "has no notes"},
		{"huge note segment", patch(ehdrSize+32, 0, 0, 0, 0x40), ErrCorrupt, "more than the 268435456-byte limit"},
		{"no NT_PRSTATUS", patch(ehdrSize+2*phdrSize+8, 0x77), ErrCorrupt, "no NT_PRSTATUS note, so no threads"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")), tc.data)
			c, err := Open(path, Options{})
			if err == nil {
				c.Close()
				t.Fatalf("opened")
			}
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.text) || !strings.HasPrefix(err.Error(), path) {
				t.Errorf("err = %v\nwant %v, starting with the path, containing %q", err, tc.is, tc.text)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
	if _, err := Open(filepath.Join(dir, "nonexistent"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing core: %v", err)
	}
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrNotCore) {
		t.Errorf("directory: %v", err)
	}
}

func TestDamagedNotesAfterThreads(t *testing.T) {
	fc := simpleCore()
	b := fc.bytes()
	// Grow the PT_NOTE by 12 bytes of garbage header claiming a huge
	// descriptor: the thread before it survives, with a warning.
	notes := fc.notes()
	garbage := []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0}
	off := ehdrSize + 2*phdrSize
	nb := append(append(append([]byte{}, b[:off+len(notes)]...), garbage...), b[off+len(notes):]...)
	le.PutUint64(nb[ehdrSize+32:], uint64(len(notes)+len(garbage)))
	le.PutUint64(nb[ehdrSize+phdrSize+8:], le.Uint64(nb[ehdrSize+phdrSize+8:])+uint64(len(garbage)))
	c, err := Open(writeFile(t, filepath.Join(t.TempDir(), "core"), nb), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Threads()) != 1 {
		t.Errorf("threads = %+v", c.Threads())
	}
	if ws := c.Warnings(); len(ws) != 1 || !strings.Contains(ws[0], "notes damaged") {
		t.Errorf("warnings = %q", ws)
	}
}

func TestExecutableAndOptions(t *testing.T) {
	dir := t.TempDir()
	sysroot := filepath.Join(dir, "sysroot")
	progID, libID := []byte{0xaa, 0xbb}, []byte{0x11, 0x22}
	prog := fakeELF(progID, 0x2000)
	lib := fakeELF(libID, 0x2000)
	fc := &fakeCore{
		threads: []fakeThread{{tid: 7}},
		psPid:   7,
		files: []fileMapping{
			{start: 0x400000, end: 0x402000, path: "/opt/app/bin/prog"},
			{start: 0x7f0000000000, end: 0x7f0000002000, path: "/usr/lib/libpython3.12.so.1.0"},
		},
		auxv: [][2]uint64{{atPagesz, 4096}, {atEntry, 0x401010}},
		loads: []fakeLoad{
			{vaddr: 0x400000, memsz: 0x2000, flags: elf.PF_R | elf.PF_X, data: prog[:0x1000]},
			{vaddr: 0x7f0000000000, memsz: 0x2000, flags: elf.PF_R, data: lib[:0x1000]},
		},
	}
	corePath := fc.write(t, dir)

	// Nothing local: Executable() still names the file AT_ENTRY lies in,
	// and reads needing the files fail with the missing-file message.
	c, err := Open(corePath, Options{Sysroot: sysroot})
	if err != nil {
		t.Fatal(err)
	}
	if c.Executable() != "/opt/app/bin/prog" {
		t.Errorf("Executable() = %q", c.Executable())
	}
	_, err = c.OpenFile("/usr/lib/libpython3.12.so.1.0")
	want := "core needs /usr/lib/libpython3.12.so.1.0 (mapped at 0x7f0000000000), not found: copy it next to the core and pass --sysroot DIR, or --exe for the executable"
	if err == nil || err.Error() != want {
		t.Errorf("OpenFile: %v\nwant %s", err, want)
	}
	if len(c.Warnings()) != 0 {
		t.Errorf("OpenFile warned: %q", c.Warnings())
	}
	c.Close()

	// --sysroot with the full path, --exe for the executable.
	writeFile(t, filepath.Join(sysroot, "usr/lib/libpython3.12.so.1.0"), lib)
	exePath := writeFile(t, filepath.Join(dir, "elsewhere", "prog-copy"), prog)
	c, err = Open(corePath, Options{Sysroot: sysroot, Exe: exePath})
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.OpenFile(c.Executable())
	if err != nil || f.Name() != exePath {
		t.Errorf("OpenFile(exe) = %v, %v; want %s", f, err, exePath)
	} else {
		f.Close()
	}
	p := make([]byte, 8)
	if err := target.ReadFull(c, p, 0x7f0000001000); err != nil || !bytes.Equal(p, lib[0x1000:0x1008]) {
		t.Errorf("read of libpython text: %x %v", p, err)
	}
	if err := target.ReadFull(c, p, 0x401000); err != nil || !bytes.Equal(p, prog[0x1000:0x1008]) {
		t.Errorf("read of the executable's text: %x %v", p, err)
	}
	if ws := c.Warnings(); len(ws) != 0 {
		t.Errorf("warnings = %q", ws)
	}
	c.Close()
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// A library copied flat next to the core, with another build-id.
	flat := t.TempDir()
	writeFile(t, filepath.Join(flat, "libpython3.12.so.1.0"), fakeELF([]byte{0x99}, 0x2000))
	c, err = Open(corePath, Options{Sysroot: flat})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := target.ReadFull(c, p, 0x7f0000001000); err != nil {
		t.Errorf("read through a flat sysroot: %v", err)
	}
	wantWarn := fmt.Sprintf("build-id mismatch for /usr/lib/libpython3.12.so.1.0: core has 1122, file has 99 (local copy %s)", filepath.Join(flat, "libpython3.12.so.1.0"))
	if ws := c.Warnings(); len(ws) != 1 || ws[0] != wantWarn {
		t.Errorf("warnings = %q\nwant %q", ws, wantWarn)
	}
}

func TestExeReplacesSameBaseName(t *testing.T) {
	// Started as "ld-linux-x86-64.so.2 python3.14": AT_ENTRY is in the
	// loader, so the loader is Executable(), but --exe python3.14 still
	// replaces the mapped python3.14.
	dir := t.TempDir()
	py := fakeELF([]byte{1}, 0x2000)
	fc := &fakeCore{
		threads: []fakeThread{{tid: 7}},
		psPid:   7,
		files: []fileMapping{
			{start: 0x400000, end: 0x402000, path: "/opt/unstable/usr/bin/python3.14"},
			{start: 0x7f0000000000, end: 0x7f0000002000, path: "/opt/unstable/lib64/ld-linux-x86-64.so.2"},
		},
		auxv: [][2]uint64{{atEntry, 0x7f0000001000}},
	}
	exe := writeFile(t, filepath.Join(dir, "python3.14"), py)
	c, err := Open(fc.write(t, dir), Options{Exe: exe, Sysroot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Executable() != "/opt/unstable/lib64/ld-linux-x86-64.so.2" {
		t.Errorf("Executable() = %q", c.Executable())
	}
	p := make([]byte, 4)
	if err := target.ReadFull(c, p, 0x400000); err != nil || string(p) != "\x7fELF" {
		t.Errorf("read of python3.14 through --exe: %q %v", p, err)
	}
}

func TestExecutableFallbacks(t *testing.T) {
	// AT_EXECFN, a string on the stack, when AT_ENTRY is in no file.
	stack := make([]byte, 0x1000)
	copy(stack[0x100:], "/usr/bin/python3\x00")
	fc := simpleCore()
	fc.auxv = [][2]uint64{{atEntry, 0x999}, {atExecfn, 0x600100}}
	fc.loads[0].data = stack
	c, err := Open(fc.write(t, t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Executable() != "/usr/bin/python3" {
		t.Errorf("Executable() from AT_EXECFN = %q", c.Executable())
	}
	c.Close()
	// No auxv at all: the lowest file mapped at offset 0.
	fc.auxv = nil
	c, err = Open(fc.write(t, t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Executable() != "/bin/prog" {
		t.Errorf("Executable() without auxv = %q", c.Executable())
	}
	c.Close()
}

func TestMappings(t *testing.T) {
	dir := t.TempDir()
	lib := fakeELF([]byte{1}, 0x3000)
	writeFile(t, filepath.Join(dir, "lib.so"), lib)
	fc := &fakeCore{
		threads: []fakeThread{{tid: 7}},
		psPid:   7,
		files: []fileMapping{
			{start: 0x10000, end: 0x11000, off: 0, path: "/lib.so"},
			{start: 0x11000, end: 0x13000, off: 0x1000, path: "/lib.so"}, // no segment (gcore): r-x from the file
			{start: 0x20000, end: 0x21000, off: 0, path: "/data.bin"},    // no segment, no file: r--p
		},
		loads: []fakeLoad{
			{vaddr: 0x10000, memsz: 0x1000, flags: elf.PF_R, data: lib[:0x1000]},
			{vaddr: 0x30000, memsz: 0x2000, flags: elf.PF_R | elf.PF_W},
			{vaddr: 0xffffffffff600000, memsz: 0x1000, flags: elf.PF_X},
		},
	}
	c, err := Open(fc.write(t, dir), Options{Sysroot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := []target.Mapping{
		{Start: 0x10000, End: 0x11000, Offset: 0, Perms: "r--p", Path: "/lib.so"},
		{Start: 0x11000, End: 0x13000, Offset: 0x1000, Perms: "r-xp", Path: "/lib.so"},
		{Start: 0x20000, End: 0x21000, Offset: 0, Perms: "r--p", Path: "/data.bin"},
		{Start: 0x30000, End: 0x32000, Perms: "rw-p"},
		{Start: 0xffffffffff600000, End: 0xffffffffff601000, Perms: "--xp"},
	}
	if got := c.Mappings(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Mappings() =\n%v\nwant\n%v", got, want)
	}
	if ws := c.Warnings(); len(ws) != 0 {
		t.Errorf("Mappings() warned: %q", ws)
	}
}

func TestSignalThread(t *testing.T) {
	tests := []struct {
		name    string
		threads []fakeThread
		sig     *fakeSig
		want    *target.SigInfo
	}{
		{"kernel: the dumping thread comes first", []fakeThread{{tid: 9, cursig: 11}, {tid: 7}}, &fakeSig{signo: 11, code: 1, addr: 8},
			&target.SigInfo{Signo: 11, Code: 1, Addr: 8, TID: 9}},
		{"cursig names another thread", []fakeThread{{tid: 7}, {tid: 9, cursig: 6}}, &fakeSig{signo: 6, code: -6},
			&target.SigInfo{Signo: 6, Code: -6, TID: 9}},
		{"no NT_SIGINFO (old kernel): pr_cursig", []fakeThread{{tid: 7}, {tid: 9, cursig: 8}}, nil,
			&target.SigInfo{Signo: 8, TID: 9}},
		{"gcore: SIGSTOP is no crash", []fakeThread{{tid: 7, cursig: 19}}, &fakeSig{signo: 19, code: 0x80}, nil},
		{"no signal", []fakeThread{{tid: 7}}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeCore{threads: tc.threads, psPid: 7, sig: tc.sig}
			c, err := Open(fc.write(t, t.TempDir()), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.Signal(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Signal() = %+v, want %+v", got, tc.want)
			}
			if c.Threads()[0].TID != 7 {
				t.Errorf("main thread not first: %+v", c.Threads())
			}
		})
	}
}

func TestSpecialFilesAreNotOpened(t *testing.T) {
	// Shared anonymous memory shows as "/dev/zero (deleted)"; if the core
	// lacks it, zeros from /dev/zero would be a lie.
	fc := simpleCore()
	fc.files = []fileMapping{{start: 0x500000, end: 0x501000, path: "/dev/zero (deleted)"}}
	c, err := Open(fc.write(t, t.TempDir()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.ReadAt(make([]byte, 4), 0x500000); n != 0 || !errors.Is(err, target.ErrUnreadable) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("read of /dev/zero mapping: %d %v", n, err)
	}
}

// TestConcurrentReads reads file-backed memory from several goroutines while
// others ask for mappings and warnings (run with -race).
func TestConcurrentReads(t *testing.T) {
	dir := t.TempDir()
	lib := fakeELF([]byte{5}, 0x3000)
	writeFile(t, filepath.Join(dir, "lib.so"), lib)
	fc := simpleCore()
	fc.files = append(fc.files, fileMapping{start: 0x10000, end: 0x13000, path: "/lib.so"}, fileMapping{start: 0x20000, end: 0x21000, path: "/gone.so"})
	c, err := Open(fc.write(t, dir), Options{Sysroot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error)
	for g := range 8 {
		go func() {
			p := make([]byte, 16)
			for i := range 50 {
				a := uint64(0x10000 + (g*977+i*131)%0x2ff0)
				if err := target.ReadFull(c, p, a); err != nil || !bytes.Equal(p, lib[a-0x10000:a-0x10000+16]) {
					done <- fmt.Errorf("read at %#x: %x %v", a, p, err)
					return
				}
				c.ReadAt(p, 0x20000)
				c.Mappings()
				c.Warnings()
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if ws := c.Warnings(); len(ws) != 1 {
		t.Errorf("warnings = %q, want the one missing file", ws)
	}
}
