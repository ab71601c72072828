//go:build linux && amd64

package live

import (
	"errors"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/target"
)

// maxReap bounds the wait statuses taken in one go, so that requests are
// served between them.
const maxReap = 4096

// reapAll takes every pending wait status of the followed threads and acts
// on it. Runs on the loop. It waits for any child (-1): the processes pyhang
// starts while it follows some are the followed ones only.
func (f *Follower) reapAll() {
	for range maxReap {
		var ws unix.WaitStatus
		tid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || tid <= 0 {
			return // ECHILD: nothing followed is left
		}
		f.handle(tid, ws)
	}
}

// handle acts on one wait status of thread tid.
func (f *Follower) handle(tid int, ws unix.WaitStatus) {
	th := f.threads[tid]
	if th == nil {
		th = f.adopt(tid)
	}
	switch {
	case ws.Exited() || ws.Signaled():
		f.threadExited(th, ws)
	case ws.Stopped():
		f.stopped(th, ws)
	}
}

// adopt registers a thread whose first stop arrived before the event that
// announced it (a new thread or a new child process).
func (f *Follower) adopt(tid int) *fthread {
	pid := tid
	if tgid, err := statusInt(tid, "Tgid"); err == nil {
		pid = tgid
	}
	th := &fthread{tid: tid, pid: pid}
	f.threads[tid] = th
	f.newProc(pid)
	return th
}

// newProc registers process pid if it is new, and says so.
func (f *Follower) newProc(pid int) {
	if _, ok := f.procs[pid]; ok {
		return
	}
	f.procs[pid] = &fproc{pid: pid}
	f.emit(FollowEvent{Kind: Started, PID: pid, TID: pid})
}

func (f *Follower) threadExited(th *fthread, ws unix.WaitStatus) {
	delete(f.threads, th.tid)
	if th.tid != th.pid {
		return
	}
	// The leader's status comes once every thread of the group is gone:
	// the process has ended.
	for tid, o := range f.threads {
		if o.pid == th.pid {
			delete(f.threads, tid)
		}
	}
	p := f.procs[th.pid]
	delete(f.procs, th.pid)
	if p != nil && p.dog != nil {
		p.dog.Stop()
	}
	ev := FollowEvent{Kind: Exited, PID: th.pid, TID: th.tid}
	if ws.Exited() {
		ev.ExitCode = ws.ExitStatus()
	} else {
		ev.Signal, ev.Core = int(ws.Signal()), ws.CoreDump()
	}
	f.emit(ev)
}

// stopped acts on a ptrace-stop: an event, a group-stop or an interrupt, or
// a signal about to be delivered.
func (f *Follower) stopped(th *fthread, ws unix.WaitStatus) {
	sig := int(ws.StopSignal())
	p := f.procs[th.pid]
	holding := p != nil && p.holding
	switch uint32(ws) >> 16 {
	case unix.PTRACE_EVENT_CLONE, unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK:
		if msg, err := unix.PtraceGetEventMsg(th.tid); err == nil && msg > 0 {
			child := int(msg)
			if _, known := f.threads[child]; !known {
				pid := th.pid
				if uint32(ws)>>16 != unix.PTRACE_EVENT_CLONE {
					pid = child
				} else if tgid, err := statusInt(child, "Tgid"); err == nil {
					pid = tgid // clone without CLONE_THREAD is a process
				}
				f.threads[child] = &fthread{tid: child, pid: pid}
				f.newProc(pid)
			}
		}
		f.resumeOrHold(th, holding, 0)
	case unix.PTRACE_EVENT_EXEC:
		// The other threads are gone; a non-leader that executed took the
		// leader's tid, which is the one reporting here.
		for tid, o := range f.threads {
			if o.pid == th.pid && tid != th.tid {
				delete(f.threads, tid)
			}
		}
		f.emit(FollowEvent{Kind: Execed, PID: th.pid, TID: th.tid})
		f.resumeOrHold(th, holding, 0)
	case unix.PTRACE_EVENT_STOP:
		switch sig {
		case int(unix.SIGSTOP), int(unix.SIGTSTP), int(unix.SIGTTIN), int(unix.SIGTTOU):
			// A group-stop (job control): it stays stopped until SIGCONT.
			th.stopped, th.groupStop = true, true
			if !holding {
				f.listen(th)
			}
		default:
			// Our interrupt, a new thread's first stop, or the end of a
			// group-stop.
			f.resumeOrHold(th, holding, 0)
		}
	case 0:
		f.signalStop(th, sig, holding)
	default:
		f.resumeOrHold(th, holding, 0)
	}
}

// signalStop acts on a signal about to be delivered to th.
func (f *Follower) signalStop(th *fthread, sig int, holding bool) {
	si, siErr := getSigInfo(th.tid)
	if siErr == nil && si.Code > 0 && isFaultSignal(sig) {
		th.fault = si
	}
	if siErr == nil && fatal(th.pid, th.tid, sig, si) {
		th.stopped, th.crash, th.sig = true, si, sig
		ev := FollowEvent{Kind: Crash, PID: th.pid, TID: th.tid, Sig: si}
		if th.fault != nil && th.fault != si && th.fault.Signo == sig && si.Code <= 0 {
			ev.Fault = th.fault
		}
		f.emit(ev)
		return
	}
	f.resumeOrHold(th, holding, sig)
}

// resumeOrHold lets th run on with sig, or keeps it stopped (to hand sig
// back later) while its process is held.
func (f *Follower) resumeOrHold(th *fthread, holding bool, sig int) {
	th.stopped, th.groupStop = true, false
	th.sig = sig
	if holding {
		return
	}
	f.cont(th)
}

// cont resumes a stopped thread with its pending signal.
func (f *Follower) cont(th *fthread) {
	if !th.stopped {
		return
	}
	var err error
	if th.groupStop {
		err = ptraceListen(th.tid)
	} else {
		err = unix.PtraceCont(th.tid, th.sig)
	}
	if err == nil || errors.Is(err, unix.ESRCH) {
		th.stopped, th.sig, th.regs = false, 0, nil
	}
}

func (f *Follower) listen(th *fthread) {
	if err := ptraceListen(th.tid); err == nil || errors.Is(err, unix.ESRCH) {
		th.stopped = false
	}
}

// getSigInfo reads the siginfo of a thread in a signal-delivery-stop.
func getSigInfo(tid int) (*target.SigInfo, error) {
	var b [128]byte
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(&b[0])), 0, 0)
	if e != 0 {
		return nil, e
	}
	le := func(off int) uint32 {
		return uint32(b[off]) | uint32(b[off+1])<<8 | uint32(b[off+2])<<16 | uint32(b[off+3])<<24
	}
	si := &target.SigInfo{Signo: int(int32(le(0))), Errno: int(int32(le(4))), Code: int(int32(le(8))), TID: tid}
	if isFaultSignal(si.Signo) && si.Code > 0 {
		si.Addr = uint64(le(16)) | uint64(le(20))<<32
	}
	// kill() (SI_USER), sigqueue() (SI_QUEUE) and tgkill() (SI_TKILL) carry
	// the sender's pid where a fault carries its address.
	if si.Code == 0 || si.Code == -1 || si.Code == -6 {
		if pid := int(int32(le(16))); pid > 0 {
			si.Sender = pid
		}
	}
	return si, nil
}

func isFaultSignal(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP:
		return true
	}
	return false
}

// coreSignals are the signals whose default action ends the process with a
// core dump: a crash.
var coreSignals = map[unix.Signal]bool{
	unix.SIGQUIT: true, unix.SIGILL: true, unix.SIGTRAP: true, unix.SIGABRT: true, unix.SIGBUS: true,
	unix.SIGFPE: true, unix.SIGSEGV: true, unix.SIGXCPU: true, unix.SIGXFSZ: true, unix.SIGSYS: true,
}

// fatal says whether delivering sig (with siginfo si) to thread tid of pid
// ends the process with a core: its default action dumps core, and the
// program has no handler for it — or the kernel raised it as a fault while
// it was blocked or ignored, which makes the kernel force the default.
func fatal(pid, tid, sig int, si *target.SigInfo) bool {
	if !coreSignals[unix.Signal(sig)] {
		return false
	}
	bit := uint64(1) << (sig - 1)
	caught, err1 := sigMask(pid, pid, "SigCgt")
	ignored, err2 := sigMask(pid, pid, "SigIgn")
	if err1 != nil || err2 != nil {
		return false
	}
	if caught&bit == 0 && ignored&bit == 0 {
		return true
	}
	if si.Code > 0 && isFaultSignal(sig) {
		blocked, err := sigMask(pid, tid, "SigBlk")
		return err == nil && (blocked&bit != 0 || ignored&bit != 0)
	}
	return false
}

// sigMask reads a signal mask of /proc/PID/task/TID/status.
func sigMask(pid, tid int, field string) (uint64, error) {
	v, err := statusField(tid, field)
	if tid != pid {
		v, err = taskStatusField(pid, tid, field)
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
}

func taskStatusField(pid, tid int, name string) (string, error) {
	b, err := readLimited(procPath(pid, "task", strconv.Itoa(tid), "status"), 16<<10)
	if err != nil {
		return "", err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("no " + name)
}
