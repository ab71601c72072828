// Package capture takes a Snapshot of a Python process: it opens the target (a
// live pid or a core file), reads the interpreter through package cpython while
// the target's threads are stopped, lets them go, and assembles the model.
package capture

import (
	"errors"
	"fmt"
	"os"
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
	Native       bool   // every thread's native stack, Python frames beside their interpreter frames
	NonBlocking  bool   // never stop a live target (the snapshot may be inconsistent)
	Exe          string // core: local copy of the executable
	Sysroot      string // core: folder holding copies of the mapped files
	NoSource     bool   // leave out the source lines (repeated looks)

	// Stop stops a live target for its consistent copy; nil seizes it
	// with live.Attach. A process pyhang already traces is stopped by its
	// own tracer.
	Stop func(pid int) (Stopped, error)
	// Keep, if set, keeps more memory in the same pause (see Keeper).
	Keep Keeper
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

// Take reads a snapshot of the target named by arg.
//
// A live target is read without stopping it first, to parse the interpreter's
// ELF file and learn which memory a snapshot needs; its threads are then
// stopped only while that memory is copied (see frozen.go).
func Take(arg string, opts Options) (*snapshot.Snapshot, error) {
	// A snapshot allocates much short-lived memory; collect less often.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	if pid, err := strconv.Atoi(arg); err == nil && pid > 0 && !opts.NonBlocking {
		return takeLive(pid, opts)
	}
	t, err := Open(arg, opts)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	s, err := Read(t, opts)
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
	p, err := cpython.Open(t)
	if err != nil {
		// A truncated core or a missing file often is the reason: say so.
		if w := t.Warnings(); len(w) > 0 {
			return nil, fmt.Errorf("%w (%s)", err, strings.Join(w, "; "))
		}
		return nil, err
	}
	return read(t, p, opts)
}

// takeLive snapshots a running process, stopping it only to copy memory.
func takeLive(pid int, opts Options) (*snapshot.Snapshot, error) {
	peek, err := live.Attach(pid, live.Options{NonBlocking: true})
	if err != nil {
		return nil, err
	}
	defer peek.Close()
	p, err := cpython.Open(peek)
	if err != nil {
		return nil, err
	}
	// The first pass only learns the working set: no source lines.
	if _, err := decode(peek, p, opts, nil); err != nil {
		return nil, err
	}
	if opts.Keep != nil {
		if err := opts.Keep.Plan(peek); err != nil {
			return nil, err
		}
	}
	var stacks *stackCopy
	if opts.Native {
		stacks = copyBlockedStacks(peek)
	}
	fz, err := freeze(peek, pid, p.Pages(), stacks, opts)
	if err != nil {
		return nil, err
	}
	p.Rebind(fz)
	return read(fz, p, opts)
}

// read decodes the snapshot, with where each thread's program counter is
// (and its native stack with --native), and quotes each frame's source line.
func read(t target.Target, p *cpython.Process, opts Options) (*snapshot.Snapshot, error) {
	mods := native.NewModules(t.Mappings(), t.OpenFile)
	defer mods.Close()
	mods.Adopt(p.Binary, p.Bin)
	if fz, ok := t.(*frozen); ok {
		mods.ImagesFrom(fz.Process) // the [vdso] does not change: read it unstopped
	} else {
		mods.ImagesFrom(t)
	}
	s, err := decode(t, p, opts, mods)
	if err != nil {
		return nil, err
	}
	s.Target.Warnings = append(s.Target.Warnings, mods.Warnings()...)
	if !opts.NoSource {
		addSource(s, viewOf(t, opts))
	}
	if t.Kind() == "pid" {
		addSocketFacts(s, t.PID())
		addFamily(s, t.PID())
	}
	osNames(s, t)
	openPipes(s, t)
	return s, nil
}

// viewOf is the target's own view of its files.
func viewOf(t target.Target, opts Options) *fileView {
	if t.Kind() == "pid" {
		return liveView(t.PID())
	}
	return coreView(opts.Sysroot)
}

// decode reads the snapshot from target memory; mods is nil in the pass that
// only learns the working set of a live target.
func decode(t target.Target, p *cpython.Process, opts Options, mods *native.Modules) (*snapshot.Snapshot, error) {
	b := &builder{t: t, p: p, opts: opts, objs: p.NewObjects(), mods: mods, stackMem: t}
	if fz, ok := t.(*frozen); ok {
		// Unwinding reads the stacks as copied while the target was stopped, never the running process.
		b.stackMem = fz.copied()
	}
	if err := b.read(); err != nil {
		return nil, err
	}
	if pr, ok := t.(interface{ Paused() time.Duration }); ok {
		ms := float64(pr.Paused().Microseconds()) / 1000
		b.s.Target.PausedMS = &ms
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
	return b.s, nil
}

type builder struct {
	t        target.Target
	p        *cpython.Process
	opts     Options
	objs     *cpython.Objects
	s        *snapshot.Snapshot
	mods     *native.Modules // nil: no native frames (the working-set pass)
	stackMem target.Memory   // where native stacks are read
}

func (b *builder) read() error {
	t, p := b.t, b.p
	b.s = &snapshot.Snapshot{
		Schema: snapshot.Schema,
		Target: snapshot.TargetInfo{
			Kind: t.Kind(), PID: t.PID(), Executable: t.Executable(),
			Python: p.V.String(), Binary: p.Binary,
		},
	}
	if si := t.Signal(); si != nil {
		b.s.Target.Signal = signalInfo(si)
	}
	tstates, err := p.Threads()
	if err != nil && len(tstates) == 0 {
		return err
	}
	if err != nil {
		b.warnf("thread list incomplete: %v", err)
		b.s.Target.Missing = append(b.s.Target.Missing, fmt.Sprintf("the thread list is incomplete: %v", err))
	}
	gil, gilErr := p.GIL()
	if gilErr != nil {
		b.warnf("GIL state unreadable: %v", gilErr)
	}
	mainIdent, _ := p.MainThreadIdent()
	mainInterp, _ := p.MainInterpreter()
	threadObjs, err := p.ThreadObjects()
	if err != nil {
		b.warnf("thread names unavailable: %v", err)
	}
	kthreads := t.Threads()
	byTID := map[int]*target.Thread{}
	for i := range kthreads {
		byTID[kthreads[i].TID] = &kthreads[i]
	}
	globalsSeen := map[uint64]bool{}
	starting := startingThreads(tstates)
	for _, ts := range tstates {
		th := snapshot.Thread{Ident: ts.Ident, Main: ts.Ident == mainIdent, Tstate: snapshot.Addr(ts.Addr),
			GIL: snapshot.GILUnknown, State: snapshot.StateUnknown, Frames: []snapshot.Frame{}}
		if ts.Err != nil {
			b.warnf("thread %#x: %v", ts.Ident, ts.Err)
		}
		if starting[ts.Addr] {
			// Not yet running: its ident and native id are still those of
			// the thread starting it, whose kernel thread is not its own.
			th.Ident, th.Main = 0, false
			b.warnf("thread state %#x: a thread being started (no frame yet, and its creator's ident)", ts.Addr)
			b.s.Threads = append(b.s.Threads, th)
			continue
		}
		if obj, ok := threadObjs[ts.Ident]; ok {
			th.Name = p.ThreadName(obj)
			if th.Ident != 0 {
				b.objs.Add(obj)
			}
		}
		kt := b.kernelThread(ts, byTID, threadObjs)
		if kt != nil {
			th.TID = kt.TID
			b.kernelState(&th, kt, gil)
		}
		if gilErr == nil {
			switch {
			case gil.Locked && gil.Holder == ts.Addr:
				th.GIL = snapshot.GILHeld
			case th.GIL != snapshot.GILWaiting:
				th.GIL = snapshot.GILNone
			}
		}
		for _, f := range ts.Frames {
			th.Frames = append(th.Frames, b.frame(f, globalsSeen))
		}
		b.ioContext(&th, ts)
		switch {
		case ts.Interp != mainInterp && mainInterp != 0:
			// A subinterpreter's state may run on another thread than
			// its thread_id names: its native stack is read once it is
			// placed (subNative).
		case b.mods != nil && (b.opts.Native || b.faulted(kt)):
			// A crashed thread's native stack is the crash's evidence:
			// it is read even without --native (one thread, in a core).
			b.nativeStack(&th, kt, &ts)
		case b.mods != nil:
			b.innermost(&th, kt)
		}
		b.s.Threads = append(b.s.Threads, th)
	}
	b.interpreters(tstates)
	b.subNative(tstates, byTID)
	b.unmatchedWaits()
	b.readAsyncio(tstates, globalsSeen)
	b.noStateThreads(kthreads, gil)
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
	b.s.Objects = b.objs.All()
	return nil
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
		if n[ts.Ident] > 1 && len(ts.Frames) == 0 {
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
	k.Nr, k.Syscall = kt.Syscall, syscallName(kt.Syscall)
	if k.Syscall == "" {
		k.Syscall = fmt.Sprintf("syscall %d", kt.Syscall)
	}
	th.State = stateOf(kt.Syscall, kt.Args)
	if fd, ok := fdOf(kt.Syscall, kt.Args); ok {
		k.FD = &fd
	}
	if fds, timed, ok := waitArgs(b.p.Word, kt.Syscall, kt.Args); ok {
		k.FDs, k.Timed = fds, timed
	}
	if kt.Syscall == sysWait4 {
		pid := int(int32(uint32(kt.Args[0])))
		k.WaitPID = &pid
	}
	if kt.Syscall == sysRestart {
		// A stop (a snapshot before this one) interrupted a wait with a
		// timeout, and the kernel goes on with it through restart_syscall:
		// futex, nanosleep and poll restart this way only when timed. The
		// argument registers still hold the first call's: a futex word in
		// the GIL's condition variable is a wait for the GIL.
		k.Timed = true
		if gil.WaitsForGIL(kt.Args[0]) {
			k.Futex = snapshot.Addr(kt.Args[0])
			th.GIL = snapshot.GILWaiting
		}
		return
	}
	if kt.Syscall != sysFutex {
		return
	}
	uaddr := kt.Args[0]
	k.Futex = snapshot.Addr(uaddr)
	k.Timed = kt.Args[3] != 0 // futex(uaddr, op, val, timeout, …)
	if gil.WaitsForGIL(uaddr) {
		th.GIL = snapshot.GILWaiting
		return
	}
	if b.p.V.Minor >= 13 {
		// 3.13+ parks on a semaphore inside a wait_entry on the waiter's own
		// stack: {park_arg, addr, sema, …}, so the parked address sits 8 bytes
		// below the futex word.
		if v, err := b.p.Word(uaddr - 8); err == nil && v > 0xffff {
			k.Parked = snapshot.Addr(v)
		}
	}
}

func (b *builder) frame(f cpython.Frame, globalsSeen map[uint64]bool) snapshot.Frame {
	out := snapshot.Frame{Function: f.Function, Qualname: f.Qualname, File: f.File, Line: f.Line,
		FirstLine: f.FirstLine, Addr: snapshot.Addr(f.Addr)}
	if f.Signal != 0 {
		out.SignalHandler = &snapshot.FrameSignal{Number: f.Signal, Name: signalName(f.Signal)}
	}
	position(&out, f)
	for _, v := range f.Locals {
		if v.Value == 0 {
			continue
		}
		if b.opts.Locals {
			b.local(&out, v)
		}
		if ob := b.objs.Add(v.Value); ob != nil {
			b.ref(&out, v.Name, ob)
			continue
		}
		if v.Name == "self" || v.Name == "cls" {
			b.attrsOf(&out, v)
			continue
		}
		b.itemsOf(&out, v)
	}
	for _, m := range f.With {
		ob := b.objs.Add(m)
		if ob == nil {
			ob = b.objs.AddOther(m)
		}
		if ob != nil {
			out.With = append(out.With, ob.ID)
		}
	}
	if c := f.Calling; c != nil {
		if ob := b.objs.Add(c.Self); ob != nil {
			out.Calling = &snapshot.Call{Object: ob.ID, Method: c.Method, Via: c.Via}
		}
	}
	if f.Globals != 0 && !globalsSeen[f.Globals] {
		globalsSeen[f.Globals] = true
		b.nameGlobals(f.Globals)
	}
	return out
}

// maxSeqItems bounds the items of a local list or tuple looked at.
const maxSeqItems = 64

// itemsOf names the primitives a local list or tuple holds ("workers[2]").
func (b *builder) itemsOf(out *snapshot.Frame, v cpython.Var) {
	for i, it := range b.p.SeqItems(v.Value, maxSeqItems) {
		if ob := b.objs.Add(it); ob != nil {
			b.ref(out, v.Name+"["+strconv.Itoa(i)+"]", ob)
		}
	}
}

// attrsOf names the primitives held in the attributes of `self`.
func (b *builder) attrsOf(out *snapshot.Frame, v cpython.Var) {
	cls := b.p.TypeName(v.Value)
	for name, a := range b.p.InstanceAttrs(v.Value) {
		if ob := b.objs.Add(a); ob != nil {
			b.ref(out, v.Name+"."+name, ob)
			if cls != "" {
				b.objs.Name(ob, cls+"."+name)
			}
		}
	}
}

func (b *builder) ref(out *snapshot.Frame, name string, ob *snapshot.Object) {
	if out.Refs == nil {
		out.Refs = map[string]string{}
	}
	out.Refs[name] = ob.ID
	b.objs.Name(ob, name)
}

// maxGlobals bounds the module globals examined per module.
const maxGlobals = 4096

// nameGlobals gives module-level primitives their global names ("ledger").
func (b *builder) nameGlobals(dict uint64) {
	for name, v := range b.p.DictStrItems(dict, maxGlobals) {
		if len(name) > 2 && name[:2] == "__" {
			continue
		}
		if ob := b.objs.Add(v); ob != nil {
			b.objs.Name(ob, name)
			if ob.Global == "" || name < ob.Global {
				ob.Global = name
			}
			continue
		}
		if b.p.IsInstance(v) {
			// A module-level object of the program's own class: its
			// primitives are "catalog.write_lock" and "RWLock.write_lock".
			cls := b.p.TypeName(v)
			for attr, a := range b.p.InstanceAttrs(v) {
				if ob := b.objs.Add(a); ob != nil {
					b.objs.Name(ob, name+"."+attr)
					if cls != "" {
						b.objs.Name(ob, cls+"."+attr)
					}
				}
			}
		}
	}
}

func (b *builder) warnf(format string, args ...any) {
	if len(b.s.Target.Warnings) < 200 {
		b.s.Target.Warnings = append(b.s.Target.Warnings, fmt.Sprintf(format, args...))
	}
}

// unmatchedWaits finds the lock behind a futex wait that matches no object
// reached from the frames.
func (b *builder) unmatchedWaits() {
	keys := map[snapshot.Addr]bool{}
	for _, ob := range b.objs.All() {
		if ob.WaitKey != 0 {
			keys[ob.WaitKey] = true
		}
	}
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
