package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// deadlockSummary words the deadlocks whose cure is not lock order: a cycle
// through a module's import lock.
func (w *words) deadlockSummary(d *heuristics.DeadlockDetails) (string, bool) {
	if p := d.Pool; p != nil {
		var names []string
		for _, tid := range p.Workers {
			names = append(names, w.threadName(tid))
		}
		size := ""
		switch {
		case p.Executor != nil && p.Executor.Kind == snapshot.KindMPPool:
			size = fmt.Sprintf(" (processes=%d)", p.MaxWorkers)
		case p.MaxWorkers > 0:
			size = fmt.Sprintf(" (max_workers=%d, all started)", p.MaxWorkers)
		}
		return fmt.Sprintf("deadlock in a thread pool: every worker of %s (%s) waits for a task queued on that same pool, which has no free worker to run it%s — do not wait inside a task for another task of its own pool: submit it to another pool, or wait for it outside the pool",
			w.poolName(p), strings.Join(names, ", "), size), true
	}
	if s, ok := w.signalDeadlock(d); ok {
		return s, true
	}
	if p := d.Pipe; p != nil {
		return w.pipeSummary(p), true
	}
	if p := d.ParentPipe; p != nil {
		return w.parentPipeSummary(p), true
	}
	if c := d.ChildLock; c != nil {
		return w.childLockSummary(c, d.Probable), true
	}
	if s, ok := w.generatorDeadlock(d); ok {
		return s, true
	}
	var parts []string
	imports := false
	for _, st := range d.Cycle {
		if st.Waits.Kind == snapshot.KindModuleLock {
			imports = true
			parts = append(parts, fmt.Sprintf("%s waits to import %s, which %s is importing", w.threadName(st.Thread), w.shortRef(st.Waits), w.holders(st.HeldBy)))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s waits for %s", w.threadName(st.Thread), w.distinctRef(st.Waits, d.Cycle)))
	}
	if imports {
		return fmt.Sprintf("deadlock through an import lock: %s — do not wait, at import time, for a thread that imports the module: start the thread after the import, from a function the importer calls",
			strings.Join(parts, "; ")), true
	}
	return "", false
}

// holders is "MainThread", "MainThread and worker".
func (w *words) holders(hs []heuristics.Holder) string {
	var names []string
	for _, h := range hs {
		names = append(names, w.threadName(h.Thread))
	}
	if len(names) == 0 {
		return "a thread pyhang does not see"
	}
	return strings.Join(names, " and ")
}

// poolName is the executor's name, else its work queue's.
func (w *words) poolName(p *heuristics.PoolDeadlock) string {
	what := "executor "
	if p.Executor != nil && p.Executor.Kind == snapshot.KindMPPool {
		what = "pool "
		if ob := w.snap.Objects[p.Executor.ID]; ob != nil && ob.Type != "" {
			what = w.esc(ob.Type) + " "
		}
	}
	if p.Executor != nil && p.Executor.Name != nil {
		return what + w.esc(*p.Executor.Name)
	}
	if p.Executor != nil {
		return what + p.Executor.ID
	}
	return "the executor of work queue " + p.WorkQueue.ID
}

// poolEvidence lists the facts of an executor's self-deadlock.
func (w *words) poolEvidence(d *heuristics.DeadlockDetails) []string {
	p := d.Pool
	var out []string
	for _, st := range d.Cycle {
		out = append(out, fmt.Sprintf("%s waits for %s at %s; it is queued on its own pool, not running", w.threadLabel(st.Thread), w.ref(st.Waits), w.frameAt(st.Thread, st.Frame)))
	}
	s := fmt.Sprintf("%d work item(s) wait in the pool's queue %s", p.Queued, p.WorkQueue.ID)
	if p.Executor != nil && p.Executor.Kind == snapshot.KindMPPool {
		return append(out, s+fmt.Sprintf("; the pool has processes=%d and %d worker thread(s), all of them waiting above", p.MaxWorkers, p.Started))
	}
	if p.MaxWorkers > 0 {
		s += fmt.Sprintf("; the executor has max_workers=%d and has started %d worker(s), all of them waiting above", p.MaxWorkers, p.Started)
	} else {
		s += "; the executor was not found, but no thread outside the pool can run to submit more work"
	}
	return append(out, s)
}

// signalDeadlock words a thread whose signal handler waits for a lock the
// code it interrupted holds.
func (w *words) signalDeadlock(d *heuristics.DeadlockDetails) (string, bool) {
	h := d.Handler
	if h == nil {
		return "", false
	}
	st := d.Cycle[0]
	kind, holds := "deadlock", "holds"
	if d.Probable {
		// The interrupted code stands after an acquire() and before its
		// release(): the hold is inferred, and the sentence says so.
		kind, holds = "probable deadlock", "holds (inferred: it stands after an acquire() of it, before the release())"
	}
	return fmt.Sprintf("%s in a %s handler: %s (in %s) waits for %s, which %s, the code it interrupted, %s — a signal handler must not take a lock the interrupted code may hold: only set a flag in the handler, and do the work outside it",
		kind, w.esc(h.Signal.Name), w.frameFunc(h.Thread, h.Frame), w.threadName(st.Thread), w.shortRef(st.Waits),
		w.frameFunc(h.Thread, h.Holder), holds), true
}

// signalEvidence says which frame runs the handler and what it interrupted.
func (w *words) signalEvidence(d *heuristics.DeadlockDetails) string {
	h := d.Handler
	if h == nil {
		return ""
	}
	return fmt.Sprintf("%s runs a %s handler: its arguments are the signal number and the frame it interrupted, %s",
		w.frameAt(h.Thread, h.Frame), w.esc(h.Signal.Name), w.frameAt(h.Thread, h.Interrupted))
}

// streamOf names a child's descriptor the way Popen does.
func streamOf(fd *int) string {
	if fd == nil {
		return "a pipe"
	}
	switch *fd {
	case 0:
		return "its stdin"
	case 1:
		return "its stdout"
	case 2:
		return "its stderr"
	}
	return fmt.Sprintf("its fd %d", *fd)
}

// childName is "child 4360 (python3)", or without a command name when there is none.
func (w *words) childName(pid int, comm string) string {
	s := fmt.Sprintf("child %d", pid)
	if comm != "" {
		s += " (" + w.esc(comm) + ")"
	}
	return s
}

func (w *words) pipeSummary(p *heuristics.PipeDeadlock) string {
	who := w.threadName(p.Thread)
	childReads := p.ChildSyscall == "read" || p.ChildSyscall == "readv"
	switch {
	case p.ReadFD != nil && childReads:
		return fmt.Sprintf("deadlock between this process and %s: %s reads fd %d, a pipe only the child writes to, and the child waits to read %s, a pipe whose write end only this process holds (fd %d) and never closes — close it (p.stdin.close()) before reading the output, or use communicate()",
			w.childName(p.Child, p.Comm), who, *p.ReadFD, streamOf(p.ChildFD), *p.TargetFD)
	case p.ReadFD != nil:
		return fmt.Sprintf("deadlock between this process and %s: %s reads fd %d, a pipe only the child writes to, and the child is blocked writing to %s, a full pipe only this process reads (fd %d), which no thread reads — read both pipes at once: use communicate(), or read each in a thread of its own, or send %s to a file or DEVNULL",
			w.childName(p.Child, p.Comm), who, *p.ReadFD, streamOf(p.ChildFD), *p.TargetFD, streamOf(p.ChildFD))
	case p.WriteFD != nil && childReads:
		return fmt.Sprintf("deadlock between this process and %s: %s is blocked writing to fd %d, a full pipe only the child reads, and the child waits to read %s, a pipe whose write end only this process holds (fd %d) — use communicate(), or feed the child from a thread of its own",
			w.childName(p.Child, p.Comm), who, *p.WriteFD, streamOf(p.ChildFD), *p.TargetFD)
	case p.WriteFD != nil:
		return fmt.Sprintf("deadlock between this process and %s: %s is blocked writing to fd %d, a full pipe only the child reads, and the child is blocked writing to %s, a full pipe only this process reads (fd %d), which no thread reads — use communicate(): it writes the input and reads the output together",
			w.childName(p.Child, p.Comm), who, *p.WriteFD, streamOf(p.ChildFD), *p.TargetFD)
	}
	if !p.Proven {
		return fmt.Sprintf("possible pipe deadlock: %s waits for %s to exit, and does not read its %s, which are pipes: a child that writes more than a pipe holds (64 KiB) blocks until this process reads, so neither moves; the core does not show the child's state — use communicate() instead of wait(), it reads the pipes while it waits",
			who, w.childName(p.Child, p.Comm), strings.Join(p.Pipes, " and "))
	}
	if p.ChildThread != 0 {
		return w.childThreadPipeSummary(p, who)
	}
	if (p.ChildSyscall == "read" || p.ChildSyscall == "readv") && p.Popen == nil {
		// No subprocess.Popen: a multiprocessing child reading a Queue or
		// a Pipe (or a bare os.fork()'s pipe).
		return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child waits to read %s, a pipe this process holds open (fd %d) and does not write to — send the child what it waits for before joining it (for a multiprocessing queue, one sentinel per worker), or close this process's end",
			w.childName(p.Child, p.Comm), who, streamOf(p.ChildFD), *p.TargetFD)
	}
	if p.ChildSyscall == "read" || p.ChildSyscall == "readv" {
		return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child waits to read %s, a pipe this process holds open (fd %d) but never closes — close the pipe (p.stdin.close()) before waiting, or use communicate()",
			w.childName(p.Child, p.Comm), who, streamOf(p.ChildFD), *p.TargetFD)
	}
	return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child is blocked writing to %s, a full pipe whose read end this process holds (fd %d) and does not read — use communicate() instead of wait(): it reads the pipes while it waits",
		w.childName(p.Child, p.Comm), who, streamOf(p.ChildFD), *p.TargetFD)
}

// childThreadPipeSummary words a parent waiting for a child that cannot
// exit: the child's main thread waits for another of its threads, which is
// blocked on a pipe that only the parent could read (or close).
func (w *words) childThreadPipeSummary(p *heuristics.PipeDeadlock, who string) string {
	child := w.childName(p.Child, p.Comm)
	thread := w.childThread(p)
	if p.ChildSyscall == "read" || p.ChildSyscall == "readv" {
		return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child cannot exit: its main thread waits for %s, which waits to read its fd %d, a pipe this process holds open (fd %d) and does not write to — send the child what that thread waits for, or close this process's end, before waiting for the child",
			child, who, thread, *p.ChildFD, *p.TargetFD)
	}
	if p.Queue != nil {
		return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child cannot exit: its main thread waits for %s, which is blocked writing what the child put on the queue %s to a full pipe whose read end this process holds (fd %d) and does not read — get() the queue's items before joining the process that put them: a process that put items on a multiprocessing queue exits only once they have all gone into the pipe",
			child, who, thread, w.shortRef(*p.Queue), *p.TargetFD)
	}
	fix := "read the pipe before waiting for the child (for a multiprocessing queue, get() its items before join())"
	if p.Popen != nil {
		fix = "use communicate() instead of wait(): it reads the pipes while it waits"
	}
	return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child cannot exit: its main thread waits for %s, which is blocked writing to %s, a full pipe whose read end this process holds (fd %d) and does not read — %s",
		child, who, thread, streamOf(p.ChildFD), *p.TargetFD, fix)
}

// childThread is "thread 4362 (QueueFeederThr)" of a child, its name left
// out when it is the process's own (the thread never named itself).
func (w *words) childThread(p *heuristics.PipeDeadlock) string {
	s := fmt.Sprintf("thread %d", p.ChildThread)
	if p.ChildThreadComm != "" && p.ChildThreadComm != p.Comm {
		s += " (" + w.esc(p.ChildThreadComm) + ")"
	}
	return s
}

// pipeEvidence lists the facts of a deadlock across a parent and its child.
func (w *words) pipeEvidence(d *heuristics.DeadlockDetails) []string {
	p := d.Pipe
	st := d.Cycle[0]
	if p.ReadFD != nil || p.WriteFD != nil {
		line := ""
		if p.ReadFD != nil {
			line = fmt.Sprintf("%s is blocked in read on fd %d, pipe inode %d, at %s; of every process, only %s holds its write end (/proc)",
				w.threadLabel(st.Thread), *p.ReadFD, p.ReadPipe, w.frameAt(st.Thread, st.Frame), w.childName(p.Child, p.Comm))
		} else {
			line = fmt.Sprintf("%s is blocked in write on fd %d, pipe inode %d, at %s; of every process, only %s holds its read end (/proc)",
				w.threadLabel(st.Thread), *p.WriteFD, p.WritePipe, w.frameAt(st.Thread, st.Frame), w.childName(p.Child, p.Comm))
		}
		out := []string{line}
		if p.Args != "" {
			out = append(out, "the child's command line: "+w.esc(p.Args))
		}
		return append(out,
			fmt.Sprintf("the kernel shows the child blocked in %s on fd %d, pipe inode %d; this process's fd %d is the other end of that pipe, and no other process holds it (/proc)", w.esc(p.ChildSyscall), *p.ChildFD, p.Pipe, *p.TargetFD),
			"no other thread of this process can run to read or close that pipe")
	}
	out := []string{fmt.Sprintf("%s waits for %s at %s (%s)", w.threadLabel(st.Thread), w.ref(st.Waits), w.frameAt(st.Thread, st.Frame), w.evidence(w.locks.Waits[st.Thread].Evidence))}
	if p.Args != "" {
		out = append(out, "the child's command line: "+w.esc(p.Args))
	}
	if p.Proven && p.ChildThread != 0 {
		out = append(out,
			fmt.Sprintf("the kernel shows %s of the child blocked in %s on fd %d, pipe inode %d, and every other thread of the child, its main thread too, waiting without a timeout on a futex of the child's own, which no other process can wake (/proc)", w.childThread(p), w.esc(p.ChildSyscall), *p.ChildFD, p.Pipe),
			fmt.Sprintf("this process's fd %d is the other end of that pipe; of every other process, only the child holds it (/proc)", *p.TargetFD),
			"no other thread of this process can run to read or close the pipe")
	} else if p.Proven {
		out = append(out, fmt.Sprintf("the kernel shows the child blocked in %s on fd %d, pipe inode %d; this process's fd %d is the other end of that pipe (/proc)", w.esc(p.ChildSyscall), *p.ChildFD, p.Pipe, *p.TargetFD))
		out = append(out, "no other thread of this process can run to read or close the pipe")
	} else {
		out = append(out, fmt.Sprintf("the Popen connects the child's %s to pipes, and its returncode is unset: the child had not been reaped", strings.Join(p.Pipes, ", ")))
	}
	return out
}

// childLockSummary words a parent waiting for a child that waits for a
// lock the parent holds (probably: taken by a bare acquire()).
func (w *words) childLockSummary(c *heuristics.ChildLockDeadlock, probable bool) string {
	if c.Unset {
		return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child waits for %s to be set, which no thread of this process can do while it waits — set the event before waiting for the child, or join with a timeout",
			w.childName(c.Child, c.Comm), w.threadName(c.Thread), w.shortRef(c.Lock))
	}
	if c.ByProcess {
		return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child waits to lock the file %s, on which this process holds a lock that none of its threads can run to release — unlock or close the file before waiting for the child, or do not lock it in the child",
			w.childName(c.Child, c.Comm), w.threadName(c.Thread), w.esc(c.File))
	}
	var holders []string
	for _, h := range c.HeldBy {
		holders = append(holders, w.threadName(h.Thread))
	}
	if probable {
		return fmt.Sprintf("probable deadlock between this process and %s: %s waits for the child to exit, and the child waits for %s, a lock the two processes share, which %s probably holds (inferred: it stands after an acquire() of it, before the release()) — release the lock before waiting for the child, or do not take it in the child",
			w.childName(c.Child, c.Comm), w.threadName(c.Thread), w.shortRef(c.Lock), strings.Join(holders, " and "))
	}
	return fmt.Sprintf("deadlock between this process and %s: %s waits for the child to exit, and the child waits for %s, a lock the two processes share, which %s holds — release the lock before waiting for the child, or do not take it in the child",
		w.childName(c.Child, c.Comm), w.threadName(c.Thread), w.shortRef(c.Lock), strings.Join(holders, " and "))
}

// childLockEvidence lists the facts of a deadlock across a parent and its
// child over a lock they share.
func (w *words) childLockEvidence(d *heuristics.DeadlockDetails) []string {
	c := d.ChildLock
	st := d.Cycle[0]
	out := []string{fmt.Sprintf("%s waits for %s at %s (%s)", w.threadLabel(st.Thread), w.ref(st.Waits), w.frameAt(st.Thread, st.Frame), w.evidence(w.locks.Waits[st.Thread].Evidence))}
	if c.ByProcess {
		held := "this process holds a lock on it"
		if len(c.FDs) > 0 {
			held += fmt.Sprintf(" through fd %d", c.FDs[0])
		}
		return append(out, fmt.Sprintf("the kernel shows %s waiting to lock %s (/proc/locks): %s", w.childName(c.Child, c.Comm), w.esc(c.File), held),
			"no other thread of this process can run to unlock it or close the file")
	}
	if c.Unset {
		where := fmt.Sprintf("both processes map %s there", w.esc(c.File))
		if c.TargetFutex != 0 {
			where = fmt.Sprintf("the child maps there the file this process maps at %s, %s (the same device and inode)", c.TargetFutex, w.esc(c.File))
		}
		return append(out,
			fmt.Sprintf("the kernel shows %s in a futex wait on %s, the semaphore that waiters on %s park on: %s (/proc)", w.childName(c.Child, c.Comm), c.Futex, w.ref(c.Lock), where),
			fmt.Sprintf("%s is not set (its flag semaphore's value is 0)", w.ref(c.Lock)),
			"no other thread of this process can run to set it; no other thread of the child can run (each waits on a futex of its own) and it has no child; every other child of this process is dead, a helper process of multiprocessing (its fork server, its resource tracker), or waits on the same event (/proc)")
	}
	if c.TargetFutex != 0 {
		out = append(out, fmt.Sprintf("the kernel shows %s in a futex wait on %s, the semaphore of %s: the child maps there the file this process maps at %s, %s (the same device and inode, /proc)",
			w.childName(c.Child, c.Comm), c.Futex, w.ref(c.Lock), c.TargetFutex, w.esc(c.File)))
	} else {
		out = append(out, fmt.Sprintf("the kernel shows %s in a futex wait on %s, the semaphore of %s: both processes map %s there (/proc)",
			w.childName(c.Child, c.Comm), c.Futex, w.ref(c.Lock), w.esc(c.File)))
	}
	for _, h := range c.HeldBy {
		verb := "holds"
		if h.Probable {
			verb = "probably holds"
		}
		line := fmt.Sprintf("%s %s %s (%s)", w.threadLabel(h.Thread), verb, w.ref(c.Lock), w.evidence(h.Evidence))
		if h.Thread != c.Thread {
			line += ", and waits forever itself"
		}
		out = append(out, line)
	}
	return out
}

// forkSummary words a lock inherited locked over fork.
func (w *words) forkSummary(d *heuristics.OrphanedLockDetails) string {
	o := d.Fork
	by := "by a thread of the parent process"
	if o.Owner != nil && o.Owner.Name != "" {
		by = fmt.Sprintf("by %s, a thread of the parent process", w.esc(o.Owner.Name))
	}
	waiters := fmt.Sprintf("%d thread(s) wait", len(d.Waiters))
	if o.Threads == 1 && len(d.Waiters) == 1 {
		waiters = fmt.Sprintf("its only thread, %s, waits", w.threadName(d.Waiters[0].Thread))
	}
	return fmt.Sprintf("orphaned lock inherited over fork: %s was locked when this process was forked, %s that does not exist in this child; %s for it forever — do not fork while other threads may hold locks: fork before starting threads, reinitialise the lock in the child with os.register_at_fork(after_in_child=…), or start children with multiprocessing's \"spawn\" or \"forkserver\"",
		w.shortRef(d.Lock), by, waiters)
}

// forkEvidence lists how the lock is known to come from the parent.
func (w *words) forkEvidence(d *heuristics.OrphanedLockDetails) []string {
	o := d.Fork
	var out []string
	if fc := o.Fork; fc != nil {
		out = append(out, fmt.Sprintf("this process's stack went through os.fork() at %s in %s, which returns in the parent and in the child", w.site(&fc.Site), w.esc(fc.Site.Function)))
	}
	if o.Owner != nil {
		s := fmt.Sprintf("its RLock owner field names thread ident %d, the Thread object %s", o.Owner.Ident, o.Owner.Object)
		if o.Owner.Name != "" {
			s += fmt.Sprintf(" (\"%s\"", w.esc(o.Owner.Name))
			if o.Owner.NativeID > 0 {
				s += fmt.Sprintf(", tid %d", o.Owner.NativeID)
			}
			s += ")"
		}
		out = append(out, s+", which is not a thread of this process")
	}
	if o.OwnerInParent {
		out = append(out, fmt.Sprintf("the kernel shows tid %d as a thread of the parent process %d (/proc)", o.Owner.NativeID, o.ParentPID))
	} else if o.ParentPID > 0 {
		out = append(out, fmt.Sprintf("the parent process is %d", o.ParentPID))
	}
	if o.Threads == 1 {
		out = append(out, "this process has one thread, so no thread of it can release the lock")
	}
	for _, st := range o.Acquires {
		out = append(out, fmt.Sprintf("acquire() of it at %s in %s, a function this thread does not stand in: probably where a thread of the parent took it", w.site(&st), w.esc(st.Function)))
	}
	return out
}

// parentPipeSummary is the summary of the child's side of a pipe deadlock
// with its parent.
func (w *words) parentPipeSummary(p *heuristics.ParentPipeDeadlock) string {
	held := ""
	if n := len(p.Holds); n > 0 {
		var names []string
		for _, h := range p.Holds {
			names = append(names, w.shortRef(h))
		}
		held = fmt.Sprintf(", holding %s,", strings.Join(names, " and "))
	}
	return fmt.Sprintf("deadlock between this process and its parent %s: %s%s is blocked writing to %s, a full pipe only the parent reads, and the parent waits for this process to exit (%s) without reading it — the parent must read the pipe while it waits: communicate() instead of wait(), or send %s to a file or DEVNULL",
		w.parentName(p.Parent, p.Comm), w.threadName(p.Thread), held, streamOf(&p.FD), w.esc(p.Waits), strings.TrimPrefix(streamOf(&p.FD), "its "))
}

// parentPipeEvidence lists the facts of the child's side of a pipe deadlock
// with its parent.
func (w *words) parentPipeEvidence(d *heuristics.DeadlockDetails) []string {
	p := d.ParentPipe
	st := d.Cycle[0]
	out := []string{
		fmt.Sprintf("%s is blocked in %s on fd %d, pipe inode %d, at %s; of every process, only the parent holds its read end (/proc)",
			w.threadLabel(p.Thread), w.esc(p.Syscall), p.FD, p.Pipe, w.frameAt(st.Thread, st.Frame)),
		fmt.Sprintf("every thread of the parent, %s, sits in %s for this process or any child: it reads nothing until this process exits (/proc)",
			w.parentName(p.Parent, p.Comm), w.esc(p.Waits)),
	}
	if len(p.Holds) > 0 {
		out = append(out, fmt.Sprintf("%s holds %s while it writes", w.threadName(p.Thread), w.refList(p.Holds)))
	}
	return append(out, "no other thread of this process can run and let it exit")
}

// parentName is "4360 (python3)", or the pid alone when there is no command name.
func (w *words) parentName(pid int, comm string) string {
	s := strconv.Itoa(pid)
	if comm != "" {
		s += " (" + w.esc(comm) + ")"
	}
	return s
}

// refList is "lock a (lock@0x…) and RLock b (rlock@0x…)".
func (w *words) refList(rs []locks.Ref) string {
	var names []string
	for _, r := range rs {
		names = append(names, w.ref(r))
	}
	return strings.Join(names, " and ")
}
