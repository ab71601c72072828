package corefile

import (
	"errors"
	"strings"
	"testing"
)

// The byte strings here are written out by hand from the kernel's structure
// definitions (include/uapi/linux/elfcore.h, fs/binfmt_elf.c fill_files_note),
// independently of the constants the decoders use.

func TestParseNotes(t *testing.T) {
	seg := []byte{
		// namesz 5, descsz 3, type 1, "CORE\0" padded to 8, desc padded to 4
		5, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0,
		'C', 'O', 'R', 'E', 0, 0, 0, 0,
		0xaa, 0xbb, 0xcc, 0,
		// namesz 6, descsz 0, type 0x202, "LINUX\0" padded to 8
		6, 0, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0,
		'L', 'I', 'N', 'U', 'X', 0, 0, 0,
		// trailing zero padding shorter than a header
		0, 0, 0, 0,
	}
	notes, err := parseNotes(seg)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 {
		t.Fatalf("got %d notes, want 2", len(notes))
	}
	if n := notes[0]; n.name != "CORE" || n.typ != 1 || string(n.desc) != "\xaa\xbb\xcc" || n.off != 0 {
		t.Errorf("note 0 = %+v", n)
	}
	if n := notes[1]; n.name != "LINUX" || n.typ != 0x202 || len(n.desc) != 0 || n.off != 24 {
		t.Errorf("note 1 = %+v", n)
	}

	bad := []struct {
		name string
		seg  []byte
		want string
	}{
		{"cut header", []byte{5, 0, 0, 0, 3, 0, 0, 0, 1}, "cut after 9 bytes"},
		{"desc beyond segment", []byte{0, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3, 4}, "beyond its 16-byte segment"},
		{"huge desc", []byte{0, 0, 0, 0, 0, 0, 0, 0x10, 1, 0, 0, 0}, "descriptor (limit"},
		{"huge name", []byte{0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0}, "name (limit"},
	}
	for _, tc := range bad {
		_, err := parseNotes(tc.seg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestParseNTFile(t *testing.T) {
	desc := []byte{
		2, 0, 0, 0, 0, 0, 0, 0, // count
		0, 0x10, 0, 0, 0, 0, 0, 0, // page size 0x1000
		0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0x10, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // [0x400000, 0x401000) page 0
		0, 0x10, 0x40, 0, 0, 0, 0, 0, 0, 0x30, 0x40, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, // [0x401000, 0x403000) page 3
		'/', 'b', 'i', 'n', '/', 'x', 0,
		'/', 'l', 'i', 'b', '/', 'y', ' ', '(', 'd', 'e', 'l', 'e', 't', 'e', 'd', ')', 0,
	}
	got, err := parseNTFile(desc)
	if err != nil {
		t.Fatal(err)
	}
	want := []fileMapping{
		{start: 0x400000, end: 0x401000, off: 0, path: "/bin/x"},
		{start: 0x401000, end: 0x403000, off: 0x3000, path: "/lib/y (deleted)"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	bad := []struct {
		name string
		desc []byte
		want string
	}{
		{"short", desc[:8], "too short"},
		{"count too large", append([]byte{0xa1, 0x86, 1, 0, 0, 0, 0, 0}, desc[8:]...), "claims 100001 mappings"},
		{"page size 0", append(append([]byte{}, desc[:8]...), append(make([]byte, 8), desc[16:]...)...), "page size 0x0"},
		{"page size not a power of 2", append(append([]byte{}, desc[:8]...), append([]byte{0, 0x18, 0, 0, 0, 0, 0, 0}, desc[16:]...)...), "page size 0x1800"},
		{"entries cut", desc[:40], "cannot hold 2 mappings"},
		{"path missing", desc[:len(desc)-1], "1 paths for 2 mappings"},
		{"end before start", append(append(append([]byte{}, desc[:24]...), 0, 0, 0x3f), desc[27:]...), "is [0x400000, 0x3f0000)"},
	}
	for _, tc := range bad {
		_, err := parseNTFile(tc.desc)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: err = %v, want ErrCorrupt mentioning %q", tc.name, err, tc.want)
		}
	}

	long := append(append([]byte{}, desc[:16+24]...), 0) // one mapping
	long[0] = 1
	long = append(long[:len(long)-1], []byte(strings.Repeat("a", maxPathLen+1))...)
	if _, err := parseNTFile(long); err == nil || !strings.Contains(err.Error(), "longer than 4096") {
		t.Errorf("unterminated long path: err = %v", err)
	}
}

// prstatusBytes builds an NT_PRSTATUS descriptor by hand: pr_cursig at 12,
// pr_pid at 32, user_regs_struct at 112 (r15 … gs), pr_fpvalid at 328.
func prstatusBytes(tid uint32, cursig uint16, regs map[int]uint64) []byte {
	d := make([]byte, 336)
	d[12], d[13] = byte(cursig), byte(cursig>>8)
	d[32], d[33], d[34], d[35] = byte(tid), byte(tid>>8), byte(tid>>16), byte(tid>>24)
	for i, v := range regs {
		for k := 0; k < 8; k++ {
			d[112+8*i+k] = byte(v >> (8 * k))
		}
	}
	return d
}

func TestParsePRStatus(t *testing.T) {
	// Word indices of user_regs_struct, spelled out: r15 0, r14 1, r13 2,
	// r12 3, rbp 4, rbx 5, r11 6, r10 7, r9 8, r8 9, rax 10, rcx 11, rdx 12,
	// rsi 13, rdi 14, orig_rax 15, rip 16, cs 17, eflags 18, rsp 19, ss 20,
	// fs_base 21, gs_base 22, ds 23, es 24, fs 25, gs 26.
	regs := map[int]uint64{
		4: 0xb0, 7: 0x10, 8: 0x9, 9: 0x8, 12: 0xd, 13: 0x51, 14: 0xd1,
		16: 0x7f0000001234, 19: 0x7ffc00000000, 21: 0x7f0000aaaa00,
		10: uint64(0xfffffffffffffe00), // rax = -512 (-ERESTARTSYS)
		15: 202,                        // orig_rax = futex
	}
	ps, err := parsePRStatus(prstatusBytes(4242, 6, regs))
	if err != nil {
		t.Fatal(err)
	}
	if ps.tid != 4242 || ps.cursig != 6 {
		t.Errorf("tid %d cursig %d, want 4242 6", ps.tid, ps.cursig)
	}
	th := ps.thread()
	r := th.Regs
	if r.RIP != 0x7f0000001234 || r.RSP != 0x7ffc00000000 || r.RBP != 0xb0 || r.FSBase != 0x7f0000aaaa00 ||
		r.RAX != 0xfffffffffffffe00 || r.OrigRAX != 202 || r.RDI != 0xd1 || r.RSI != 0x51 || r.RDX != 0xd ||
		r.R10 != 0x10 || r.R8 != 0x8 || r.R9 != 0x9 {
		t.Errorf("regs = %+v", *r)
	}
	if !th.InSyscall || th.Syscall != 202 || th.Args != [6]uint64{0xd1, 0x51, 0xd, 0x10, 0x8, 0x9} {
		t.Errorf("thread = %+v, want in futex with rdi rsi rdx r10 r8 r9 as args", th)
	}
	if _, err := parsePRStatus(make([]byte, 327)); err == nil || !errors.Is(err, ErrCorrupt) {
		t.Errorf("short NT_PRSTATUS: err = %v", err)
	}
}

func TestInSyscall(t *testing.T) {
	neg := func(n int64) uint64 { return uint64(n) }
	cases := []struct {
		origRAX, rax uint64
		want         bool
	}{
		{202, neg(-512), true},      // ERESTARTSYS
		{230, neg(-513), true},      // ERESTARTNOINTR
		{230, neg(-514), true},      // ERESTARTNOHAND
		{230, neg(-516), true},      // ERESTART_RESTARTBLOCK
		{7, neg(-4), true},          // EINTR
		{0, neg(-38), true},         // ENOSYS: stopped at syscall entry (read)
		{62, 0, false},              // kill returned 0
		{202, neg(-11), false},      // EAGAIN: the call completed
		{neg(-1), neg(-512), false}, // not in a syscall at all
	}
	for _, c := range cases {
		if got := inSyscall(c.origRAX, c.rax); got != c.want {
			t.Errorf("inSyscall(orig_rax %d, rax %d) = %v, want %v", int64(c.origRAX), int64(c.rax), got, c.want)
		}
	}
	th := prstatus{tid: 1, regs: [27]uint64{regOrigRAX: 62, regRDI: 5}}.thread()
	if th.InSyscall || th.Syscall != -1 || th.Args != [6]uint64{} {
		t.Errorf("thread out of syscall = %+v, want Syscall -1 and no args", th)
	}
}

func TestParseSigInfo(t *testing.T) {
	segv := []byte{
		11, 0, 0, 0, // si_signo SIGSEGV
		0, 0, 0, 0, // si_errno
		1, 0, 0, 0, // si_code SEGV_MAPERR
		0, 0, 0, 0, // padding
		0x18, 0, 0, 0, 0, 0, 0, 0, // si_addr
	}
	si, err := parseSigInfo(append(segv, make([]byte, 128-len(segv))...))
	if err != nil {
		t.Fatal(err)
	}
	if si != (siginfo{signo: 11, code: 1, addr: 0x18}) {
		t.Errorf("SIGSEGV = %+v", si)
	}
	killed := []byte{
		11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // SIGSEGV, si_code SI_USER
		0x39, 0x30, 0, 0, 0, 0, 0, 0, // si_pid 12345, si_uid 0
	}
	if si, _ := parseSigInfo(killed); si.addr != 0 || si.code != 0 || si.sender != 12345 {
		t.Errorf("kill -SEGV = %+v, want no fault address, sender 12345", si)
	}
	abrt := []byte{6, 0, 0, 0, 0, 0, 0, 0, 0xfa, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	if si, _ := parseSigInfo(abrt); si != (siginfo{signo: 6, code: -6, sender: 0x04030201}) {
		t.Errorf("SIGABRT via tgkill = %+v, want code SI_TKILL (-6), sender 0x4030201", si)
	}
	if _, err := parseSigInfo(segv[:20]); err == nil || !errors.Is(err, ErrCorrupt) {
		t.Errorf("short NT_SIGINFO: err = %v", err)
	}
}

func TestParseAuxv(t *testing.T) {
	desc := []byte{
		6, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, // AT_PAGESZ 0x1000
		9, 0, 0, 0, 0, 0, 0, 0, 0x20, 0x10, 0x40, 0, 0, 0, 0, 0, // AT_ENTRY 0x401020
		9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // a repeated AT_ENTRY is ignored
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // AT_NULL
		31, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, // after AT_NULL: ignored
	}
	a, err := parseAuxv(desc)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 2 || a[atPagesz] != 0x1000 || a[atEntry] != 0x401020 {
		t.Errorf("auxv = %v", a)
	}
	if _, err := parseAuxv(desc[:20]); err == nil || !errors.Is(err, ErrCorrupt) {
		t.Errorf("auxv of 20 bytes: err = %v", err)
	}
}

func TestParsePRPSInfo(t *testing.T) {
	d := make([]byte, 136)
	d[24], d[25] = 0x92, 0x10 // pr_pid 4242
	copy(d[40:], "python3.11")
	copy(d[56:], "python3 -c import os ")
	ps, err := parsePRPSInfo(d)
	if err != nil {
		t.Fatal(err)
	}
	if ps.pid != 4242 || ps.fname != "python3.11" || ps.args != "python3 -c import os" {
		t.Errorf("prpsinfo = %+v", ps)
	}
	if _, err := parsePRPSInfo(d[:100]); err == nil {
		t.Error("short NT_PRPSINFO accepted")
	}
}
