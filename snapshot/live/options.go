package live

import "time"

// DefaultMaxPause bounds how long Attach's caller may keep the target stopped
// when Options.MaxPause is zero.
const DefaultMaxPause = 2 * time.Second

// maxStopWait bounds the wait for the threads to stop after PTRACE_INTERRUPT.
// A thread in uninterruptible sleep (state D: NFS, a disk, a hung driver) does
// not stop until it leaves the kernel; it is reported without registers.
const maxStopWait = time.Second

// Options select how a live process is read.
type Options struct {
	// NonBlocking never stops the target and uses no ptrace at all: Regs
	// carry only RSP and RIP (from /proc/PID/task/TID/syscall, nil when the
	// thread is running) and the system call comes from that file too.
	NonBlocking bool
	// ThreadsLater, with NonBlocking, leaves the threads unread until
	// ReadThreads: a snapshot reads them beside its first read of memory.
	ThreadsLater bool
	// MaxPause is the longest the target may stay stopped; a watchdog resumes
	// it then. Zero means DefaultMaxPause; a negative value disables the
	// watchdog (only for tests and debugging).
	MaxPause time.Duration
}

func (o Options) maxPause() time.Duration {
	if o.MaxPause == 0 {
		return DefaultMaxPause
	}
	return o.MaxPause
}

// stopWait is how long to wait for the threads to stop: at most half the
// pause budget, so that reading memory keeps the other half.
func (o Options) stopWait() time.Duration {
	w := maxStopWait
	if mp := o.maxPause(); mp > 0 && mp/2 < w {
		w = mp / 2
	}
	return w
}
