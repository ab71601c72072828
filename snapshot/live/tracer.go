//go:build linux && amd64

package live

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/target"
)

// maxListRounds bounds the re-listing of /proc/PID/task: a thread created
// after a listing but before its creator stopped shows up in the next one,
// and once every listed thread is stopped no new one can appear.
const maxListRounds = 16

// spinWait is how long waitStops polls without sleeping.
const spinWait = time.Millisecond

// tracedThread is what the tracer knows of one thread. It is owned by the
// tracer goroutine; Attach reads it only after that goroutine handed it over.
type tracedThread struct {
	tid         int
	state       string // /proc state letter read before the thread was interrupted
	comm        string // the thread's name, read with state
	seized      bool
	interrupted bool // sent its PTRACE_INTERRUPT
	stopped     bool
	gone        bool // exited during the attach
	sig         int  // signal to hand back on detach (the thread stopped delivering it)
	regs        *target.Regs
	note        string // why there are no registers
}

// tracer owns every ptrace request for one process, made from one locked OS
// thread: the kernel ties a tracee to the tracing thread, so a request from
// any other thread would fail with ESRCH.
type tracer struct {
	pid      int
	maxPause time.Duration

	work   chan func() (quit bool)
	exited chan struct{}
	abort  atomic.Bool // set by release: stop waiting, the target must run

	relOnce sync.Once
	sigOnce sync.Once  // releaseOnSignal
	mu      sync.Mutex // guards the fields below
	start   time.Time  // first PTRACE_INTERRUPT
	end     time.Time  // last PTRACE_DETACH returned
	by      string     // what released the target
	dog     *time.Timer
	detErr  error

	// Owned by the tracer goroutine.
	tid     int // its thread
	listed  int // listings of /proc/PID/task that seized threads
	threads map[int]*tracedThread
	order   []*tracedThread
	known   map[int]stateComm // read before the first listing (Process.Seize)
}

// stateComm is a thread's state letter and name, as its stat line gave them.
type stateComm struct{ state, comm string }

func startTracer(pid int, maxPause time.Duration) *tracer {
	t := &tracer{
		pid:      pid,
		maxPause: maxPause,
		work:     make(chan func() bool),
		exited:   make(chan struct{}),
		threads:  map[int]*tracedThread{},
		known:    map[int]stateComm{},
	}
	go t.loop(nil)
	return t
}

// loop serves the tracer's requests on a thread of its own. It is deliberately
// never unlocked from that thread: when loop returns, the Go runtime ends the
// thread, and the kernel then detaches every tracee still tied to it
// (exit_ptrace), also one whose PTRACE_INTERRUPT stop is still pending and
// which PTRACE_DETACH cannot reach — nothing can stay stopped after release.
//
// The runtime never ends the main thread (it parks it instead), so a loop that
// finds itself there hands over to a new goroutine: while this one holds the
// main thread, the new one cannot be scheduled on it. locked, if not nil, is
// closed once this loop holds a thread that is not the main one.
func (t *tracer) loop(locked chan struct{}) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		moved := make(chan struct{})
		go t.loop(moved)
		<-moved
		runtime.UnlockOSThread()
		return
	}
	t.tid = unix.Gettid()
	if locked != nil {
		close(locked)
	}
	defer close(t.exited)
	for f := range t.work {
		if f() {
			return
		}
	}
}

// do runs f on the tracer thread and waits for it; false if the tracer is gone.
func (t *tracer) do(f func() (quit bool)) bool {
	done := make(chan struct{})
	select {
	case t.work <- func() bool { defer close(done); return f() }:
	case <-t.exited:
		return false
	}
	<-done
	return true
}

// release resumes the target: it detaches every stopped thread and ends the
// tracer thread. It waits for an attach in progress to give up first. Safe to
// call from any goroutine and more than once; later calls wait for the first.
func (t *tracer) release(by string) error {
	t.abort.Store(true)
	t.relOnce.Do(func() {
		t.mu.Lock()
		t.by = by
		if t.dog != nil {
			t.dog.Stop()
		}
		t.mu.Unlock()
		t.do(func() bool {
			err := t.detachAll()
			t.mu.Lock()
			t.detErr = err
			t.mu.Unlock()
			return true
		})
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.detErr
}

func (t *tracer) releasedBy() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.by
}

// paused is how long the target was (or has so far been) stopped.
func (t *tracer) paused() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.start.IsZero():
		return 0
	case t.end.IsZero():
		return time.Since(t.start)
	}
	return t.end.Sub(t.start)
}

// markPause notes the first interrupt and arms the watchdog.
func (t *tracer) markPause() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.start.IsZero() {
		return
	}
	t.start = time.Now()
	if t.maxPause > 0 {
		t.dog = time.AfterFunc(t.maxPause, func() { t.release("watchdog") })
	}
}

// seizeError is returned by stopAll when no thread at all could be seized.
type seizeError struct {
	tid int
	err error
}

func (e *seizeError) Error() string {
	return fmt.Sprintf("PTRACE_SEIZE of thread %d: %v", e.tid, e.err)
}
func (e *seizeError) Unwrap() error { return e.err }

// seizeNew lists /proc/PID/task and seizes (PTRACE_SEIZE, which does not
// stop them) the threads not seized yet, reading each one's state letter and
// name first: a stopped thread shows 't'. round counts the listings before
// this one. It returns the threads it seized; with round 0, an error when
// none at all could be.
func (t *tracer) seizeNew(round int) (fresh []*tracedThread, warns []string, err error) {
	tids, err := listTasks(t.pid)
	if err != nil {
		if round == 0 {
			return nil, nil, err
		}
		return nil, []string{fmt.Sprintf("re-listing threads: %v", err)}, nil
	}
	for _, tid := range tids {
		if _, ok := t.threads[tid]; ok {
			continue
		}
		th := &tracedThread{tid: tid}
		if k, ok := t.known[tid]; ok && round == 0 {
			th.state, th.comm = k.state, k.comm
		} else {
			th.state, th.comm = readStateComm(t.pid, tid)
		}
		t.threads[tid] = th
		t.order = append(t.order, th)
		fresh = append(fresh, th)
	}
	if len(fresh) == 0 {
		return nil, nil, nil
	}
	if round == maxListRounds || t.abort.Load() {
		for _, th := range fresh {
			th.note = "appeared while the others were being stopped; not stopped"
		}
		return nil, []string{fmt.Sprintf("%d thread(s) appeared after %d listings and were not stopped", len(fresh), round)}, nil
	}
	var firstErr *seizeError
	for _, th := range fresh {
		if th.state == "Z" || th.state == "X" {
			th.note = "exited (zombie thread)"
			continue
		}
		switch err := unix.PtraceSeize(th.tid); {
		case err == nil:
			th.seized = true
		case errors.Is(err, unix.ESRCH):
			th.gone = true
		default:
			th.note = fmt.Sprintf("PTRACE_SEIZE: %v", err)
			if firstErr == nil {
				firstErr = &seizeError{th.tid, err}
			}
		}
	}
	if round == 0 && firstErr != nil && !t.anySeized() {
		return nil, nil, firstErr
	}
	t.listed = round + 1
	return fresh, nil, nil
}

// stopAll interrupts every seized thread and waits for their stops,
// re-listing /proc/PID/task until no new thread appears: a thread created
// after a listing but before its creator stopped shows up in the next one.
// Threads seized ahead (seizeNew, while pyhang still read the running
// process) are interrupted first; without them the first listing seizes.
func (t *tracer) stopAll(stopWait time.Duration) (warns []string, err error) {
	var pending []*tracedThread
	for _, th := range t.order {
		if th.seized && !th.gone && !th.interrupted {
			pending = append(pending, th)
		}
	}
	if t.listed == 0 {
		if pending, warns, err = t.seizeNew(0); err != nil {
			return warns, err
		}
	}
	defer quietStops()()
	var deadline time.Time
	for len(pending) > 0 {
		urgently(func() { t.interrupt(pending) })
		if deadline.IsZero() {
			deadline = time.Now().Add(stopWait)
		}
		warns = append(warns, t.waitStops(pending, deadline)...)
		if t.noneUnseen() {
			break
		}
		fresh, w, _ := t.seizeNew(t.listed)
		warns = append(warns, w...)
		pending = fresh
	}
	return warns, nil
}

// noneUnseen says whether the process has no thread but the ones stopped,
// from its thread count alone, which is cheaper to read than the listing
// of /proc/PID/task. Every stopped thread is counted, so an equal count
// leaves no room for another; any other count (a thread that exited
// unreaped, a new one) is settled by listing.
func (t *tracer) noneUnseen() bool {
	n, err := numThreads(t.pid)
	if err != nil {
		return false
	}
	stopped := 0
	for _, th := range t.order {
		if th.stopped && !th.gone {
			stopped++
		}
	}
	return n == stopped
}

// interrupt asks each seized thread of ths to stop (PTRACE_INTERRUPT).
func (t *tracer) interrupt(ths []*tracedThread) {
	for _, th := range ths {
		if !th.seized {
			continue
		}
		t.markPause()
		th.interrupted = true
		if err := unix.PtraceInterrupt(th.tid); err != nil {
			if errors.Is(err, unix.ESRCH) {
				th.gone = true
			} else {
				th.note = fmt.Sprintf("PTRACE_INTERRUPT: %v", err)
			}
		}
	}
}

func (t *tracer) anySeized() bool {
	for _, th := range t.order {
		if th.seized {
			return true
		}
	}
	return false
}

// waitStops collects the stop of each interrupted thread, polling with
// WNOHANG so that the wait is bounded by deadline and by release, and reads
// the registers of each as it stops, while the others are on their way.
func (t *tracer) waitStops(ths []*tracedThread, deadline time.Time) (warns []string) {
	var pending []*tracedThread
	for _, th := range ths {
		if th.seized && !th.gone && th.note == "" {
			pending = append(pending, th)
		}
	}
	// Stops usually arrive within microseconds, so poll busily at first,
	// yielding the CPU to the tracees on their way to the stop; then back
	// off to sleeps for a thread that is slow to stop.
	spinUntil := time.Now().Add(spinWait)
	nap := 50 * time.Microsecond
	for len(pending) > 0 {
		next := pending[:0]
		for _, th := range pending {
			switch {
			case !t.reap(th):
				next = append(next, th)
			case th.stopped && !th.gone:
				t.getRegs(th)
			}
		}
		pending = next
		if len(pending) == 0 {
			break
		}
		now := time.Now()
		if t.abort.Load() || now.After(deadline) {
			for _, th := range pending {
				th.note = fmt.Sprintf("did not stop in time (state %s)", th.state)
			}
			warns = append(warns, fmt.Sprintf("%d thread(s) did not stop in time (uninterruptible sleep?) and have no registers", len(pending)))
			break
		}
		if now.Before(spinUntil) {
			schedYield()
			continue
		}
		time.Sleep(nap)
		nap = min(2*nap, time.Millisecond)
	}
	return warns
}

// reap takes one pending wait status of th without blocking and says whether
// th is now settled (stopped or gone).
func (t *tracer) reap(th *tracedThread) bool {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(th.tid, &ws, unix.WALL|unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil: // ECHILD: no longer our tracee
			th.gone = true
			return true
		case wpid == 0:
			return false
		case ws.Exited() || ws.Signaled():
			th.gone = true
			return true
		case ws.Stopped():
			th.stopped = true
			// An event stop (status>>16 == PTRACE_EVENT_STOP) is our
			// interrupt or a group-stop; anything else is a signal the
			// thread was about to take, which detach must hand back.
			if uint32(ws)>>16 != unix.PTRACE_EVENT_STOP {
				th.sig = int(ws.StopSignal())
			}
			return true
		}
		return false // continued: keep waiting for the stop
	}
}

func (t *tracer) getRegs(th *tracedThread) {
	var r unix.PtraceRegs
	if err := unix.PtraceGetRegs(th.tid, &r); err != nil {
		if errors.Is(err, unix.ESRCH) {
			th.gone = true // killed while stopped
			return
		}
		th.note = fmt.Sprintf("PTRACE_GETREGS: %v", err)
		return
	}
	th.regs = regsFromPtrace(&r)
}

// detachAll resumes every stopped thread, handing back a signal it stopped to
// take. A thread whose stop never arrived is checked once more; if it is
// still running it is released when the tracer thread exits.
func (t *tracer) detachAll() error {
	var errs []error
	urgently(func() { errs = t.detachEach() })
	t.mu.Lock()
	if !t.start.IsZero() {
		t.end = time.Now()
	}
	t.mu.Unlock()
	return errors.Join(errs...)
}

// detachEach detaches every stopped thread (detachAll).
func (t *tracer) detachEach() (errs []error) {
	for _, th := range t.order {
		if !th.seized || th.gone {
			continue
		}
		if !th.stopped && !t.reap(th) {
			continue
		}
		if th.gone {
			continue
		}
		if err := ptraceDetach(th.tid, th.sig); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("detaching thread %d: %w", th.tid, err))
		}
		th.stopped = false
	}
	return errs
}

// ptraceDetach is PTRACE_DETACH with a signal to deliver (x/sys/unix passes 0).
func ptraceDetach(tid, sig int) error {
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(tid), 0, uintptr(sig), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// schedYield gives the CPU to another runnable thread (x/sys/unix has no wrapper).
func schedYield() { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
