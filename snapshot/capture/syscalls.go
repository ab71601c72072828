package capture

import "github.com/pyhang/pyhang/snapshot"

// x86-64 system call numbers a blocked Python thread is commonly found in.
const (
	sysRead        = 0
	sysWrite       = 1
	sysPoll        = 7
	sysSelect      = 23
	sysNanosleep   = 35
	sysPause       = 34
	sysConnect     = 42
	sysAccept      = 43
	sysSendto      = 44
	sysRecvfrom    = 45
	sysRecvmsg     = 47
	sysWait4       = 61
	sysFutex       = 202
	sysClockNanosl = 230
	sysEpollWait   = 232
	sysWaitid      = 247
	sysPselect6    = 270
	sysPpoll       = 271
	sysEpollPwait  = 281
	sysAccept4     = 288
	sysEpollPwait2 = 441
	sysPread64     = 17
	sysReadv       = 19
)

var syscallNames = map[int]string{
	sysRead: "read", sysWrite: "write", sysPoll: "poll", sysSelect: "select", sysNanosleep: "nanosleep",
	sysPause: "pause", sysConnect: "connect", sysAccept: "accept", sysSendto: "sendto", sysRecvfrom: "recvfrom",
	sysRecvmsg: "recvmsg", sysWait4: "wait4", sysFutex: "futex", sysClockNanosl: "clock_nanosleep",
	sysEpollWait: "epoll_wait", sysWaitid: "waitid", sysPselect6: "pselect6", sysPpoll: "ppoll",
	sysEpollPwait: "epoll_pwait", sysAccept4: "accept4", sysEpollPwait2: "epoll_pwait2",
	sysPread64: "pread64", sysReadv: "readv",
}

// syscallName names a system call, or "" when pyhang does not know it.
func syscallName(nr int) string { return syscallNames[nr] }

// stateOf classifies a thread sitting in system call nr with arguments args.
func stateOf(nr int, args [6]uint64) string {
	switch nr {
	case sysFutex, sysWait4, sysWaitid, sysPause:
		return snapshot.StateBlocked
	case sysNanosleep, sysClockNanosl:
		return snapshot.StateSleeping
	case sysSelect, sysPselect6:
		if args[0] == 0 { // select(0, …, timeout): time.sleep on 3.8–3.10
			return snapshot.StateSleeping
		}
		return snapshot.StateIO
	case sysRead, sysWrite, sysPoll, sysConnect, sysAccept, sysAccept4, sysSendto, sysRecvfrom, sysRecvmsg,
		sysEpollWait, sysEpollPwait, sysEpollPwait2, sysPpoll, sysPread64, sysReadv:
		return snapshot.StateIO
	}
	return snapshot.StateBlocked
}

// fdOf returns the file descriptor a one-descriptor I/O call waits on.
func fdOf(nr int, args [6]uint64) (int, bool) {
	switch nr {
	case sysRead, sysWrite, sysConnect, sysAccept, sysAccept4, sysSendto, sysRecvfrom, sysRecvmsg, sysPread64, sysReadv:
		if args[0] < 1<<20 {
			return int(args[0]), true
		}
	}
	return 0, false
}
