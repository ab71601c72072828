//go:build linux && amd64

package live

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/target"
)

// Held is a followed process whose threads the Follower keeps stopped until
// Close: the consistent view a snapshot copies its memory from. A thread
// that stopped to take a fatal signal stays stopped after Close, until
// Follower.Deliver.
type Held struct {
	f       *Follower
	pid     int
	mem     *memory
	maps    []target.Mapping
	threads []target.Thread
	sig     *target.SigInfo
	warns   []string

	once sync.Once
	err  error
}

// Stop stops every thread of the followed process pid and reads their
// registers. The process runs again at Close, or after maxPause (0: the
// default) if Close does not come.
func (f *Follower) Stop(pid int, maxPause time.Duration) (*Held, error) {
	if maxPause == 0 {
		maxPause = DefaultMaxPause
	}
	h := &Held{f: f, pid: pid, mem: &memory{pid: pid}}
	b, err := os.ReadFile(procPath(pid, "maps"))
	if err != nil {
		return nil, noProcessError(pid, err)
	}
	h.maps, err = parseMaps(strings.NewReader(string(b)))
	if err != nil {
		h.warns = append(h.warns, fmt.Sprintf("%s: %v", procPath(pid, "maps"), err))
	}
	var stopErr error
	if err := f.do(func() { stopErr = f.stopAll(h, maxPause) }); err != nil {
		return nil, err
	}
	if stopErr != nil {
		h.mem.close()
		return nil, stopErr
	}
	return h, nil
}

// stopAll interrupts every thread of h.pid and waits for their stops. Runs
// on the loop.
func (f *Follower) stopAll(h *Held, maxPause time.Duration) error {
	p := f.procs[h.pid]
	if p == nil {
		return noProcessError(h.pid, errors.New("not followed (it has ended)"))
	}
	states := map[int]string{}
	if tids, err := listTasks(h.pid); err == nil {
		for _, tid := range tids {
			states[tid] = readState(h.pid, tid)
			switch states[tid] {
			case "", "Z", "X":
				continue // gone, or going: it will not stop
			}
			if _, ok := f.threads[tid]; !ok {
				// Traced with its creator, its first stop not yet seen.
				f.threads[tid] = &fthread{tid: tid, pid: h.pid}
			}
		}
	}
	p.holding, p.byDog = true, false
	p.start, p.end = time.Now(), time.Time{}
	p.dog = time.AfterFunc(maxPause, func() {
		f.do(func() {
			if p.holding {
				p.byDog = true
				f.resume(p)
			}
		})
	})
	for _, th := range f.threads {
		if th.pid == h.pid && !th.stopped {
			_ = unix.PtraceInterrupt(th.tid) // ESRCH: its exit is on its way
		}
	}
	deadline := time.Now().Add(min(maxStopWait, maxPause/2))
	spinUntil := time.Now().Add(spinWait)
	nap := 50 * time.Microsecond
	for !f.allStopped(h.pid) {
		f.reapAll()
		if f.allStopped(h.pid) || time.Now().After(deadline) {
			break
		}
		if time.Now().Before(spinUntil) {
			schedYield()
			continue
		}
		time.Sleep(nap)
		nap = min(2*nap, time.Millisecond)
	}
	if f.procs[h.pid] == nil {
		p.dog.Stop()
		return noProcessError(h.pid, errors.New("it ended while being stopped"))
	}
	var late int
	for _, th := range f.threadsOf(h.pid) {
		t := target.Thread{TID: th.tid, State: states[th.tid]}
		if th.stopped {
			var r unix.PtraceRegs
			if err := unix.PtraceGetRegs(th.tid, &r); err == nil {
				th.regs = regsFromPtrace(&r)
				t.Regs = th.regs
				setSyscall(&t, th.regs)
			}
			if th.crash != nil {
				s := *th.crash
				h.sig = &s
			}
		} else {
			late++
			(&Process{pid: h.pid}).fillFromSyscallFile(&t)
		}
		h.threads = append(h.threads, t)
	}
	if late > 0 {
		h.warns = append(h.warns, fmt.Sprintf("%d thread(s) did not stop in time (uninterruptible sleep?) and have no registers", late))
	}
	sortThreads(h.pid, h.threads)
	return nil
}

func (f *Follower) allStopped(pid int) bool {
	for _, th := range f.threads {
		if th.pid == pid && !th.stopped {
			return false
		}
	}
	return true
}

func (f *Follower) threadsOf(pid int) []*fthread {
	var out []*fthread
	for _, th := range f.threads {
		if th.pid == pid {
			out = append(out, th)
		}
	}
	slices.SortFunc(out, func(a, b *fthread) int { return a.tid - b.tid })
	return out
}

// resume lets the threads of p run again, each with the signal it stopped
// for; a thread about to die of its signal stays stopped. Runs on the loop.
func (f *Follower) resume(p *fproc) {
	if !p.holding {
		return
	}
	p.holding = false
	if p.dog != nil {
		p.dog.Stop()
	}
	for _, th := range f.threadsOf(p.pid) {
		if th.crash == nil {
			f.cont(th)
		}
	}
	p.end = time.Now()
}

// Deliver lets a process with a thread stopped by a fatal signal take it:
// the signal takes its course (the process dies, and dumps core as its
// limits say).
func (f *Follower) Deliver(pid int) error {
	return f.do(func() {
		p := f.procs[pid]
		if p == nil {
			return
		}
		for _, th := range f.threadsOf(pid) {
			if th.crash != nil {
				th.sig, th.crash = th.crash.Signo, nil
				f.cont(th)
			}
		}
		p.holding = true // so that resume runs
		f.resume(p)
	})
}

// Detach lets every followed process go, untraced: it stops each thread once
// more (PTRACE_DETACH needs a stopped tracee) and detaches it with the
// signal it stopped for.
func (f *Follower) Detach() error {
	var errs []error
	err := f.do(func() {
		for _, p := range f.procs {
			for _, th := range f.threadsOf(p.pid) {
				if !th.stopped {
					_ = unix.PtraceInterrupt(th.tid)
				}
			}
			p.holding = true
		}
		deadline := time.Now().Add(maxStopWait)
		for {
			f.reapAll()
			all := true
			for _, th := range f.threads {
				all = all && th.stopped
			}
			if all || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		for tid, th := range f.threads {
			if !th.stopped {
				continue // the kernel detaches it when the loop's thread ends
			}
			sig := th.sig
			if th.groupStop {
				sig = 0 // it stays in its group-stop
			}
			if th.crash != nil {
				sig = th.crash.Signo
			}
			if err := ptraceDetach(tid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
				errs = append(errs, fmt.Errorf("detaching thread %d: %w", tid, err))
			}
			delete(f.threads, tid)
		}
		for pid, p := range f.procs {
			if p.dog != nil {
				p.dog.Stop()
			}
			delete(f.procs, pid)
		}
	})
	return errors.Join(append(errs, err)...)
}

// ReadAt reads the process's memory.
func (h *Held) ReadAt(b []byte, addr uint64) (int, error) { return h.mem.ReadAt(b, addr) }

// ReadBatch fills many requests with few system calls.
func (h *Held) ReadBatch(reqs []Request) { h.mem.readBatch(reqs) }

// Threads are the threads as stopped, with their registers.
func (h *Held) Threads() []target.Thread { return slices.Clone(h.threads) }

// Mappings are /proc/PID/maps as read right before the stop.
func (h *Held) Mappings() []target.Mapping { return slices.Clone(h.maps) }

// Signal is the fatal signal a thread stopped to take, or nil.
func (h *Held) Signal() *target.SigInfo { return h.sig }

// Warnings are the problems met stopping the process.
func (h *Held) Warnings() []string {
	w := slices.Clone(h.warns)
	var dog bool
	h.f.do(func() {
		if p := h.f.procs[h.pid]; p != nil {
			dog = p.byDog
		}
	})
	if dog {
		w = append(w, "the target was resumed after the pause limit, before pyhang had finished reading; what was read after that may be inconsistent")
	}
	return w
}

// Paused is how long the threads were (or have been so far) stopped.
func (h *Held) Paused() time.Duration {
	var d time.Duration
	h.f.do(func() {
		p := h.f.procs[h.pid]
		switch {
		case p == nil || p.start.IsZero():
		case p.end.IsZero():
			d = time.Since(p.start)
		default:
			d = p.end.Sub(p.start)
		}
	})
	return d
}

// Close lets the threads run again (but for one about to die of a signal).
func (h *Held) Close() error {
	h.once.Do(func() {
		h.err = h.f.do(func() {
			if p := h.f.procs[h.pid]; p != nil {
				h.f.resume(p)
			}
		})
		h.mem.close()
	})
	return h.err
}
