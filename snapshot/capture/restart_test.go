package capture

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pyhang/pyhang/snapshot/target"
)

// fakeTarget is a target with a few mappings, one of them a code file held in memory.
type fakeTarget struct {
	target.Target // unused methods panic
	maps          []target.Mapping
	files         map[string][]byte
}

func (f *fakeTarget) Mappings() []target.Mapping { return f.maps }

func (f *fakeTarget) OpenFile(path string) (target.File, error) {
	b, ok := f.files[path]
	if !ok {
		return nil, errors.New("no such file")
	}
	return memFile{bytes.NewReader(b), path}, nil
}

type memFile struct {
	*bytes.Reader
	name string
}

func (m memFile) Close() error { return nil }
func (m memFile) Name() string { return m.name }

const (
	fakeText  = 0x7f0000001000 // libc's text, file offset 0x1000
	fakeStack = 0x7ffd00000000
	fakeHeap  = 0x5500000000
	fakeRO    = 0x7f0000100000
)

func newFakeTarget(code []byte) *fakeTarget {
	file := make([]byte, 0x2000)
	copy(file[0x1000:], code)
	return &fakeTarget{
		maps: []target.Mapping{
			{Start: fakeText, End: fakeText + 0x1000, Offset: 0x1000, Perms: "r-xp", Path: "/lib/libc.so.6"},
			{Start: fakeStack, End: fakeStack + 0x21000, Perms: "rw-p", Path: "[stack]"},
			{Start: fakeHeap, End: fakeHeap + 0x100000, Perms: "rw-p", Path: "[heap]"},
			{Start: fakeRO, End: fakeRO + 0x1000, Perms: "r--p", Path: "/lib/libc.so.6"},
		},
		files: map[string][]byte{"/lib/libc.so.6": file},
	}
}

// Arguments as glibc 2.36's sem_clockwait, 2.43's trampoline, poll and clock_nanosleep
// leave them at a restart.
var (
	futexArgs = [6]uint64{fakeHeap + 0x1b0, 0x89, 0, fakeStack + 0x100, 0, 0xffffffff}
	pollArgs  = [6]uint64{fakeHeap + 0x2c0, 1, 3600000, 1, 0, 0}
	sleepArgs = [6]uint64{1, 0, fakeStack + 0x200, fakeStack + 0x210, 0, 0}
)

func TestRestartedFromKernel(t *testing.T) {
	tg := newFakeTarget(nil)
	cases := []struct {
		wait []string
		args [6]uint64
		want int
	}{
		{[]string{"futex_do_wait", "__futex_wait", "futex_wait", "futex_wait_restart", "do_syscall_64"}, futexArgs, sysFutex},
		{[]string{"poll_schedule_timeout.constprop.0", "do_sys_poll", "do_restart_poll"}, pollArgs, sysPoll},
		{[]string{"do_nanosleep", "hrtimer_nanosleep_restart"}, sleepArgs, sysClockNanosl},
		{[]string{"do_nanosleep", "hrtimer_nanosleep_restart"}, [6]uint64{fakeStack + 0x200, 0}, sysNanosleep},
		{[]string{"do_nanosleep", "posix_cpu_nsleep_restart"}, [6]uint64{0xfffffffffffffffa, 0, fakeStack + 0x200}, sysClockNanosl},
		{[]string{"do_nanosleep", "posix_cpu_nsleep_restart"}, [6]uint64{0xfffffffa, 0, fakeStack + 0x200}, sysClockNanosl},
		{[]string{"futex_wait_queue_me"}, futexArgs, sysFutex}, // wchan only
		{[]string{"poll_schedule_timeout.constprop.0"}, pollArgs, sysPoll},
	}
	for _, tc := range cases {
		kt := &target.Thread{InSyscall: true, Syscall: target.SysRestart, Args: tc.args, KernelWait: tc.wait}
		nr, how, ok := restarted(tg, kt, &siteCache{})
		if !ok || nr != tc.want || how != restartByKernel {
			t.Errorf("%v: got %d %q %v, want %d by %q", tc.wait, nr, how, ok, tc.want, restartByKernel)
		}
	}
}

func TestRestartedFromSite(t *testing.T) {
	// glibc 2.36's futex wait: mov $0xffffffff,%r9d; xor %r8d,%r8d; mov $0xca,%eax; syscall
	futexSite := []byte{0x41, 0xb9, 0xff, 0xff, 0xff, 0xff, 0x45, 0x31, 0xc0, 0xb8, 0xca, 0, 0, 0, 0x0f, 0x05, 0x89, 0xdf}
	// mov %r8,%rdi; mov $0x7,%r8d; syscall: the immediate goes to r8d, not eax.
	r8Site := []byte{0x4c, 0x89, 0xc7, 0x41, 0xb8, 0x07, 0, 0, 0, 0x0f, 0x05, 0xc3}
	cases := []struct {
		name string
		code []byte
		pc   uint64 // offset of the instruction after syscall
		args [6]uint64
		want int
		how  string
	}{
		{"mov $202,%eax; syscall", futexSite, 16, futexArgs, sysFutex, restartBySite},
		{"mov to r8d is not the number", r8Site, 11, pollArgs, sysPoll, restartByArgs},
		{"no syscall before pc", futexSite, 18, pollArgs, sysPoll, restartByArgs},
		{"the site's call does not fit the arguments", futexSite, 16, pollArgs, sysPoll, restartByArgs},
	}
	for _, tc := range cases {
		tg := newFakeTarget(tc.code)
		kt := &target.Thread{InSyscall: true, Syscall: target.SysRestart, Args: tc.args,
			Regs: &target.Regs{RIP: fakeText + tc.pc}}
		nr, how, ok := restarted(tg, kt, &siteCache{})
		if !ok || nr != tc.want || how != tc.how {
			t.Errorf("%s: got %d by %q (%v), want %d by %q", tc.name, nr, how, ok, tc.want, tc.how)
		}
	}
}

func TestRestartedFromArguments(t *testing.T) {
	tg := newFakeTarget(nil)
	cases := []struct {
		name string
		args [6]uint64
		want int // 0: unknown
	}{
		{"glibc timed futex wait (poll fits too)", futexArgs, sysFutex},
		{"FUTEX_WAIT with a relative timeout looks like poll(fds, 128, 0)", [6]uint64{fakeHeap + 0x10, 0x80, 0, fakeStack + 0x80, 0, 0}, 0},
		{"FUTEX_WAIT, a value no poll timeout has", [6]uint64{fakeHeap + 0x10, 0x80, 0xfffffffe, fakeStack + 0x80, 0, 0}, sysFutex},
		{"poll", pollArgs, sysPoll},
		{"clock_nanosleep", sleepArgs, sysClockNanosl},
		{"clock_nanosleep(CLOCK_REALTIME, 0, …) reads as poll(NULL, 0, timeout) too", [6]uint64{0, 0, fakeStack + 0x200, fakeStack + 0x210, 0, 0}, sysClockNanosl},
		{"futex word not writable", [6]uint64{fakeRO + 0x10, 0x89, 0, fakeStack + 0x100, 0, 0xffffffff}, sysPoll},
		{"futex without a timeout is not restarted", [6]uint64{fakeHeap + 0x1b0, 0x89, 0, 0, 0, 0xffffffff}, sysPoll},
		{"unmapped pointers", [6]uint64{0x1000, 0x89, 1 << 40, 0x2000, 0, 0}, 0},
		{"poll with a negative timeout restarts poll itself", [6]uint64{fakeHeap, 1, 0xffffffff, 0, 0, 0}, 0},
	}
	for _, tc := range cases {
		kt := &target.Thread{InSyscall: true, Syscall: target.SysRestart, Args: tc.args}
		nr, how, ok := restarted(tg, kt, &siteCache{})
		switch {
		case tc.want == 0 && ok:
			t.Errorf("%s: got %d by %q, want unknown", tc.name, nr, how)
		case tc.want != 0 && (!ok || nr != tc.want || how != restartByArgs):
			t.Errorf("%s: got %d by %q (%v), want %d by arguments", tc.name, nr, how, ok, tc.want)
		}
	}
}
