package capture

import "testing"

func TestTimedWait(t *testing.T) {
	neg := uint64(0xffffffff) // an int -1 in a 64-bit register (poll's "no timeout")
	for _, c := range []struct {
		name string
		nr   int
		args [6]uint64
		want bool
	}{
		{"futex without timeout", sysFutex, [6]uint64{0x1000, 0x189, 0, 0}, false},
		{"futex with timeout", sysFutex, [6]uint64{0x1000, 0x189, 0, 0x7ffe0000}, true},
		{"nanosleep", sysNanosleep, [6]uint64{0x7ffe0000}, true},
		{"clock_nanosleep", sysClockNanosl, [6]uint64{1, 0, 0x7ffe0000}, true},
		{"restart_syscall", sysRestartSyscall, [6]uint64{}, true},
		{"select without timeout", sysSelect, [6]uint64{4, 0x10, 0, 0, 0}, false},
		{"select with timeout", sysSelect, [6]uint64{4, 0x10, 0, 0, 0x7ffe0000}, true},
		{"poll forever", sysPoll, [6]uint64{0x10, 1, neg}, false},
		{"poll 100 ms", sysPoll, [6]uint64{0x10, 1, 100}, true},
		{"poll 0 ms", sysPoll, [6]uint64{0x10, 1, 0}, true},
		{"epoll_wait forever", sysEpollWait, [6]uint64{3, 0x10, 64, neg}, false},
		{"epoll_wait 5 ms", sysEpollWait, [6]uint64{3, 0x10, 64, 5}, true},
		{"ppoll without timeout", sysPpoll, [6]uint64{0x10, 1, 0}, false},
		{"epoll_pwait2 with timeout", sysEpollPwait2, [6]uint64{3, 0x10, 64, 0x7ffe0000}, true},
		{"read", sysRead, [6]uint64{0, 0x10, 100}, false},
		{"wait4", sysWait4, [6]uint64{^uint64(0)}, false},
	} {
		if got := TimedWait(c.nr, c.args); got != c.want {
			t.Errorf("%s: TimedWait = %v, want %v", c.name, got, c.want)
		}
	}
}
