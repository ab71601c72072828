// Package capture takes a Snapshot of a Python process: it opens the target (a
// live pid or a core file), reads the interpreter through package cpython while
// the target's threads are stopped, lets them go, and assembles the model.
package capture

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/corefile"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/native"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Options say what to read and how.
type Options struct {
	Locals bool // reprs of every frame's locals
	// LocalsLimits bound each local's repr (zero: cpython.DefaultReprLimits).
	LocalsLimits cpython.ReprLimits
	// ReadLocals reads every local's repr as Locals would, without keeping
	// it: the memory it takes is then among the pages a Keeper keeps, and
	// a core written so shows the locals as the live process had them.
	ReadLocals  bool
	Native      bool // every thread's native stack, Python frames beside their interpreter frames
	NonBlocking bool // never stop a live target (the snapshot may be inconsistent)
	// AlwaysStop stops a live target for its copy even when its threads
	// can be proven idle without (live.Runs).
	AlwaysStop bool
	Exe        string // core: local copy of the executable
	Sysroot    string // core: folder holding copies of the mapped files
	NoSource   bool   // leave out the source lines (repeated looks)
	// WatchGIL reads a live target's GIL for a while after the snapshot
	// when a thread holds it while another waits (see gilwatch.go).
	WatchGIL bool

	// Stop stops a live target for its consistent copy; nil stops the
	// unstopped view already open (live.Process.Stop). A process pyhang
	// already traces is stopped by its own tracer.
	Stop func(pid int) (Stopped, error)
	// Keep, if set, keeps more memory in the same pause (see Keeper).
	Keep Keeper
	// Spare, if set, is handed the memory the snapshot's reading kept the
	// target's pages in (a few MiB), once the snapshot is taken and
	// nothing reads them: for the caller's buffers, which then take no
	// fresh memory (see cpython.Process.Release). Not with Keep.
	Spare func(mem [][]byte)
}

// Open opens a target named the way a user names it: a pid, or a core path.
func Open(arg string, opts Options) (target.Target, error) {
	if pid, err := strconv.Atoi(arg); err == nil {
		if pid <= 0 {
			return nil, fmt.Errorf("%d is not a valid pid", pid)
		}
		return live.Attach(pid, live.Options{NonBlocking: opts.NonBlocking})
	}
	if _, err := os.Stat(arg); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such file (TARGET is a pid or a core file)", arg)
		}
		return nil, err
	}
	return corefile.Open(arg, corefile.Options{Exe: opts.Exe, Sysroot: opts.Sysroot})
}

// snapshotHeap is the heap size at which a snapshot in progress collects.
const snapshotHeap = 512 << 20

// maxPrefault bounds the heap made resident before a snapshot (prefault).
const maxPrefault = 64 << 20

// heapFor is about what a snapshot of a process of so many threads, and
// its report, allocate: 8 MiB, and 160 KiB a thread of 120 Python frames.
// Measured without prefault, at 102 threads of 121 frames: 20 MiB allocated
// under 3.12 (a frame about 1 KiB, once its decoded form is dropped as it is
// converted: cpython.ThreadsEach), 24 MiB under 3.8, whose frames are
// objects on the heap (the JSON of the frames goes into the pages the
// snapshot read, see capture.Options.Spare). What the range misses, the
// snapshot faults in itself, in the huge pages of the heap grown beyond it
// (maxTail, where huge pages pay: hugePagesPolicy) and in small pages past
// those; what it holds beyond need costs the helper, on the other CPU,
// little in huge pages (populator): so this
// covers 3.12 and about all of 3.8. Deeper stacks overrun it: 100 threads
// of 150 frames (35,948) allocate about 45 MiB, and took 94 ms when the
// overrun went in small pages, 59 ms in the tail's huge pages (21 paired
// runs; 95 and 70 ms each after 3 s idle). Against 6 MiB and 128 KiB a
// thread: 3.12 -6 ms, 3.8 -8.6 ms (15 paired runs); 10 MiB and 160 KiB or
// 8 MiB and 192 KiB did no better under 3.12. Native stacks add 4 MiB of
// module tables and about 64 KiB a thread (3.8 runs each Python call on
// four C frames).
func heapFor(threads int, native bool) int {
	if threads <= 0 {
		return 0
	}
	n := 8<<20 + threads*(160<<10)
	if native {
		n += 4<<20 + threads*(64<<10)
	}
	return min(maxPrefault, n)
}

// Take reads a snapshot of the target named by arg.
//
// A live target is read without stopping it first, to parse the interpreter's
// ELF file and learn which memory a snapshot needs; its threads are then
// stopped only while that memory is copied (see frozen.go).
func Take(arg string, opts Options) (*snapshot.Snapshot, error) {
	// A snapshot allocates tens of megabytes that stay live until the report
	// is written: collecting on the way costs a quarter of the time and frees
	// little. Collect only near a soft limit, well above what a snapshot needs.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(snapshotHeap))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	if pid, err := strconv.Atoi(arg); err == nil && pid > 0 && !opts.NonBlocking {
		h := prefault(liveHeap(pid, opts.Native))
		defer h.close()
		return takeLive(pid, opts, h)
	}
	t, err := Open(arg, opts)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	h := prefault(heapFor(len(t.Threads()), opts.Native))
	defer h.close()
	s, err := readWith(t, opts, h)
	if err != nil {
		return nil, err
	}
	if t.Kind() == "core" {
		s.Target.Core = &arg
	}
	return s, nil
}

// Read reads the snapshot from an open target. A live target is released
// (Close) as soon as its memory has been read; what follows works on copies.
func Read(t target.Target, opts Options) (*snapshot.Snapshot, error) {
	return readWith(t, opts, nil)
}

// readWith is Read, with the decode split with side when it is not nil
// (split.go).
func readWith(t target.Target, opts Options, side sideRunner) (*snapshot.Snapshot, error) {
	p, err := cpython.Open(t)
	if err != nil {
		// A truncated core or a missing file often is the reason: say so.
		if w := t.Warnings(); len(w) > 0 {
			return nil, fmt.Errorf("%w (%s)", err, strings.Join(w, "; "))
		}
		return nil, err
	}
	return read(t, p, opts, side)
}

// read decodes the snapshot, with where each thread's program counter is
// (and its native stack with --native), and quotes each frame's source line.
func read(t target.Target, p *cpython.Process, opts Options, side sideRunner) (*snapshot.Snapshot, error) {
	d, err := decodeMemory(p, opts, side)
	if err != nil {
		return nil, err
	}
	return finish(t, p, d, opts, nil, nil), nil
}

// finish joins a decoded snapshot with the kernel's threads of t, with the
// native side, and quotes each frame's source line. k is a live target's
// children when already read (nil: read now).
func finish(t target.Target, p *cpython.Process, d *decoded, opts Options, k *kin, view *fileView) *snapshot.Snapshot {
	var mods *native.Modules
	stackMem := target.Memory(t)
	if fz, ok := t.(*frozen); ok {
		mods = fz.mods // loaded beside the first decode, and what --native unwound blocked stacks with
		// Unwinding reads the stacks as copied while the target was stopped, never the running process.
		stackMem = fz.copied()
	} else {
		mods = native.NewModules(t.Mappings(), t.OpenFile)
		defer mods.Close()
		mods.Adopt(p.Binary, p.Bin)
		mods.ImagesFrom(t)
	}
	s := join(t, p, d, opts, mods, stackMem)
	s.Target.Warnings = append(s.Target.Warnings, mods.Warnings()...)
	if !opts.NoSource {
		if view == nil {
			view = viewOf(t, opts)
			view.relativeTo(p, s.Threads)
		}
		addSource(s, view)
	}
	if t.Kind() == "pid" {
		addSocketFacts(s, t.PID())
		if k == nil {
			k = readKin(t.PID())
		}
		addFamily(s, t.PID(), k)
	}
	osNames(s, t)
	openPipes(s, t, k)
	if t.Kind() == "pid" {
		pipeReaders(s, t.PID()) // the pipes' inodes are known now
	}
	fileLocks(s, t)
	// A Keeper holds on to the pages copied in the pause, which are the
	// reader's pages where they were the same: they are not spare then.
	if opts.Spare != nil && opts.Keep == nil {
		opts.Spare(p.Release())
	}
	return s
}

// viewOf is the target's own view of its files.
func viewOf(t target.Target, opts Options) *fileView {
	if t.Kind() == "pid" {
		return liveView(t.PID())
	}
	v := coreView(opts.Sysroot)
	if c, ok := t.(interface{ Cwd() string }); ok && filepath.IsAbs(c.Cwd()) {
		v.coreCwd = filepath.Clean(c.Cwd())
	}
	return v
}

// decoded is a snapshot as read from memory alone, before it is joined with
// the kernel's view of the threads (join). A live snapshot decoded without
// stopping the target is kept when the copy taken while it was stopped shows
// the same memory.
type decoded struct {
	threads    []snapshot.Thread // no kernel state, TID or GIL state yet
	tstates    []cpython.ThreadState
	gil        cpython.GIL
	gilErr     error
	threadObjs map[uint64]uint64
	objs       *cpython.Objects
	starting   map[uint64]bool // thread states of threads being started
	// withHeld are the objects a thread's with block holds (a frame's
	// With), noted as the frames are converted.
	withHeld map[string]bool
	warnings []string
	missing  []string // what the memory lacks (Target.Missing)
	forked   int      // how many threads a fork decoded (split.go)
	// listCut is set when the thread list could not be read whole: the
	// kernel threads left over may be Python threads whose states were lost.
	listCut bool
}

// memBuilder decodes the memory part of a snapshot.
type memBuilder struct {
	p       *cpython.Process
	opts    Options
	d       *decoded
	ints    []int      // where the frames' positions point (see position)
	reached reachCache // what locals and globals lead to (reach.go)
}

// decodeMemory reads the interpreter's threads, frames and objects. Each
// thread's frames are converted as soon as they are read (ThreadsEach), and
// the next thread's read into the same memory. With side (nil: none), a
// fork of p decodes threads beside p on another goroutine (split.go).
func decodeMemory(p *cpython.Process, opts Options, side sideRunner) (*decoded, error) {
	b := &memBuilder{p: p, opts: opts, d: &decoded{objs: p.NewObjects()}}
	d := b.d
	mainIdent, _ := p.MainThreadIdent()
	threadObjs, objsErr := p.ThreadObjects()
	d.threadObjs = threadObjs
	refs, err := p.ThreadList()
	if len(refs) == 0 && err != nil {
		return nil, err
	}
	sh := newThreadShare(refs, mainIdent)
	if side != nil && len(refs) >= forkLeast {
		b.decodeSplit(sh, side)
	} else {
		b.decodeShare(sh, max(len(refs), 1), 1)
	}
	if e := sh.firstErr(); e != nil {
		err = e
	}
	d.threads, d.tstates = sh.threads, sh.tstates
	if err != nil && len(d.tstates) == 0 && !headLost(p, refs, err) {
		return nil, err
	}
	for i := range d.tstates {
		if e := d.tstates[i].Err; e != nil {
			b.warnf("thread %#x: %v", d.tstates[i].Ident, e)
		}
	}
	if err != nil {
		b.warnf("thread list incomplete: %v", err)
		d.missing = append(d.missing, fmt.Sprintf("the thread list is incomplete: %v", err))
		d.listCut = true
	}
	d.gil, d.gilErr = p.GIL()
	if d.gilErr != nil {
		b.warnf("GIL state unreadable: %v", d.gilErr)
	}
	if objsErr != nil {
		b.warnf("thread names unavailable: %v", objsErr)
	}
	d.starting = startingThreads(d.tstates)
	for i, ts := range d.tstates {
		th := &d.threads[i]
		if d.starting[ts.Addr] {
			// Not yet running: its ident and native id are still those of
			// the thread starting it, whose kernel thread is not its own.
			th.Ident, th.Main = 0, false
			b.warnf("thread state %#x: a thread being started (no frame yet, and its creator's ident)", ts.Addr)
			continue
		}
		if obj, ok := threadObjs[ts.Ident]; ok && len(ts.Kept) == 0 {
			th.Name = p.ThreadName(obj)
			if th.Ident != 0 {
				d.objs.Add(obj)
			}
		}
	}
	return d, nil
}

// headLost reports whether a core lost the memory of the first thread state
// of a list the interpreter leads to: then every kernel thread is a Python
// thread whose state was lost, and the native side of the snapshot still
// stands. A live process is stopped while it is read, so an unreadable state
// there means a misread layout, which must fail as one.
func headLost(p *cpython.Process, refs []cpython.ThreadRef, err error) bool {
	return p.Target.Kind() != "pid" && len(refs) > 0 && errors.Is(err, target.ErrUnreadable)
}

// thread converts a thread state whose frames were just read.
func (b *memBuilder) thread(ts *cpython.ThreadState, sh *threadShare) snapshot.Thread {
	th := snapshot.Thread{Ident: ts.Ident, Main: ts.Ident == sh.mainIdent, Tstate: snapshot.Addr(ts.Addr),
		GIL: snapshot.GILUnknown, State: snapshot.StateUnknown, Frames: make([]snapshot.Frame, len(ts.Frames))}
	th.StackLost = ts.Err != nil
	// A thread being started has no frame yet (startingThreads): it
	// is named once every thread state is known.
	if obj, ok := b.d.threadObjs[ts.Ident]; ok && len(ts.Frames) > 0 {
		th.Name = b.p.ThreadName(obj)
		if th.Ident != 0 {
			b.d.objs.Add(obj)
		}
	}
	for i := range ts.Frames {
		b.frame(&th.Frames[i], &ts.Frames[i], &sh.globals)
	}
	return th
}

// startingThreads finds the thread states of threads being started: CPython
// gives a new thread state the ident (and native id) of the thread creating
// it, until the new thread runs and takes its own. Such a state has no frame
// yet and shares its ident with another state.
func startingThreads(tstates []cpython.ThreadState) map[uint64]bool {
	n := map[uint64]int{}
	for _, ts := range tstates {
		n[ts.Ident]++
	}
	out := map[uint64]bool{}
	for _, ts := range tstates {
		if n[ts.Ident] > 1 && len(ts.Kept) == 0 {
			out[ts.Addr] = true
		}
	}
	return out
}

// faulted reports whether kt is the thread that took a crash's signal.
func (b *builder) faulted(kt *target.Thread) bool {
	si := b.s.Target.Signal
	return kt != nil && si != nil && si.TID == kt.TID && b.s.Target.Crashed()
}

// builder joins a decoded snapshot with the kernel's threads of target t.
type builder struct {
	t        target.Target
	p        *cpython.Process
	opts     Options
	d        *decoded
	objs     *cpython.Objects
	s        *snapshot.Snapshot
	sites    siteCache
	mods     *native.Modules // nil: no native frames (the working-set pass)
	stackMem target.Memory   // where native stacks are read
	unwound  native.Stack    // each native stack as it is walked, its memory reused
	slab     frameSlab       // where the native frames kept are taken from
	notURLs  notURLs         // locals lately found not to be URLs (iocontext.go)
}

// join assembles the snapshot: each thread state with its kernel thread (its
// system call, futex, GIL wait, what it was doing in I/O, its native side
// when mods is set), the locks behind unmatched waits, a crash. It leaves d
// as it was, so that d can be joined again with another view.
func join(t target.Target, p *cpython.Process, d *decoded, opts Options, mods *native.Modules, stackMem target.Memory) *snapshot.Snapshot {
	b := joinReads(t, p, d, opts, mods, stackMem)
	b.conclude()
	return b.s
}

// joinReads is the part of join that reads the target: a live snapshot runs
// it alone before the stop, to learn the pages a join reads (conclude, which
// only names and orders what was read, cost 0.5 ms more on 102 threads).
func joinReads(t target.Target, p *cpython.Process, d *decoded, opts Options, mods *native.Modules, stackMem target.Memory) *builder {
	b := &builder{t: t, p: p, opts: opts, d: d, objs: d.objs.Clone(), mods: mods, stackMem: stackMem}
	b.s = &snapshot.Snapshot{
		Schema: snapshot.Schema,
		Target: snapshot.TargetInfo{
			Kind: t.Kind(), PID: t.PID(), Executable: t.Executable(),
			Python: p.Version.String(), Binary: p.Binary,
			Warnings: append([]string(nil), d.warnings...),
			Missing:  append([]string(nil), d.missing...),
		},
		Threads: append([]snapshot.Thread(nil), d.threads...),
	}
	kthreads := t.Threads()
	byTID := map[int]*target.Thread{}
	for i := range kthreads {
		byTID[kthreads[i].TID] = &kthreads[i]
	}
	if si := t.Signal(); si != nil {
		b.s.Target.Signal = signalInfo(si, byTID[si.TID])
	}
	gil := d.gil
	mainInterp, _ := p.MainInterpreter()
	for i, ts := range d.tstates {
		th := &b.s.Threads[i]
		if d.starting[ts.Addr] {
			continue // no kernel thread of its own yet
		}
		kt := b.kernelThread(ts, byTID, d.threadObjs)
		if kt != nil {
			th.TID = kt.TID
			b.kernelState(th, kt, gil)
		}
		if d.gilErr == nil {
			switch {
			case gil.Locked && gil.Holder == ts.Addr:
				th.GIL = snapshot.GILHeld
			case th.GIL != snapshot.GILWaiting:
				th.GIL = snapshot.GILNone
			}
		}
		b.ioContext(th, ts)
		switch {
		case ts.Interp != mainInterp && mainInterp != 0:
			// A subinterpreter's state may run on another thread than
			// its thread_id names: its native stack is read once it is
			// placed (subNative).
		case b.mods != nil && (b.opts.Native || b.faulted(kt)):
			// A crashed thread's native stack is the crash's evidence:
			// it is read even without --native (one thread, in a core).
			b.nativeStack(th, kt, &d.tstates[i])
		case b.mods != nil:
			b.innermost(th, kt)
		}
	}
	b.interpreters(d.tstates)
	b.subNative(d.tstates, byTID)
	b.unmatchedWaits()
	b.stackGenerators()
	// The asyncio tasks' coroutine frames are decoded here, from the same
	// memory as the threads', into this join's objects, so that d stays as
	// it was for another join.
	tasks := &memBuilder{p: p, opts: opts, d: &decoded{objs: b.objs}}
	b.readAsyncio(d.tstates, tasks)
	b.s.Target.Warnings = append(b.s.Target.Warnings, tasks.d.warnings...)
	b.s.Target.Missing = append(b.s.Target.Missing, tasks.d.missing...)
	b.noStateThreads(kthreads, gil)
	return b
}

// conclude completes a join: the crashed thread marked, the threads in
// order, the objects named after the objects they are parts of.
func (b *builder) conclude() {
	t, p := b.t, b.p
	if si := b.s.Target.Signal; si != nil && b.s.Target.Crashed() {
		for i := range b.s.Threads {
			if b.s.Threads[i].TID == si.TID {
				b.s.Threads[i].State = snapshot.StateCrashed
			}
		}
	}
	sort.SliceStable(b.s.Threads, func(i, j int) bool {
		a, c := b.s.Threads[i], b.s.Threads[j]
		if a.Main != c.Main {
			return a.Main
		}
		return a.TID < c.TID
	})
	b.objs.NameParts()
	b.s.Objects = b.objs.All()
	if pr, ok := t.(interface{ Paused() time.Duration }); ok {
		ms := float64(pr.Paused().Microseconds()) / 1000
		b.s.Target.PausedMS = &ms
	}
	if c, ok := t.(interface{ Consistency() string }); ok {
		b.s.Target.Consistency = c.Consistency()
	} else if t.Kind() == "pid" {
		b.s.Target.Consistency = snapshot.ReadUnchecked
	}
	b.s.Target.Warnings = append(b.s.Target.Warnings, t.Warnings()...)
	b.s.Target.Warnings = append(b.s.Target.Warnings, p.Warnings()...)
	if m, ok := t.(interface{ Missing() []string }); ok {
		b.s.Target.Missing = append(b.s.Target.Missing, m.Missing()...)
	}
	b.s.Target.Missing = append(b.s.Target.Missing, p.Missing()...)
	if b.s.Target.Warnings == nil {
		b.s.Target.Warnings = []string{}
	}
}

// kernelThread finds the LWP of a thread state: native_thread_id (3.11+), the
// fs_base register (= pthread_t on glibc), or threading's _native_id.
func (b *builder) kernelThread(ts cpython.ThreadState, byTID map[int]*target.Thread, objs map[uint64]uint64) *target.Thread {
	if kt, ok := byTID[ts.NativeID]; ok && ts.NativeID != 0 {
		return kt
	}
	for _, kt := range byTID {
		if kt.Regs != nil && kt.Regs.FSBase == ts.Ident {
			return kt
		}
	}
	if obj, ok := objs[ts.Ident]; ok {
		if id, ok := b.p.InstanceAttrs(obj)["_native_id"]; ok {
			if n, err := strconv.Atoi(b.p.Repr(id)); err == nil {
				if kt, ok := byTID[n]; ok {
					return kt
				}
			}
		}
	}
	// glibc keeps the tid in struct pthread (at +0x2d0 in glibc 2.26–2.43).
	if w, err := b.p.Word(ts.Ident + 0x2d0); err == nil {
		if kt, ok := byTID[int(int32(uint32(w)))]; ok {
			return kt
		}
	}
	return nil
}

func (b *builder) kernelState(th *snapshot.Thread, kt *target.Thread, gil cpython.GIL) {
	k := &snapshot.Kernel{Proc: kt.State}
	th.Kernel = k
	if !kt.InSyscall {
		th.State = snapshot.StateRunning
		if kt.State == "" && kt.Regs == nil {
			th.State = snapshot.StateUnknown
		}
		return
	}
	nr := kt.Syscall
	k.CutShort = kt.CutShort
	if nr == target.SysRestart {
		// An earlier stop interrupted a timed wait; the kernel resumes it.
		k.Restarted = true
		if call, how, ok := restarted(b.t, kt, &b.sites); ok {
			nr, k.RestartedBy = call, how
		}
	}
	k.Nr, k.Syscall = nr, syscallName(nr)
	if k.Syscall == "" {
		k.Syscall = fmt.Sprintf("syscall %d", nr)
	}
	th.State = stateOf(nr, kt.Args)
	if fd, ok := fdOf(nr, kt.Args); ok {
		k.FD = &fd
	}
	if fds, timed, ok := waitArgs(b.p.Word, nr, kt.Args); ok {
		k.FDs, k.Timed = fds, timed
	}
	if nr == sysWait4 {
		pid := int(int32(uint32(kt.Args[0])))
		k.WaitPID = &pid
	}
	if nr == target.SysRestart {
		// A resumed wait whose call nothing could tell (restarted): futex,
		// nanosleep and poll restart this way only when timed. The argument
		// registers still hold the first call's: a futex word in the GIL's
		// condition variable is a wait for the GIL.
		k.Timed = true
		if gil.WaitsForGIL(kt.Args[0]) {
			k.Futex = snapshot.Addr(kt.Args[0])
			th.GIL = snapshot.GILWaiting
		}
		return
	}
	if nr != sysFutex {
		return
	}
	uaddr := kt.Args[0]
	k.Futex = snapshot.Addr(uaddr)
	k.Timed = kt.Args[3] != 0 // futex(uaddr, op, val, timeout, …)
	if gil.WaitsForGIL(uaddr) {
		th.GIL = snapshot.GILWaiting
		return
	}
	if b.p.Version.Minor >= 13 {
		// 3.13+ parks on a semaphore inside a wait_entry on the waiter's own
		// stack: {park_arg, addr, sema, …}, so the parked address sits 8 bytes
		// below the futex word.
		if v, err := b.p.Word(uaddr - 8); err == nil && v > 0xffff {
			k.Parked = snapshot.Addr(v)
		}
	}
}

// frame fills out, a zero Frame, from f. Both by address: the two are
// hundreds of bytes, and a snapshot has tens of thousands.
func (b *memBuilder) frame(out *snapshot.Frame, f *cpython.Frame, globals *globalNames) {
	*out = snapshot.Frame{Function: f.Function, Qualname: f.Qualname, File: f.File, Line: f.Line,
		FirstLine: f.FirstLine, Addr: snapshot.Addr(f.Addr)}
	if f.Signal != 0 {
		out.SignalHandler = &snapshot.FrameSignal{Number: f.Signal, Name: signalName(f.Signal)}
	}
	b.position(out, f)
	for _, v := range f.Locals {
		if v.Value == 0 {
			continue
		}
		switch {
		case b.opts.Locals:
			if err := local(b.p, b.opts, out, v); err != nil {
				b.missf("the value of %s in %s() is unreadable: %v", v.Name, f.Function, err)
			}
		case b.opts.ReadLocals:
			b.p.ReprLimited(v.Value, localsLimits(b.opts))
		}
		if ob := b.d.objs.Add(v.Value); ob != nil {
			b.ref(out, v.Name, ob)
			continue
		}
		if v.Name == "self" || v.Name == "cls" {
			b.attrsOf(out, v)
		}
		if b.d.objs.Plain(v.Value) {
			continue // a number, a string, a function: it leads nowhere
		}
		for _, r := range b.reach(v.Value) {
			b.ref(out, v.Name+r.path, r.ob)
		}
	}
	for _, m := range f.With {
		ob := b.d.objs.Add(m)
		if ob == nil {
			ob = b.d.objs.AddOther(m)
		}
		if ob != nil {
			out.With = append(out.With, ob.ID)
			if b.d.withHeld == nil {
				b.d.withHeld = map[string]bool{}
			}
			b.d.withHeld[ob.ID] = true
		}
	}
	if c := f.Calling; c != nil {
		if ob := b.d.objs.Add(c.Self); ob != nil {
			out.Calling = &snapshot.Call{Object: ob.ID, Method: c.Method, Via: c.Via}
		}
	}
	if f.Globals != 0 && globals.modules.claim(f.Globals) {
		b.nameGlobals(f.Globals, "", globals)
	}
}

// attrsOf names the primitives held in the attributes of `self`.
func (b *memBuilder) attrsOf(out *snapshot.Frame, v cpython.Var) {
	cls := b.p.TypeName(v.Value)
	for name, a := range b.p.InstanceAttrs(v.Value) {
		if ob := b.d.objs.Add(a); ob != nil {
			b.ref(out, v.Name+"."+name, ob)
			if cls != "" {
				b.d.objs.Name(ob, cls+"."+name)
			}
		}
	}
}

func (b *memBuilder) ref(out *snapshot.Frame, name string, ob *snapshot.Object) {
	if out.Refs == nil {
		out.Refs = map[string]string{}
	}
	out.Refs[name] = ob.ID
	b.d.objs.Name(ob, name)
}

// maxGlobals bounds the module globals examined per module.
const maxGlobals = 4096

// globalNames is what the decoders of one snapshot have named after module
// globals: the dicts of the frames' modules, and the modules of the
// program's own those import, each under the name it is imported as.
type globalNames struct {
	modules claims[uint64]
	imports claims[importAs]
}

// importAs is a module's dict and a name it is imported as.
type importAs struct {
	dict uint64
	name string
}

// maxImports bounds the imported modules whose globals are named, and
// maxImportDepth how deep (pkg.mod.jobs: 2).
const (
	maxImports     = 64
	maxImportDepth = 2
)

// nameGlobals gives module-level primitives their global names ("ledger"),
// prefix first: "" for a frame's own module, and "state." for a module of
// the program's own it imports as state, whose globals its functions reach
// as state.shutdown (cpython.ProgramModule). In a module of the program's
// own, what the globals lead to (reach.go), the attributes of its classes
// and the globals of its own modules it imports, two imports deep, are
// named too; in a library's module, the attributes of its module-level
// instances only (its globals are hundreds of functions and classes, and
// the program's objects are seldom among what they lead to).
func (b *memBuilder) nameGlobals(dict uint64, prefix string, names *globalNames) {
	items := b.p.DictStrItems(dict, maxGlobals)
	module, _ := b.p.Str(items["__name__"], 256)
	own := prefix != "" || b.p.ProgramFileOf(items["__file__"]) || module == "__main__"
	for name, v := range items {
		if len(name) > 2 && name[:2] == "__" {
			continue
		}
		if ob := b.d.objs.Add(v); ob != nil {
			b.d.objs.Name(ob, prefix+name)
			setGlobal(ob, prefix+name)
			continue
		}
		if b.d.objs.Plain(v) {
			continue // a number, a string, a function: it leads nowhere
		}
		if !own {
			if b.p.IsInstance(v) {
				b.nameAttrs(v, prefix+name)
			}
			continue
		}
		if cls := b.p.ClassDict(v, module); cls != 0 {
			// A class of the module's own: "Pipeline.jobs".
			b.nameClass(cls, prefix+name+".")
			continue
		}
		if m := b.p.ProgramModule(v); m != 0 {
			if strings.Count(prefix, ".") < maxImportDepth && names.imports.size() < maxImports &&
				names.imports.claim(importAs{m, prefix + name}) {
				b.nameGlobals(m, prefix+name+".", names)
			}
			continue
		}
		// What the global leads to: a module-level object of the
		// program's own class holds "catalog.write_lock" (also
		// "RWLock.write_lock"), a dict "QUEUES['a']"; any function
		// reaches them as it reaches the global.
		cls := ""
		if b.p.IsInstance(v) {
			cls = b.p.TypeName(v)
		}
		for _, r := range b.reach(v) {
			full := prefix + name + r.path
			b.d.objs.Name(r.ob, full)
			if cls != "" && oneStep(r.path) {
				b.d.objs.Name(r.ob, cls+r.path)
			}
			setGlobal(r.ob, full)
		}
	}
}

// nameAttrs names the primitives held in the attributes of the module-level
// instance v, the global name, as "name.attr" and "Class.attr".
func (b *memBuilder) nameAttrs(v uint64, name string) {
	cls := b.p.TypeName(v)
	for attr, a := range b.p.InstanceAttrs(v) {
		if ob := b.d.objs.Add(a); ob != nil {
			b.d.objs.Name(ob, name+"."+attr)
			if cls != "" {
				b.d.objs.Name(ob, cls+"."+attr)
			}
			setGlobal(ob, name+"."+attr)
		}
	}
}

// nameClass gives the primitives that are attributes of a class their
// names under it, prefix first ("Pipeline.", "state.Pipeline.").
func (b *memBuilder) nameClass(dict uint64, prefix string) {
	for name, v := range b.p.DictStrItems(dict, maxGlobals) {
		if len(name) > 2 && name[:2] == "__" {
			continue
		}
		if ob := b.d.objs.Add(v); ob != nil {
			b.d.objs.Name(ob, prefix+name)
			setGlobal(ob, prefix+name)
		}
	}
}

func (b *builder) warnf(format string, args ...any) {
	if len(b.s.Target.Warnings) < 200 {
		b.s.Target.Warnings = append(b.s.Target.Warnings, fmt.Sprintf(format, args...))
	}
}

func (b *memBuilder) warnf(format string, args ...any) {
	if len(b.d.warnings) < 200 {
		b.d.warnings = append(b.d.warnings, fmt.Sprintf(format, args...))
	}
}

// missf records memory the decode needed and could not read: the snapshot
// is then incomplete (Target.Missing).
func (b *memBuilder) missf(format string, args ...any) {
	if len(b.d.missing) < 200 {
		b.d.missing = append(b.d.missing, fmt.Sprintf(format, args...))
	}
}

// unmatchedWaits finds the lock behind a futex wait that matches no object
// reached from the frames.
func (b *builder) unmatchedWaits() {
	keys := map[snapshot.Addr]bool{}
	b.objs.Each(func(ob *snapshot.Object) {
		if ob.WaitKey != 0 {
			keys[ob.WaitKey] = true
		}
	})
	for _, th := range b.s.Threads {
		k := th.Kernel
		if k == nil || k.Futex == 0 || th.GIL == snapshot.GILWaiting || keys[k.Futex] || keys[k.Parked] {
			continue
		}
		if obj, ok := b.p.LockForWait(uint64(k.Futex), uint64(k.Parked)); ok {
			if ob := b.objs.Add(obj); ob != nil {
				keys[ob.WaitKey] = true
			}
		}
	}
}
