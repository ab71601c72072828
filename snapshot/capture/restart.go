package capture

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Stopping a thread that sleeps in a timed wait (a futex with a timeout, poll,
// nanosleep) interrupts the wait; the kernel then resumes it through
// restart_syscall (219), so that the next look finds the thread there and not
// in the call it made. The registers still hold that call's arguments (the
// syscall entry leaves rdi, rsi, rdx, r10, r8, r9 alone), and its pc still
// follows the `syscall` instruction of the C library's wrapper. What remains
// is to know which call it was. Only four calls set up such a restart (kernel:
// futex_wait_restart, hrtimer_nanosleep_restart and the other nsleep
// restarts, do_restart_poll), and the evidence, best first:
//
//   - the kernel's own stack of the sleeping thread (live targets, read before
//     the thread was stopped): futex_wait_restart, do_restart_poll, …;
//   - the wrapper's code: `mov $nr,%eax` just before the `syscall` at pc-2
//     (glibc's inline syscalls). glibc 2.41+ routes cancellable calls through
//     one trampoline that takes the number in a register, so this is not
//     always there;
//   - the arguments, when they fit exactly one of the four calls.

// Evidence for the call a restart_syscall resumes, as the report names it.
const (
	restartByKernel = "kernel stack"
	restartBySite   = "call site"
	restartByArgs   = "arguments"
)

// restartable are the calls that set up a restart_syscall.
var restartable = map[int]bool{sysPoll: true, sysNanosleep: true, sysFutex: true, sysClockNanosl: true}

// Futex operations (linux/futex.h) that set up a restart: a wait with a timeout.
const (
	futexWait       = 0
	futexWaitBitset = 9
	futexCmdMask    = ^uint64(128 | 256) // FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME
)

// restarted works out the call a thread in restart_syscall resumes: its
// number and the evidence, or ok=false when nothing tells.
func restarted(t target.Target, kt *target.Thread, site *siteCache) (nr int, how string, ok bool) {
	if nr, ok := restartFromKernel(kt.KernelWait, kt.Args); ok {
		return nr, restartByKernel, true
	}
	if kt.Regs != nil {
		if nr, ok := site.nr(t, kt.Regs.RIP); ok && restartable[nr] && fitsCall(t, nr, kt.Args) {
			return nr, restartBySite, true
		}
	}
	var fit []int
	for _, nr := range []int{sysFutex, sysPoll, sysNanosleep, sysClockNanosl} {
		if fitsCall(t, nr, kt.Args) {
			fit = append(fit, nr)
		}
	}
	if len(fit) > 1 && slices.Contains(fit, sysClockNanosl) && slices.Contains(fit, sysPoll) {
		// clock_nanosleep(CLOCK_REALTIME, 0, req, rem) reads as poll(NULL,
		// 0, timeout) whenever req's low half is not negative: but a
		// timeout in milliseconds that is the address of mapped memory
		// is no poll's. Without this, which call a look named hung on a
		// bit of a stack address: two looks could disagree.
		fit = slices.DeleteFunc(fit, func(nr int) bool { return nr == sysPoll })
	}
	switch {
	case len(fit) == 1:
		return fit[0], restartByArgs, true
	case len(fit) > 1 && fit[0] == sysFutex && glibcTimedWait(kt.Args):
		// A poll's nfds and timeout can look like a futex's op and value;
		// its unused registers hardly hold the bitset glibc passes.
		return sysFutex, restartByArgs, true
	}
	return 0, "", false
}

// glibcTimedWait says whether args are those of glibc's timed futex waits
// (sem_clockwait, pthread_cond_timedwait, lll_timedlock):
// FUTEX_WAIT_BITSET with FUTEX_BITSET_MATCH_ANY.
func glibcTimedWait(args [6]uint64) bool {
	return args[1]&futexCmdMask == futexWaitBitset && args[5] == 0xffffffff
}

// restartFromKernel reads the kernel functions of a sleeping thread.
func restartFromKernel(fns []string, args [6]uint64) (int, bool) {
	for _, fn := range fns {
		switch {
		case fn == "futex_wait_restart":
			return sysFutex, true
		case fn == "do_restart_poll":
			return sysPoll, true
		case strings.HasSuffix(fn, "sleep_restart"): // hrtimer_nanosleep_, alarm_timer_nsleep_, posix_cpu_nsleep_
			return sleepCall(args), true
		}
	}
	// wchan alone names only the innermost function, not the restart.
	if len(fns) == 1 {
		switch fn := fns[0]; {
		case strings.HasPrefix(fn, "futex_"):
			return sysFutex, true
		case strings.HasPrefix(fn, "poll_schedule_timeout"), fn == "do_sys_poll":
			return sysPoll, true
		case strings.Contains(fn, "nanosleep"), strings.Contains(fn, "nsleep"):
			return sleepCall(args), true
		}
	}
	return 0, false
}

// sleepCall tells clock_nanosleep(clockid, flags, req, rem) from
// nanosleep(req, rem): a clock id is a small number, or a negative one (a
// CPU clock) in the register's low half, sign-extended or not; a request is
// a pointer, and a user-space pointer has neither upper half.
func sleepCall(args [6]uint64) int {
	upper, low := args[0]>>32, int32(uint32(args[0]))
	if args[0] < 16 || low < 0 && (upper == 0 || upper == 0xffffffff) {
		return sysClockNanosl
	}
	return sysNanosleep
}

// fitsCall says whether args can be those of a restartable call nr: the
// checks are on what the kernel requires for the restart to exist.
func fitsCall(t target.Target, nr int, args [6]uint64) bool {
	switch nr {
	case sysFutex: // futex(uaddr, op, val, timeout, uaddr2, val3)
		cmd := args[1] & futexCmdMask
		return (cmd == futexWait || cmd == futexWaitBitset && args[5] != 0) &&
			args[0]%4 == 0 && mapped(t, args[0], true) && args[3] != 0 && mapped(t, args[3], false)
	case sysPoll: // poll(fds, nfds, timeout): restarted only with a timeout >= 0
		return int32(uint32(args[2])) >= 0 && args[1] < 1<<20 && (args[0] == 0 && args[1] == 0 || mapped(t, args[0], false))
	case sysNanosleep: // nanosleep(req, rem)
		return mapped(t, args[0], false) && (args[1] == 0 || mapped(t, args[1], true))
	case sysClockNanosl: // clock_nanosleep(clockid, flags, req, rem)
		return sleepCall(args) == sysClockNanosl && args[1] <= 1 && mapped(t, args[2], false)
	}
	return false
}

// mapped says whether addr lies in a readable (and, if write, writable) mapping.
func mapped(t target.Target, addr uint64, write bool) bool {
	for _, m := range t.Mappings() {
		if addr >= m.Start && addr < m.End {
			return len(m.Perms) >= 2 && m.Perms[0] == 'r' && (!write || m.Perms[1] == 'w')
		}
	}
	return false
}

// siteCache decodes the system call number at call sites, each once.
type siteCache struct {
	byPC map[uint64]int // -1: no number there
}

// nr reads `mov $imm32,%eax; syscall` ending at pc from the file mapped
// there (code does not change; the file is the target's own, through its
// view of the file system or the core's mapped files).
func (c *siteCache) nr(t target.Target, pc uint64) (int, bool) {
	if c.byPC == nil {
		c.byPC = map[uint64]int{}
	}
	if n, ok := c.byPC[pc]; ok {
		return n, n >= 0
	}
	n := siteNr(t, pc)
	c.byPC[pc] = n
	return n, n >= 0
}

// siteLen is the length of `b8 imm32` (mov $imm32,%eax) and `0f 05` (syscall).
const siteLen = 7

func siteNr(t target.Target, pc uint64) int {
	if pc < siteLen {
		return -1
	}
	var code [siteLen + 1]byte // one byte more: a REX prefix would make it mov to r8d
	if !readCode(t, code[:], pc-siteLen-1) {
		return -1
	}
	if code[1] != 0xb8 || !bytes.Equal(code[6:], []byte{0x0f, 0x05}) || code[0]&0xf0 == 0x40 {
		return -1
	}
	nr := binary.LittleEndian.Uint32(code[2:6])
	if nr > 1024 {
		return -1
	}
	return int(nr)
}

// readCode reads executable code at addr from the file mapped there.
func readCode(t target.Target, p []byte, addr uint64) bool {
	for _, m := range t.Mappings() {
		if addr < m.Start || addr+uint64(len(p)) > m.End {
			continue
		}
		if len(m.Perms) < 3 || m.Perms[2] != 'x' || m.Path == "" || m.Path[0] != '/' {
			return false
		}
		f, err := t.OpenFile(m.Path)
		if err != nil {
			return false
		}
		defer f.Close()
		n, _ := f.ReadAt(p, int64(addr-m.Start+m.Offset))
		return n == len(p)
	}
	return false
}
