package capture

// More x86-64 system calls that wait with a timeout.
const (
	sysRtSigtimedwait = 128
	sysRestartSyscall = 219
)

// TimedWait says whether a thread sitting in system call nr with arguments
// args waits with a timeout, so that the wait ends by itself: a sleep, a
// futex, poll, select or epoll wait given a timeout, or the restart of one
// (restart_syscall resumes only calls that have a timeout).
func TimedWait(nr int, args [6]uint64) bool {
	switch nr {
	case sysNanosleep, sysClockNanosl, sysRestartSyscall:
		return true
	case sysFutex:
		return args[3] != 0 // futex(uaddr, op, val, timeout, …)
	case sysSelect, sysPselect6:
		return args[4] != 0 // select(n, r, w, x, timeout)
	case sysPoll, sysEpollWait, sysEpollPwait:
		return int32(uint32(args[2+boolInt(nr != sysPoll)])) >= 0 // poll(fds, n, ms); epoll_wait(fd, ev, n, ms)
	case sysPpoll:
		return args[2] != 0 // ppoll(fds, n, tsp, …)
	case sysEpollPwait2:
		return args[3] != 0 // epoll_pwait2(fd, ev, n, tsp, …)
	case sysRtSigtimedwait:
		return args[2] != 0 // rt_sigtimedwait(set, info, timeout, …)
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
