package heuristics

import (
	"slices"
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// GIL held in native code: the thread that holds the GIL is blocked in a
// system call, so no other thread can run Python until that call returns.
// The interpreter releases the GIL around every blocking call it makes
// itself (time.sleep, lock.acquire, socket and file I/O, select …); a
// thread blocked while it holds the GIL is in native code that did not
// release it: a C extension, or a C function called through ctypes.PyDLL
// (ctypes.CDLL releases it).
//
// What the rule rests on, from one snapshot: the interpreter's GIL state
// names the holder, and the kernel says the holder sleeps in a system call
// (interrupted inside it: a thread stopped between two system calls is
// running, and never a finding; neither is one in a system call pyhang
// does not know, such as the mmap or brk of an allocation). Without a
// timeout (pause, wait4, a read, an untimed futex or poll …) the call ends
// only when something outside the holder acts: an error, as no other
// thread can run Python meanwhile. With a timeout (nanosleep, a timed
// futex or poll) it ends by itself: a warning, and only when other threads
// are seen waiting for the GIL. A thread in uninterruptible disk sleep
// (live, state D) is doing file I/O and is left alone. Whether the holder
// makes progress between snapshots is not seen from one.
//
// A holder that runs, rather than blocks, is a finding only when a live
// target's GIL was watched after the snapshot (snapshot.GILWatch) and never
// changed hands while a thread the snapshot saw waiting still waited: the
// waiter asks the holder to let go every switch interval, and code that
// runs Python does. The holder runs native code that keeps the GIL (a C
// function that loops, a regular expression that backtracks); it may end,
// so it is a warning, for at least as long as the watch went on.

// blockingCalls are the system calls a thread can block in for long; the
// value says whether the call always has a timeout.
var blockingCalls = map[string]bool{
	"pause": false, "wait4": false, "waitid": false,
	"futex": false, "poll": false, "ppoll": false, "select": false, "pselect6": false,
	"epoll_wait": false, "epoll_pwait": false, "epoll_pwait2": false,
	"read": false, "readv": false, "recvfrom": false, "recvmsg": false,
	"write": false, "sendto": false, "accept": false, "accept4": false,
	// A file lock's wait (flock(), fcntl() F_SETLKW: a thread asleep in
	// fcntl is in no other of its commands) and sigsuspend() have none.
	"flock": false, "fcntl": false, "rt_sigsuspend": false,
	"nanosleep": true, "clock_nanosleep": true, "connect": true,
}

// GILHeldDetails names the holder, where it is blocked, and the threads
// that wait for the GIL.
type GILHeldDetails struct {
	// Holder is the tid of the thread that holds the GIL.
	Holder int `json:"holder"`
	// Frame is the index of the holder's innermost Python frame, the one
	// that called into native code; null when it has no Python frame.
	Frame *int `json:"frame"`
	// Syscall is the system call the holder is blocked in; Timed says it
	// has a timeout and ends by itself (the finding is then a warning).
	Syscall string `json:"syscall"`
	Timed   bool   `json:"timed"`
	// Function is the native function the holder is blocked in: where its
	// program counter is (the C library's wrapper of the system call,
	// usually), or with --native the first named frame past the C
	// library's internal wrappers (glibc 2.41+ sits in
	// __syscall_cancel_arch under pause()); null when unknown.
	Function *snapshot.NativeFrame `json:"function"`
	// Native are the holder's native frames out to the interpreter frame
	// that made the call (with --native); Via is "ctypes" or "cffi" when
	// the call came through one.
	Native []snapshot.NativeFrame `json:"native,omitempty"`
	Via    string                 `json:"via,omitempty"`
	// Running says the holder was on a CPU, not blocked in a system call;
	// KeptFor is how long, at least, the GIL stayed with it after the
	// snapshot while Waiters waited (the GIL watch), in seconds.
	Running bool    `json:"running,omitempty"`
	KeptFor float64 `json:"kept_for_s,omitempty"`
	// Waiters are the threads the kernel shows waiting for the GIL (on its
	// condition variable); Others are the rest of the Python threads, which
	// cannot run Python either once their own wait ends.
	Waiters []int `json:"waiters"`
	Others  []int `json:"others"`
}

// syscallWrappers are glibc's functions under a cancellable system call's
// own wrapper (glibc 2.41+: pause → __syscall_cancel → … →
// __syscall_cancel_arch, which holds the syscall instruction).
var syscallWrappers = map[string]bool{
	"__syscall_cancel_arch": true, "__internal_syscall_cancel": true, "__syscall_cancel": true,
}

// syscallCaller is the index of the first frame past the C library's
// system-call plumbing: its named internal wrappers, and frames of the
// same file with no symbol (a stripped libc) below a named one.
func syscallCaller(call []snapshot.NativeFrame) int {
	for i := range call {
		f := &call[i]
		if f.Module != call[0].Module {
			return 0
		}
		if f.Symbol != "" && !syscallWrappers[baseSymbol(f.Symbol)] {
			return i
		}
	}
	return 0
}

func gilHeldInNative(s *snapshot.Snapshot, a *locks.Analysis) (Finding, bool) {
	var holder *snapshot.Thread
	for i := range s.Threads {
		if s.Threads[i].GIL == snapshot.GILHeld {
			holder = &s.Threads[i]
			break
		}
	}
	if holder == nil || holder.State == snapshot.StateCrashed {
		return Finding{}, false
	}
	d := &GILHeldDetails{Holder: holder.TID, Waiters: []int{}, Others: []int{}}
	k := holder.Kernel
	alwaysTimed, known := false, false
	if k != nil {
		alwaysTimed, known = blockingCalls[k.Syscall]
	}
	kept := keptWatch(s, holder)
	switch {
	case holder.State != snapshot.StateRunning && known && k.Proc != "D":
		d.Syscall, d.Timed = k.Syscall, alwaysTimed || k.Timed
	case kept != nil:
		d.Running, d.KeptFor = holder.State == snapshot.StateRunning, kept.Seconds
		if !d.Running && k != nil {
			d.Syscall = k.Syscall
		}
	default:
		return Finding{}, false
	}
	for i := range s.Threads {
		t := &s.Threads[i]
		switch {
		case t.TID == holder.TID:
		case t.GIL == snapshot.GILWaiting:
			d.Waiters = append(d.Waiters, t.TID)
		default:
			d.Others = append(d.Others, t.TID)
		}
	}
	if kept != nil {
		// Threads the snapshot caught awake, which the watch then saw
		// waiting for the GIL while it never changed hands.
		for _, tid := range kept.Waiters {
			if i := slices.Index(d.Others, tid); i >= 0 {
				d.Others = slices.Delete(d.Others, i, i+1)
				d.Waiters = append(d.Waiters, tid)
			}
		}
		slices.Sort(d.Waiters)
	}
	if len(d.Waiters)+len(d.Others) == 0 || (d.Timed || kept != nil) && len(d.Waiters) == 0 {
		return Finding{}, false // no other thread to stall, or none seen stalling on a wait that ends
	}
	if len(holder.Frames) > 0 {
		zero := 0
		d.Frame = &zero
	}
	call := nativeCall(holder)
	if len(call) > 0 {
		fn := call[syscallCaller(call)]
		d.Function = &fn
	}
	if len(holder.Native) > 0 {
		d.Native = call
		d.Via = callVia(call)
	}
	f := Finding{Kind: GILHeldInNative, Severity: Error, Threads: append([]int{holder.TID}, d.Waiters...),
		Objects: []string{}, Details: d}
	if d.Timed || d.KeptFor > 0 {
		f.Severity = Warning
	}
	for _, h := range a.Holds[holder.TID] {
		if h.Kind == locks.KindGIL {
			f.Objects = []string{h.ID}
		}
	}
	sort.Ints(f.Threads)
	return f, true
}

// keptWatch is the watch of the GIL holder takes when it saw the GIL kept
// (never changing hands) for the whole watch; nil otherwise.
func keptWatch(s *snapshot.Snapshot, holder *snapshot.Thread) *snapshot.GILWatch {
	if in := s.InterpreterOf(holder); in != nil && in.GIL != nil && in.GIL.Watch != nil && in.GIL.Watch.Kept {
		return in.GIL.Watch
	}
	return nil
}
