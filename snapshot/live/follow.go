//go:build linux && amd64

package live

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/target"
)

// A Follower traces processes for as long as they run (pyhang run, pyhang
// watch): every thread is seized with PTRACE_SEIZE, so that nothing stops and
// a fatal signal shows as a stop before it kills the process. Followed
// processes run freely; the Follower stops one only when asked (Stop), or
// when a thread is about to die of a signal (a FollowEvent of kind Crash).
//
// One goroutine, locked to its OS thread, makes every ptrace request and
// every wait for the followed processes: the kernel ties a tracee to the
// thread that traces it, and two waits in one process race for each other's
// stops. Nothing else in pyhang may wait for a followed process.
type Follower struct {
	opts FollowOptions
	pid  int // the first process followed

	work   chan func()
	quit   chan struct{}
	exited chan struct{}
	sigchl chan os.Signal

	mu     sync.Mutex
	events []FollowEvent
	notify chan struct{} // a token when events were added

	// Owned by the loop goroutine.
	threads map[int]*fthread
	procs   map[int]*fproc
	ptOpts  int
}

// fthread is what the loop knows of one traced thread.
type fthread struct {
	tid, pid  int
	stopped   bool // in a ptrace-stop the loop holds
	groupStop bool // that stop is a group-stop (resume with PTRACE_LISTEN)
	sig       int  // signal to hand back when it runs again
	crash     *target.SigInfo
	fault     *target.SigInfo // last fault signal the kernel raised in it
	regs      *target.Regs
}

// fproc is one followed process (a thread group).
type fproc struct {
	pid     int
	holding bool // stopped on request: keep its threads stopped
	start   time.Time
	end     time.Time
	dog     *time.Timer
	byDog   bool
}

// followPoll bounds how long a stop goes unnoticed if a SIGCHLD is lost.
const followPoll = 50 * time.Millisecond

func newFollower(opts FollowOptions) *Follower {
	f := &Follower{
		opts:    opts,
		work:    make(chan func()),
		quit:    make(chan struct{}),
		exited:  make(chan struct{}),
		sigchl:  make(chan os.Signal, 1),
		notify:  make(chan struct{}, 1),
		threads: map[int]*fthread{},
		procs:   map[int]*fproc{},
		ptOpts:  unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC,
	}
	if opts.Children {
		f.ptOpts |= unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK
	}
	signal.Notify(f.sigchl, unix.SIGCHLD)
	ready := make(chan struct{})
	go f.loop(ready)
	<-ready
	return f
}

// loop serves requests and reaps stops on one locked thread until Close. It
// never unlocks the thread: when it returns the thread ends, and the kernel
// detaches whatever tracee is left (see tracer.loop).
func (f *Follower) loop(ready chan struct{}) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		moved := make(chan struct{})
		go f.loop(moved)
		<-moved
		close(ready)
		runtime.UnlockOSThread()
		return
	}
	close(ready)
	defer close(f.exited)
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		select {
		case fn := <-f.work:
			fn()
		case <-f.sigchl:
			f.reapAll()
		case <-tick.C:
			f.reapAll()
		case <-f.quit:
			signal.Stop(f.sigchl)
			return
		}
	}
}

// do runs fn on the loop's thread and waits for it.
func (f *Follower) do(fn func()) error {
	done := make(chan struct{})
	select {
	case f.work <- func() { defer close(done); fn() }:
	case <-f.exited:
		return errors.New("the follower has ended")
	}
	<-done
	return nil
}

// StartFollowed starts argv[0] with argv and attr (as os.StartProcess) and
// follows it from its first milliseconds: it is seized right after the
// program was executed, before an interpreter could start a thread.
func StartFollowed(argv []string, attr *os.ProcAttr, opts FollowOptions) (*Follower, error) {
	f := newFollower(opts)
	var err error
	f.do(func() {
		var p *os.Process
		p, err = os.StartProcess(argv[0], argv, attr)
		if err != nil {
			return
		}
		f.pid = p.Pid
		p.Release() // the loop, not os.Process, waits for it
		if err = f.seizeProcess(f.pid); err == nil {
			return
		}
		if s := readState(f.pid, f.pid); s == "Z" || s == "" {
			// It ended already: the loop reaps it and reports how.
			f.procs[f.pid], err = &fproc{pid: f.pid}, nil
			return
		}
		// A program pyhang cannot follow must not run on unwatched.
		unix.Kill(f.pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(f.pid, &ws, 0, nil)
		err = (&Process{pid: f.pid}).attachError(err)
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Follow seizes every thread of the running process pid.
func Follow(pid int, opts FollowOptions) (*Follower, error) {
	p := &Process{pid: pid, mem: &memory{pid: pid}}
	if err := p.resolve(); err != nil {
		return nil, err
	}
	f := newFollower(opts)
	var err error
	f.do(func() {
		f.pid = p.pid
		err = f.seizeProcess(p.pid)
	})
	if err != nil {
		f.Close()
		return nil, (&Process{pid: p.pid}).attachError(err)
	}
	return f, nil
}

// seizeProcess seizes every thread of pid, listing its threads again until
// no new one appears (a thread seized with PTRACE_O_TRACECLONE brings its
// new threads along). Runs on the loop.
func (f *Follower) seizeProcess(pid int) error {
	f.procs[pid] = &fproc{pid: pid}
	for round := 0; round < maxListRounds; round++ {
		tids, err := listTasks(pid)
		if err != nil {
			if round == 0 {
				delete(f.procs, pid)
				return err
			}
			return nil
		}
		fresh := 0
		for _, tid := range tids {
			if _, ok := f.threads[tid]; ok {
				continue
			}
			if err := ptraceSeize(tid, f.ptOpts); err != nil {
				if errors.Is(err, unix.ESRCH) {
					continue
				}
				if round == 0 && len(f.threads) == 0 {
					delete(f.procs, pid)
					return &seizeError{tid, err}
				}
				continue
			}
			f.threads[tid] = &fthread{tid: tid, pid: pid}
			fresh++
		}
		if fresh == 0 {
			return nil
		}
	}
	return nil
}

// PID is the first process followed (the one started, or the one named).
func (f *Follower) PID() int { return f.pid }

// Next waits for the next event, or until timeout; false on timeout.
func (f *Follower) Next(timeout time.Duration) (FollowEvent, bool) {
	deadline := time.Now().Add(timeout)
	for {
		f.mu.Lock()
		if len(f.events) > 0 {
			ev := f.events[0]
			f.events = f.events[1:]
			f.mu.Unlock()
			return ev, true
		}
		f.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return FollowEvent{}, false
		}
		select {
		case <-f.notify:
		case <-time.After(left):
		}
	}
}

func (f *Follower) emit(ev FollowEvent) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
	select {
	case f.notify <- struct{}{}:
	default:
	}
}

// Close ends the loop; the kernel then detaches every tracee left, and they
// run on. Call Detach first to let them go in order.
func (f *Follower) Close() {
	select {
	case <-f.exited:
		return
	default:
	}
	select {
	case f.quit <- struct{}{}:
	case <-f.exited:
	}
	<-f.exited
}

// ptraceSeize is PTRACE_SEIZE with options (x/sys/unix passes none).
func ptraceSeize(tid, opts int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, uintptr(opts), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// ptraceListen keeps a tracee in its group-stop while letting the tracer
// hear of the SIGCONT that ends it.
func ptraceListen(tid int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
