package capture

import (
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/target"
)

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
	sysWritev      = 20
	sysOpen        = 2
	sysSendmsg     = 46
	sysSemop       = 65
	sysMsgsnd      = 69
	sysMsgrcv      = 70
	sysFcntl       = 72
	sysFlock       = 73
	sysSemtimedop  = 220
	sysOpenat      = 257
)

// fcntl commands that wait for a record lock (x86-64).
const (
	fSetlkw    = 7
	fOFDSetlkw = 38
)

var syscallNames = map[int]string{
	sysRead: "read", sysWrite: "write", sysPoll: "poll", sysSelect: "select", sysNanosleep: "nanosleep",
	sysPause: "pause", sysConnect: "connect", sysAccept: "accept", sysSendto: "sendto", sysRecvfrom: "recvfrom",
	sysRecvmsg: "recvmsg", sysWait4: "wait4", sysFutex: "futex", sysClockNanosl: "clock_nanosleep",
	sysEpollWait: "epoll_wait", sysWaitid: "waitid", sysPselect6: "pselect6", sysPpoll: "ppoll",
	sysEpollPwait: "epoll_pwait", sysAccept4: "accept4", sysEpollPwait2: "epoll_pwait2",
	sysPread64: "pread64", sysReadv: "readv", sysWritev: "writev", target.SysRestart: "restart_syscall",
	sysOpen: "open", sysSendmsg: "sendmsg", sysSemop: "semop", sysMsgsnd: "msgsnd", sysMsgrcv: "msgrcv",
	sysFcntl: "fcntl", sysFlock: "flock", sysSemtimedop: "semtimedop", sysOpenat: "openat",
}

// lockFD returns the descriptor a call that waits for a file lock locks:
// flock(), or fcntl() with F_SETLKW or F_OFD_SETLKW.
func lockFD(nr int, args [6]uint64) (int, bool) {
	switch {
	case args[0] >= 1<<20:
		return 0, false
	case nr == sysFlock, nr == sysFcntl && (args[1] == fSetlkw || args[1] == fOFDSetlkw):
		return int(args[0]), true
	}
	return 0, false
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
		sysEpollWait, sysEpollPwait, sysEpollPwait2, sysPpoll, sysPread64, sysReadv, sysWritev:
		return snapshot.StateIO
	}
	return snapshot.StateBlocked
}

// fdOf returns the file descriptor a one-descriptor I/O call waits on.
func fdOf(nr int, args [6]uint64) (int, bool) {
	if fd, ok := lockFD(nr, args); ok {
		return fd, true
	}
	switch nr {
	case sysRead, sysWrite, sysConnect, sysAccept, sysAccept4, sysSendto, sysRecvfrom, sysRecvmsg, sysPread64, sysReadv, sysWritev:
		if args[0] < 1<<20 {
			return int(args[0]), true
		}
	}
	return 0, false
}

// maxPollFDs bounds the descriptors read from a poll's or select's arguments.
const maxPollFDs = snapshot.MaxPollFDs

// fdSetSize is FD_SETSIZE: select() takes no descriptor at or above it.
const fdSetSize = 1024

// waitArgs reads what a poll, select or epoll wait waits on: the descriptors
// of a poll or select (from the pollfd array or fd_sets in the thread's
// memory, bounded), and whether the call has a timeout. ok is false for the
// other system calls.
func waitArgs(word func(uint64) (uint64, error), nr int, args [6]uint64) (fds []int, timed, ok bool) {
	switch nr {
	case sysPoll, sysPpoll:
		if nr == sysPoll {
			timed = int32(uint32(args[2])) >= 0
		} else {
			timed = args[2] != 0 // a NULL timespec waits forever
		}
		n := min(args[1], maxPollFDs)
		for i := uint64(0); i < n; i++ {
			w, err := word(args[0] + 8*i) // struct pollfd {int fd; short events, revents;}
			if err != nil {
				break
			}
			fd, events := int32(uint32(w)), uint16(w>>32)
			if fd >= 0 && events != 0 {
				fds = append(fds, int(fd))
			}
		}
		return fds, timed, true
	case sysSelect, sysPselect6:
		n := min(args[0], fdSetSize)
		for _, set := range []uint64{args[1], args[2]} {
			if set == 0 {
				continue
			}
			for i := uint64(0); i*64 < n && len(fds) < maxPollFDs; i++ {
				w, err := word(set + 8*i)
				if err != nil {
					break
				}
				for bit := uint64(0); bit < 64 && i*64+bit < n && len(fds) < maxPollFDs; bit++ {
					if w&(1<<bit) != 0 {
						fds = append(fds, int(i*64+bit))
					}
				}
			}
		}
		return fds, args[4] != 0, true
	case sysEpollWait, sysEpollPwait:
		return nil, int32(uint32(args[3])) >= 0, true
	case sysEpollPwait2:
		return nil, args[3] != 0, true
	}
	return nil, false, false
}
