package live

import (
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

func TestParseMaps(t *testing.T) {
	in := `55d0c0000000-55d0c0001000 r--p 00000000 fd:01 131 /usr/bin/python3.12
7f0000000000-7f0000021000 rw-p 00000000 00:00 0 
7f1000000000-7f1000001000 r--s 00002000 00:2a 99                         /tmp/dir with spaces/mapped.bin (deleted)
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]
`
	got, err := parseMaps(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []target.Mapping{
		{Start: 0x55d0c0000000, End: 0x55d0c0001000, Perms: "r--p", Path: "/usr/bin/python3.12"},
		{Start: 0x7f0000000000, End: 0x7f0000021000, Perms: "rw-p"},
		{Start: 0x7f1000000000, End: 0x7f1000001000, Offset: 0x2000, Perms: "r--s", Path: "/tmp/dir with spaces/mapped.bin (deleted)"},
		{Start: 0x7ffd00000000, End: 0x7ffd00021000, Perms: "rw-p", Path: "[stack]"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d mappings, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mapping %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if p, del := TrimDeleted(got[2].Path); !del || p != "/tmp/dir with spaces/mapped.bin" {
		t.Errorf("TrimDeleted(%q) = %q, %v", got[2].Path, p, del)
	}
	if _, del := TrimDeleted(got[0].Path); del {
		t.Errorf("TrimDeleted(%q) says deleted", got[0].Path)
	}
}

func TestParseMapsErrors(t *testing.T) {
	for _, in := range []string{
		"zzzz-1000 r--p 0 00:00 0\n",
		"2000-1000 r--p 0 00:00 0\n",
		"1000-2000 r--p\n",
		"1000 r--p 0 00:00 0\n",
		"1000-2000 r--p xyz 00:00 0\n",
		strings.Repeat("x", maxMapsLine+1) + "\n",
	} {
		if _, err := parseMaps(strings.NewReader(in)); err == nil {
			t.Errorf("parseMaps(%.40q) succeeded", in)
		}
	}
}

func TestParseSyscallFile(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want syscallInfo
		bad  bool
	}{
		{in: "running\n", want: syscallInfo{Running: true}},
		{in: "-1 0x7ffd5c0e8f38 0x7f3c1a0b2f4d\n", want: syscallInfo{Nr: -1, SP: 0x7ffd5c0e8f38, PC: 0x7f3c1a0b2f4d}},
		{in: "202 0x55d0c1234560 0x189 0x0 0x0 0x0 0xffffffff 0x7f3c19fffd50 0x7f3c1a09c117\n", want: syscallInfo{
			InSyscall: true, Nr: 202, Args: [6]uint64{0x55d0c1234560, 0x189, 0, 0, 0, 0xffffffff},
			SP: 0x7f3c19fffd50, PC: 0x7f3c1a09c117}},
		{in: "", bad: true},
		{in: "202 0x1 0x2\n", bad: true},
		{in: "-1 0x1\n", bad: true},
		{in: "x 0x1 0x2\n", bad: true},
		{in: "-1 0xzz 0x2\n", bad: true},
	} {
		got, err := parseSyscallFile([]byte(tc.in))
		if tc.bad {
			if err == nil {
				t.Errorf("parseSyscallFile(%q) succeeded: %+v", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseSyscallFile(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseStatState(t *testing.T) {
	s, err := parseStatState([]byte("1234 (py) thon) S 1 1234 1234 0 -1"))
	if err != nil || s != "S" {
		t.Errorf("got %q, %v; want S", s, err)
	}
	for _, bad := range []string{"", "1234 (py", "1234 (py)"} {
		if s, err := parseStatState([]byte(bad)); err == nil {
			t.Errorf("parseStatState(%q) = %q, want an error", bad, s)
		}
	}
}

func TestSyscallFromRegs(t *testing.T) {
	neg := func(v int64) uint64 { return uint64(v) }
	args := [6]uint64{1, 2, 3, 4, 5, 6}
	regs := func(orig, rax uint64) *target.Regs {
		return &target.Regs{OrigRAX: orig, RAX: rax, RDI: 1, RSI: 2, RDX: 3, R10: 4, R8: 5, R9: 6}
	}
	for _, tc := range []struct {
		name      string
		r         *target.Regs
		in        bool
		nr        int
		wantsArgs bool
	}{
		{"futex restart", regs(202, neg(-512)), true, 202, true},
		{"nanosleep restartblock", regs(230, neg(-516)), true, 230, true},
		{"eintr", regs(7, neg(-4)), true, 7, true},
		{"entry stop", regs(0, neg(-38)), true, 0, true},
		{"user space", regs(neg(-1), 42), false, 0, false},
		{"syscall returned", regs(202, 0), false, 0, false},
		{"other error", regs(202, neg(-11)), false, 0, false},
	} {
		in, nr, a := syscallFromRegs(tc.r)
		want := [6]uint64{}
		if tc.wantsArgs {
			want = args
		}
		if in != tc.in || nr != tc.nr || a != want {
			t.Errorf("%s: got %v %d %v, want %v %d %v", tc.name, in, nr, a, tc.in, tc.nr, want)
		}
	}
}

func TestCutShortWrite(t *testing.T) {
	regs := func(orig, rax, length uint64) *target.Regs {
		return &target.Regs{OrigRAX: orig, RAX: rax, RDI: 5, RSI: 0x1000, RDX: length}
	}
	for _, tc := range []struct {
		name string
		r    *target.Regs
		cut  bool
	}{
		{"sendto cut short by the stop", regs(44, 212992, 50_000_000), true},
		{"write cut short", regs(1, 10, 4096), true},
		{"sendto that wrote it all", regs(44, 4096, 4096), false},
		{"sendto that failed", regs(44, ^uint64(10), 4096), false},
		{"read", regs(0, 10, 4096), false},
		{"user space", regs(^uint64(0), 10, 4096), false},
	} {
		var th target.Thread
		setSyscall(&th, tc.r)
		if th.CutShort != tc.cut || th.InSyscall != tc.cut || (tc.cut && th.Syscall != int(tc.r.OrigRAX)) {
			t.Errorf("%s: cut short %v, in syscall %v (%d), want %v", tc.name, th.CutShort, th.InSyscall, th.Syscall, tc.cut)
		}
	}
}

func TestParseKernelStack(t *testing.T) {
	in := "[<0>] futex_do_wait+0x46/0x90\n[<0>] __futex_wait+0x8a/0x100\n[<0>] futex_wait_restart+0x4f/0x90\n" +
		"garbage\n[<0>] entry_SYSCALL_64_after_hwframe+0x76/0x7e\n"
	got := parseKernelStack([]byte(in))
	want := []string{"futex_do_wait", "__futex_wait", "futex_wait_restart", "entry_SYSCALL_64_after_hwframe"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := parseKernelStack([]byte(strings.Repeat("[<0>] f+0x1/0x2\n", 1000))); len(got) != maxStackLines {
		t.Errorf("%d functions from a 1000-line stack, want the first %d", len(got), maxStackLines)
	}
}
