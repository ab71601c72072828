// Package heuristics turns waits, holds and the wait-for graph into findings:
// what is wrong, with the threads and objects involved and the typed facts
// behind it. It puts nothing into words; the command line does.
package heuristics

import (
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// Kind names a kind of finding (the JSON contract's findings[].kind).
type Kind string

// Finding kinds.
const (
	Deadlock         Kind = "deadlock"
	OrphanedLock     Kind = "orphaned-lock"
	StarvedConsumers Kind = "starved-consumers"
	StuckIO          Kind = "stuck-io"
	GILHeldInNative  Kind = "gil-held-in-native"
	AllBlocked       Kind = "all-blocked"
	// BlockedEventLoop: an event loop's thread sits in a blocking call made
	// by a coroutine, so none of the loop's other tasks can run.
	BlockedEventLoop Kind = "blocked-event-loop"
	Crash            Kind = "crash"
	// HangAtExit and HangInGC: see interpstate.go.
)

// Severity grades a finding.
type Severity string

// Severities: an error is proven to never get better; a warning is likely
// to; info adds context to the others.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Info    Severity = "info"
)

// Finding is one problem.
type Finding struct {
	Kind     Kind     `json:"kind"`
	Severity Severity `json:"severity"`
	Threads  []int    `json:"threads"`
	Objects  []string `json:"objects"`
	// Tasks are the ids of the asyncio tasks involved, absent when none is.
	Tasks []string `json:"tasks,omitempty"`
	// Details are the structured facts of this kind of finding: one of the
	// *Details types of this package.
	Details any `json:"details"`
}

// Problem reports whether the finding is an error or a warning.
func (f *Finding) Problem() bool { return f.Severity == Error || f.Severity == Warning }

// Find runs every heuristic. A crash comes first: it is why the process is
// gone.
func Find(s *snapshot.Snapshot, a *locks.Analysis, g *waitgraph.Graph) []Finding {
	var out []Finding
	if f, ok := crash(s); ok {
		out = append(out, f)
	}
	out = append(out, deadlocks(s, a, g)...)
	// An orphaned asyncio.Lock explains its waiting tasks as a cycle does
	// (loopStalls); it is listed with the other orphaned locks below.
	orphans := orphanedLocks(s, a)
	out = append(out, loopStalls(s, a, append(slices.Clip(out), orphans...))...)
	out = append(out, poolDeadlocks(s, a)...)
	out = append(out, mpPoolDeadlocks(s, a)...)
	out = append(out, pipeDeadlocks(s, a)...)
	out = append(out, childLockDeadlocks(s, a)...)
	out = append(out, orphans...)
	causes := len(out)
	live, likely := mayRun(s, a, nil), mayRun(s, a, newReferrers(s))
	waits := append(abandonedWaits(s, a, live, likely), mpAbandoned(s, a, live)...)
	waits = append(waits, starvedConsumers(s, a, live, likely)...)
	// A wait no thread left will end whose would-be ender is stuck behind
	// the waiter is a lockout: the starved queue or abandoned wait tells
	// it, not a probable deadlock besides.
	feeds := lockouts(waits, feedDeadlocks(s, a, live, out))
	chainedWaits(waits)
	for _, f := range waits {
		if explainedBy(out[:causes], f.Details) {
			f.Severity = Info
			setConsequence(f.Details)
		}
		out = append(out, f)
	}
	out = append(out, feeds...)
	out = append(out, asleepLoops(s, a)...)
	blocked := blockedEventLoops(s, a, out)
	if f, ok := stuckIO(s, a); ok && !loopThreadsOnly(f, blocked) {
		out = append(out, f)
	}
	if f, ok := stuckPipes(s, a, out); ok {
		out = append(out, f)
	}
	out = append(out, blocked...)
	if f, ok := gilHeldInNative(s, a); ok {
		out = append(out, f)
	}
	if f, ok := allBlocked(s, a); ok {
		if slices.ContainsFunc(out, explains) {
			// The deadlock or orphaned lock above is the cause; this only
			// adds that nothing else can run either.
			f.Severity = Info
			f.Details.(*AllBlockedDetails).Consequence = true
		}
		out = append(out, f)
	}
	return append(out, interpreterState(s, a, likely)...)
}

// explains reports whether a finding found before all-blocked is its cause:
// any is, but a probable deadlock's warning (which thread holds one of its
// locks is not known) and a blocked event loop's (it says the loop cannot
// run, not why the thread it waits for never lets go), beside which the
// proven all-blocked stays the error.
func explains(f Finding) bool {
	if f.Severity == Error {
		return true
	}
	d, ok := f.Details.(*DeadlockDetails)
	return f.Kind != BlockedEventLoop && (!ok || !d.Probable)
}

// ThreadWait is one thread's wait, as findings list them; or one asyncio
// task's, when Task is set: Thread is then the thread running the task's
// loop (0 when none runs it) and Frame indexes the task's frames.
type ThreadWait struct {
	Thread int       `json:"thread"`
	Waits  locks.Ref `json:"waits_for"`
	// Frame is the index of the waiting frame in the thread's frames.
	Frame int `json:"frame"`
	// Evidence is how the wait is known (the thread's waiting_on basis): a
	// finding that rests on an indirect basis (python-frame) says so.
	Evidence []locks.Evidence `json:"basis,omitempty"`
	Task     string           `json:"task,omitempty"`
}

func threadWait(a *locks.Analysis, tid int) ThreadWait {
	w := a.Waits[tid]
	return ThreadWait{Thread: tid, Waits: w.Ref, Frame: w.Frame, Evidence: w.Evidence}
}

// DeadlockDetails is a cycle of waits: each thread waits for a resource
// that the next one holds (or, for a join, is).
type DeadlockDetails struct {
	Cycle []CycleStep `json:"cycle"`
	// Loop is set, and Cycle empty, when the deadlock is an asyncio event
	// loop with nothing left to do whose tasks all wait on each other (see
	// loopStalls).
	Loop *LoopStall `json:"loop,omitempty"`
	// Pool is set for an executor that deadlocks itself: the steps are its
	// workers, each waiting for a future queued on the same executor.
	Pool *PoolDeadlock `json:"pool,omitempty"`
	// Handler is set when the one thread of the cycle waits inside a signal
	// handler for a lock the code it interrupted holds.
	Handler *InHandler `json:"signal_handler,omitempty"`
	// Pipe is set for a deadlock across a parent and its child: the one
	// step is the parent's thread waiting for the child, which waits on a
	// pipe for the parent.
	Pipe *PipeDeadlock `json:"pipe,omitempty"`
	// ParentPipe is set for the child's side of such a deadlock: the one
	// step is the target's thread writing to a full pipe only its parent
	// reads, while the parent waits for the target to exit.
	ParentPipe *ParentPipeDeadlock `json:"parent_pipe,omitempty"`
	// Probable is set when the cycle closes only through holds inferred
	// from where threads stand: Locks taken by a bare acquire() whose
	// release() has not run, units of a semaphore inside its with block.
	// No thread provably holds them; the holders named (held_by, each
	// probable) are the threads that stand there.
	Probable bool `json:"probable,omitempty"`
	// ChildLock is set for a deadlock across a parent and its child over a
	// lock they share: the one step is the parent's thread waiting for the
	// child, which waits for the lock the parent holds.
	ChildLock *ChildLockDeadlock `json:"child_lock,omitempty"`
	// Retries is set when waits of the cycle have a timeout, but each such
	// wait stands in a while loop inside the with block that holds what the
	// cycle's previous thread waits for: after the timeout it is made again,
	// still holding (retries.go). The finding is then a warning.
	Retries []RetryLoop `json:"retries,omitempty"`
	// OtherHolders are threads outside the cycle that hold units of a
	// semaphore it waits for (knots.go): the cycle lasts only while they
	// keep them. The finding is then a warning.
	OtherHolders []int `json:"other_holders,omitempty"`
}

// CycleStep is one thread of a deadlock and what stops it.
type CycleStep struct {
	ThreadWait
	HeldBy []Holder `json:"held_by"`
}

// Holder is a thread that holds a resource, with the evidence; for a joined
// thread, Joined says the wait ends only when that thread does. A task
// holds too (Task set, Thread its loop's thread): Joined then says the wait
// is an await of that task, which ends only when it does. RunsLoop marks
// the thread that runs an event loop, which alone can run the loop's
// suspended tasks.
type Holder struct {
	Thread   int    `json:"thread"`
	Task     string `json:"task,omitempty"`
	Joined   bool   `json:"joined,omitempty"`
	RunsLoop bool   `json:"runs_loop,omitempty"`
	// Runs marks the executor thread running the work item of a waited-for
	// future: the wait ends when that work item does.
	Runs bool `json:"runs,omitempty"`
	// Probable marks a holder inferred from where it stands: after a bare
	// acquire() of the lock and before its release(), inside a with block
	// of a semaphore, or running code that feeds the queue, condition or
	// event waited for (BasisFeedSite) (DeadlockDetails.Probable).
	Probable bool             `json:"probable,omitempty"`
	Evidence []locks.Evidence `json:"basis,omitempty"`
}

// explainedBy reports whether one of the threads that would put to a
// starved queue (or end an abandoned wait) is part of a deadlock or waits on
// an orphaned lock: that finding is the cause, unless it is only probable
// (explains).
func explainedBy(causes []Finding, details any) bool {
	var others []Producer
	switch d := details.(type) {
	case *StarvedConsumersDetails:
		others = d.Others
	case *AbandonedWaitDetails:
		if d.What == WhatLostTask || d.What == WhatMPQueue {
			return false // other processes' fate is the cause
		}
		others = d.Others
	}
	for _, c := range causes {
		if !explains(c) {
			continue // a probable deadlock's warning proves nothing
		}
		for _, p := range others {
			for _, tid := range c.Threads {
				if tid == p.Thread && p.Waits != nil {
					return true
				}
			}
		}
	}
	return false
}

func deadlocks(s *snapshot.Snapshot, a *locks.Analysis, g *waitgraph.Graph) []Finding {
	x := newTaskIndex(s)
	var out []Finding
	for _, c := range g.Cycles() {
		if f, ok := cycleFinding(s, a, x, c, false); ok {
			out = append(out, f)
		}
	}
	out = knots(out)
	for _, c := range g.ProbableCycles() {
		if f, ok := cycleFinding(s, a, x, c, true); ok {
			out = append(out, f)
		}
	}
	return out
}

// cycleFinding is the deadlock finding of a cycle, or false when a wait of
// it has a timeout that is not retried with the holds kept (a warning then). A probable cycle closes through locks no thread
// provably holds (waitgraph.ProbableCycles): it is a finding only when each
// such lock was taken by a bare acquire() (basis bare-acquire), or is a
// semaphore a with block holds a unit of, and the holders named for it are
// its probable ones. Its severity is an error when each such lock is a Lock
// with one probable holder, the thread of the cycle: the lock is locked,
// and that thread alone stands between an acquire() of it and the
// release(). With several, which one took it is not known, and a
// semaphore's other units may be anywhere: a warning.
func cycleFinding(s *snapshot.Snapshot, a *locks.Analysis, x *taskIndex, c waitgraph.Cycle, probable bool) (Finding, bool) {
	d := &DeadlockDetails{Probable: probable}
	f := Finding{Kind: Deadlock, Severity: Error, Threads: []int{},
		Objects: append([]string(nil), c.Resources...), Details: d}
	timed := false
	for i, tid := range c.Threads {
		res := ""
		if i < len(c.Resources) {
			res = c.Resources[i]
		}
		if task := c.Task(i); task != "" {
			step, ok := taskStep(s, a, x, task, res)
			if !ok {
				continue
			}
			w := a.TaskWaits[task]
			if w != nil && w.ID == res && w.Timed() {
				timed = true
			}
			if probable && len(step.HeldBy) == 0 && w != nil {
				held, sure := taskInferredHolders(a, x, w)
				if held == nil {
					return Finding{}, false
				}
				if !sure {
					f.Severity = Warning
				}
				step.HeldBy = held
			}
			f.Tasks = append(f.Tasks, task)
			d.Cycle = append(d.Cycle, step)
			continue
		}
		f.Threads = append(f.Threads, tid)
		w := a.Waits[tid]
		if w == nil {
			continue
		}
		if w.Timed() {
			timed = true
		}
		step := CycleStep{ThreadWait: threadWait(a, tid), HeldBy: holdersOf(a, x, w)}
		if probable && len(step.HeldBy) == 0 {
			held, sure := inferredHolders(a, w)
			if held == nil {
				return Finding{}, false
			}
			if !sure {
				f.Severity = Warning
			}
			step.HeldBy = held
		}
		d.Cycle = append(d.Cycle, step)
	}
	if timed {
		// A timeout in the cycle ends it, unless the wait is retried with
		// the hold kept.
		if probable || len(f.Tasks) > 0 || !retriedHolding(s, a, c, d) {
			return Finding{}, false
		}
		f.Severity = Warning
	}
	d.Handler = handlerOf(s, a, d)
	return f, true
}

// inferredHolders are the probable holders of what w waits for, which
// nobody provably holds, with their evidence, when each is a thread that
// stands after a bare acquire() of a Lock, or inside a with block of a
// semaphore (nil otherwise). sure says the wait can end only through the
// one holder: a Lock with one candidate. A semaphore's other units may be
// held elsewhere, or given back by any thread.
func inferredHolders(a *locks.Analysis, w *locks.Wait) (held []Holder, sure bool) {
	for _, tid := range a.ProbableHolders[w.ID] {
		hd := Holder{Thread: tid, Probable: true}
		for _, h := range a.Holds[tid] {
			if h.ID == w.ID && h.Probable {
				hd.Evidence = h.Evidence
			}
		}
		if len(hd.Evidence) == 0 {
			return nil, false
		}
		switch b := hd.Evidence[0].Basis; {
		case b == locks.BasisBareAcquire && w.Kind == snapshot.KindLock:
		case b == locks.BasisWith && w.Kind == snapshot.KindSemaphore:
		default:
			return nil, false
		}
		held = append(held, hd)
	}
	return held, len(held) == 1 && w.Kind == snapshot.KindLock
}

// taskInferredHolders are the probable holders of what a task's wait w is
// for, when each is a task suspended after a bare acquire() of it and
// before the release() (locks.Analysis.TaskProbableHolders), as
// inferredHolders for threads. sure says one task alone stands there, and
// the lock is a Lock: the wait can end only through it.
func taskInferredHolders(a *locks.Analysis, x *taskIndex, w *locks.Wait) (held []Holder, sure bool) {
	for _, t := range a.TaskProbableHolders[w.ID] {
		hd := Holder{Thread: x.loopThread(t), Task: t, Probable: true}
		for _, h := range a.TaskHolds[t] {
			if h.ID == w.ID && h.Probable {
				hd.Evidence = h.Evidence
			}
		}
		if len(hd.Evidence) == 0 || hd.Evidence[0].Basis != locks.BasisBareAcquire {
			return nil, false
		}
		held = append(held, hd)
	}
	return held, len(held) == 1 && w.Kind == snapshot.KindLock
}

// holdersOf lists who holds (or alone can end) what a wait is for: threads
// and tasks with their evidence, a joined thread, an awaited task.
func holdersOf(a *locks.Analysis, x *taskIndex, w *locks.Wait) []Holder {
	var out []Holder
	joined := w.Kind == snapshot.KindThread || w.Kind == snapshot.KindTask
	if w.Kind == snapshot.KindFuture && len(a.Holders[w.ID]) == 0 {
		// A future has no holder: the worker running its work item
		// (futureRunners), or the thread running the loop that completes
		// it (loopCompletes), is what ends the wait.
		loop := slices.ContainsFunc(w.Evidence, func(e locks.Evidence) bool { return e.Basis == locks.BasisLoopCompletes })
		for _, t := range w.On {
			out = append(out, Holder{Thread: t, Runs: !loop, RunsLoop: loop})
		}
	}
	for _, h := range a.Holders[w.ID] {
		hd := Holder{Thread: h, Joined: w.Kind == snapshot.KindThread}
		if !hd.Joined {
			for _, hold := range a.Holds[h] {
				if hold.ID == w.ID {
					hd.Evidence = hold.Evidence
				}
			}
		}
		out = append(out, hd)
	}
	for _, t := range a.TaskHolders[w.ID] {
		hd := Holder{Thread: x.loopThread(t), Task: t}
		for _, hold := range a.TaskHolds[t] {
			if hold.ID == w.ID {
				hd.Evidence = hold.Evidence
			}
		}
		out = append(out, hd)
	}
	if joined {
		for _, t := range w.OnTasks {
			out = append(out, Holder{Thread: x.loopThread(t), Task: t, Joined: true})
		}
	}
	return out
}

// Causes of an orphaned lock.
const (
	// CauseBareAcquire: taken by a bare acquire() whose release() never
	// ran, and no live thread stands between the two.
	CauseBareAcquire = "bare-acquire"
	// CauseOwnerGone: an RLock whose owner field names a thread that no
	// longer exists.
	CauseOwnerGone = "owner-gone"
	// CauseIdentReused: an RLock whose owner field names the ident of a
	// live thread that holds it in no frame, and that an ended thread had
	// before it (a warning: the ended thread most likely took it).
	CauseIdentReused = "ident-reused"
	// CauseContextManager: taken by an acquire() in a context manager's
	// __enter__ (a warning): the hold lasts as long as the with block of
	// the manager that called it, which the code position of the acquire()
	// cannot show, so no live holder is ruled out.
	CauseContextManager = "context-manager"
	// CauseSuspendedGenerator: held by a with block of a generator that is
	// suspended (Generators), which no thread runs: the lock stays taken
	// until a thread resumes or closes the generator (a warning: any
	// holder of a reference to it may yet do so).
	CauseSuspendedGenerator = "suspended-generator"
	// CauseLeftByOwner: an RLock whose owner, a live thread, holds it in
	// no frame (no with block, no frame between an acquire() of it and its
	// release()), found taken by a bare acquire() and given back by no
	// release() on its own: code the owner ran took it and returned
	// without releasing it (a pool worker's task that raised), and no
	// code the owner may run next gives it back without taking it first.
	CauseLeftByOwner = "left-by-owner"
	// CauseUnitsLeaked: a semaphore with no unit left, none held by a with
	// block or by a live thread between an acquire() and its release(),
	// and every release() of it in the source follows an acquire() in the
	// same function: a unit comes back only from a thread that took one,
	// so those that were taken and never given back are lost for good.
	CauseUnitsLeaked = "units-leaked"
	// CauseUnknown: locked, held by no with block, and no acquire() was
	// found to judge a live holder by (a warning, "possibly orphaned").
	CauseUnknown = "unknown"
)

// OrphanedLockDetails is a lock that is locked, waited for, and held by no
// live thread.
type OrphanedLockDetails struct {
	Lock  locks.Ref `json:"lock"`
	Cause string    `json:"cause"`
	// Acquires are the bare acquire() calls of the lock in the source.
	Acquires []locks.Site `json:"acquire_sites,omitempty"`
	// Releases are a semaphore's release() calls in the source, each after
	// an acquire() in its function (units-leaked).
	Releases []locks.Site `json:"release_sites,omitempty"`
	// Units is a BoundedSemaphore's number of units (units-leaked).
	Units *int `json:"units,omitempty"`
	// Owner is the RLock owner field's thread ident (owner-gone,
	// ident-reused).
	Owner uint64 `json:"owner_ident,omitempty"`
	// Holder is the live thread the RLock's owner field names, which holds
	// it in no frame (left-by-owner).
	Holder int `json:"holder,omitempty"`
	// ReusedBy is the live thread that has the owner's ident now, and
	// Ended the threading.Thread (an object id) that had it before
	// (ident-reused).
	ReusedBy int          `json:"reused_by,omitempty"`
	Ended    string       `json:"ended_thread,omitempty"`
	Waiters  []ThreadWait `json:"waiters"`
	// Fork says how the lock is known to be inherited over fork
	// (inherited-over-fork).
	Fork *ForkOrigin `json:"fork,omitempty"`
	// Generators are the suspended generators that hold it
	// (suspended-generator).
	Generators []locks.GeneratorHold `json:"generators,omitempty"`
	// StackLost says a thread's stack is lost in part (a core): a thread
	// may hold the lock in frames no one can see, and the finding is a
	// warning.
	StackLost bool `json:"stack_lost,omitempty"`
}

// waitersOn returns the tids waiting on an object, sorted.
func waitersOn(a *locks.Analysis, id string) []int {
	var out []int
	for tid, w := range a.Waits {
		if w.Object == id || w.ID == id {
			out = append(out, tid)
		}
	}
	sort.Ints(out)
	return out
}

func orphanedLocks(s *snapshot.Snapshot, a *locks.Analysis) []Finding {
	ids := make([]string, 0, len(s.Objects))
	for id := range s.Objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Finding
	for _, id := range ids {
		ob := s.Objects[id]
		waiters := waitersOn(a, id)
		tasks := taskWaitersOn(s, a, id)
		// A lock shared between processes may be held by a thread of
		// another: none of this process's holding it is no orphan.
		taken := ob.Locked != nil && *ob.Locked || ob.Kind == snapshot.KindSemaphore && ob.Value == "0"
		if len(waiters)+len(tasks) == 0 || !taken || ob.Shared || len(a.TaskHolders[id]) > 0 {
			continue
		}
		if len(waiters) == 0 && ob.Kind != snapshot.KindLock {
			continue // only an asyncio.Lock is judged by its tasks' waits
		}
		if len(a.Holders[id]) > 0 {
			if f, ok := leftByOwner(s, a, ob, waiters); ok {
				out = append(out, f)
			}
			continue
		}
		d := &OrphanedLockDetails{Lock: locks.RefOf(ob)}
		f := Finding{Kind: OrphanedLock, Severity: Error, Threads: waiters, Objects: []string{id}, Details: d}
		if gh := a.GeneratorHolds[id]; len(gh) > 0 {
			d.Cause, d.Generators, f.Severity = CauseSuspendedGenerator, gh, Warning
			for _, g := range gh {
				f.Objects = append(f.Objects, g.Generator.ID)
			}
			for _, tid := range waiters {
				d.Waiters = append(d.Waiters, threadWait(a, tid))
			}
			out = append(out, f)
			continue
		}
		switch ob.Kind {
		case snapshot.KindLock:
			if probableHolders(a, id) || len(a.TaskProbableHolders[id]) > 0 {
				continue // a live thread, or a suspended task, may still release it: not orphaned
			}
			if statesDeleted(s) {
				continue // its holder may be a thread whose state is gone
			}
			if locks.LoneRelease(a.BareSites[id]) {
				// A release() that no acquire() comes before, in a
				// callback's lambda or a function of its own, gives the
				// lock back from whatever thread runs it (a pool's worker
				// when the job it took the lock for is done): a Lock used
				// as a signal, which no live holder is needed to end.
				continue
			}
			d.Acquires = acquireSites(a.BareSites[id])
			d.Cause = CauseBareAcquire
			if slices.ContainsFunc(d.Acquires, inEnter) {
				d.Cause, f.Severity = CauseContextManager, Warning
			}
			if stackLost(s) {
				// A thread may stand after the acquire() in the frames
				// the core lost, or in the with block of a manager that
				// took it there: not proven.
				d.StackLost, f.Severity = true, Warning
			}
			if len(tasks) > 0 && unreadTask(s) {
				// A pending task whose coroutine was not read may stand
				// between an acquire() and its release(): not proven.
				f.Severity = Warning
			}
			if len(d.Acquires) == 0 {
				if stackLost(s) || len(waiters) == 0 {
					continue // no acquire() to judge by, and a with block in the lost frames may hold it
				}
				// Without an acquire() site there is no code position to
				// judge a live holder by: say what is known, as a warning.
				d.Cause, f.Severity = CauseUnknown, Warning
			}
		case snapshot.KindSemaphore:
			// A unit that any thread may give back (a producer's release()
			// to a consumer) is a signal a live thread may yet send, not a
			// lost unit: only a semaphore given back by its takers alone
			// is judged, and only when no unit is seen held.
			releases, paired := locks.PairedReleases(a.BareSites[id])
			if !paired || probableHolders(a, id) || len(a.TaskProbableHolders[id]) > 0 || statesDeleted(s) {
				continue
			}
			d.Cause, d.Releases, d.Units = CauseUnitsLeaked, releases, ob.Initial
			if stackLost(s) {
				// The frames a core lost may stand between an acquire()
				// and its release(): not proven.
				d.StackLost, f.Severity = true, Warning
			}
			d.Acquires = acquireSites(a.BareSites[id])
		case snapshot.KindRLock:
			d.Cause, d.Owner = CauseOwnerGone, ob.Owner
			if tid, ended, ok := reusedIdent(a, id); ok {
				d.Cause, d.ReusedBy, d.Ended, f.Severity = CauseIdentReused, tid, ended, Warning
				f.Objects = append(f.Objects, ended)
			}
		default:
			continue
		}
		if fo := forkOrigin(s, a, ob, d, waiters); fo != nil {
			d.Cause, d.Fork, f.Severity = CauseForkInherited, fo, Error
		}
		for _, tid := range waiters {
			d.Waiters = append(d.Waiters, threadWait(a, tid))
		}
		for _, tw := range tasks {
			d.Waiters = append(d.Waiters, tw)
			f.Tasks = append(f.Tasks, tw.Task)
			if tw.Thread != 0 && !slices.Contains(f.Threads, tw.Thread) {
				f.Threads = append(f.Threads, tw.Thread)
			}
		}
		out = append(out, f)
	}
	return out
}

// taskWaitersOn are the waits of the pending asyncio tasks that wait for
// object id, by task id: an asyncio.Lock's waiters are tasks, not threads.
func taskWaitersOn(s *snapshot.Snapshot, a *locks.Analysis, id string) []ThreadWait {
	var ids []string
	for t, w := range a.TaskWaits {
		if w.Object == id {
			ids = append(ids, t)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	x := newTaskIndex(s)
	out := make([]ThreadWait, 0, len(ids))
	for _, t := range ids {
		w := a.TaskWaits[t]
		out = append(out, ThreadWait{Thread: x.loopThread(t), Task: t, Waits: w.Ref, Frame: w.Frame, Evidence: w.Evidence})
	}
	return out
}

// unreadTask reports whether a pending task that is not running has no
// frame read: its coroutine may stand anywhere.
func unreadTask(s *snapshot.Snapshot) bool {
	return slices.ContainsFunc(s.Tasks, func(t snapshot.Task) bool { return !t.Done && !t.Running && len(t.Frames) == 0 })
}

// leftByOwner finds an RLock, waited for, that its live owner holds in no
// frame and can never give back (CauseLeftByOwner).
func leftByOwner(s *snapshot.Snapshot, a *locks.Analysis, ob *snapshot.Object, waiters []int) (Finding, bool) {
	holders := a.Holders[ob.ID]
	if ob.Kind != snapshot.KindRLock || len(holders) != 1 || statesDeleted(s) {
		return Finding{}, false
	}
	owner := holders[0]
	h := ownerHold(a, owner, ob.ID)
	sites := a.BareSites[ob.ID]
	if h == nil || locks.LoneRelease(sites) {
		return Finding{}, false
	}
	d := &OrphanedLockDetails{Lock: locks.RefOf(ob), Cause: CauseLeftByOwner, Owner: ob.Owner, Holder: owner}
	d.Acquires = acquireSites(sites)
	if len(d.Acquires) == 0 {
		return Finding{}, false // how it was taken is not seen: nothing to judge by
	}
	f := Finding{Kind: OrphanedLock, Severity: Error, Threads: append([]int{owner}, waiters...), Objects: []string{ob.ID}, Details: d}
	if stackLost(s) {
		d.StackLost, f.Severity = true, Warning // the owner may stand in the lost frames
	}
	for _, tid := range waiters {
		d.Waiters = append(d.Waiters, threadWait(a, tid))
	}
	f.Threads = sortedUnique(f.Threads)
	return f, true
}

// acquireSites is the acquire() calls among a lock's bare sites.
func acquireSites(sites []locks.Site) []locks.Site {
	var out []locks.Site
	for _, st := range sites {
		if st.Call == "acquire" {
			out = append(out, st)
		}
	}
	return out
}

// ownerHold is the owner's hold of an RLock when the owner field alone
// says it holds it: no frame of its holds it, and no ended thread had its
// ident (nil otherwise).
func ownerHold(a *locks.Analysis, tid int, id string) *locks.Hold {
	for k := range a.Holds[tid] {
		h := &a.Holds[tid][k]
		if h.ID != id {
			continue
		}
		if h.Frame >= 0 || h.Probable || len(h.Evidence) != 1 || h.Evidence[0].Basis != locks.BasisOwner {
			return nil
		}
		return h
	}
	return nil
}

// inEnter reports whether a site is in a context manager's __enter__ or
// __aenter__.
func inEnter(st locks.Site) bool {
	fn := st.Function
	if i := strings.LastIndexByte(fn, '.'); i >= 0 {
		fn = fn[i+1:]
	}
	return fn == "__enter__" || fn == "__aenter__"
}

// statesDeleted reports whether threads may have lost their thread states
// while alive: Py_FinalizeEx deletes every other thread's state (daemon
// threads go on, in C, holding what they held), so a lock none of the
// remaining states holds may still be held by one of them.
func statesDeleted(s *snapshot.Snapshot) bool {
	if s.Target.Finalizing == nil {
		return false
	}
	for i := range s.Threads {
		if s.Threads[i].NoThreadState {
			return true
		}
	}
	return false
}

// reusedIdent finds the probable holder of an RLock whose owner ident an
// ended thread had before it (locks.BasisIdentReused): the live thread and
// the ended Thread's object id.
func reusedIdent(a *locks.Analysis, id string) (int, string, bool) {
	for _, tid := range slices.Sorted(maps.Keys(a.Holds)) {
		for _, h := range a.Holds[tid] {
			if h.ID != id || !h.Probable {
				continue
			}
			for _, e := range h.Evidence {
				if e.Basis == locks.BasisIdentReused {
					return tid, e.Ended, true
				}
			}
		}
	}
	return 0, "", false
}

// stackLost reports whether a thread's outer frames could not be read (a
// core that lost part of a stack): their with blocks may hold any lock.
func stackLost(s *snapshot.Snapshot) bool {
	for i := range s.Threads {
		if s.Threads[i].StackLost {
			return true
		}
	}
	return false
}

func probableHolders(a *locks.Analysis, id string) bool {
	for _, hs := range a.Holds {
		for _, h := range hs {
			if h.ID == id && h.Probable {
				return true
			}
		}
	}
	return false
}

// inProcess are the wait kinds only another thread of the process can end.
var inProcess = map[string]bool{
	snapshot.KindLock: true, snapshot.KindRLock: true, snapshot.KindCondition: true, snapshot.KindQueue: true,
	snapshot.KindEvent: true, snapshot.KindSemaphore: true, snapshot.KindThread: true, snapshot.KindFuture: true,
	snapshot.KindBarrier: true, snapshot.KindModuleLock: true, locks.KindPipe: true,
	// A file lock only the process itself holds (else AnotherProcess).
	locks.KindFileLock: true,
}

// AllBlockedDetails lists every thread's wait.
type AllBlockedDetails struct {
	// Consequence is true when other findings explain the state (the
	// finding is then info).
	Consequence bool         `json:"consequence"`
	Waits       []ThreadWait `json:"waits"`
}

// allBlocked: every thread waits, without a timeout, on something only
// another thread of the process could release — and every one of them is
// waiting too. Nothing can ever run again. Threads without Python count as
// waiting when they are blocked without a timeout. A thread whose state the
// snapshot lost (a truncated core) proves nothing: what it waits for, and
// whether Python would wake it, is unknown.
func allBlocked(s *snapshot.Snapshot, a *locks.Analysis) (Finding, bool) {
	if len(s.Threads) == 0 {
		return Finding{}, false
	}
	var tids []int
	var python []*snapshot.Thread
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.StateLost {
			return Finding{}, false
		}
		if t.NoThreadState {
			// A thread without Python blocked with no timeout waits for
			// another thread too; one that runs or will wake may yet
			// change something, and then nothing is proven.
			if t.State != snapshot.StateBlocked || (t.Kernel != nil && t.Kernel.Timed) {
				return Finding{}, false
			}
			continue
		}
		python = append(python, t)
		if !stuckForever(t, a.Waits[t.TID]) {
			return Finding{}, false
		}
		if ob := s.Objects[a.Waits[t.TID].Object]; ob != nil && handlerMayEnd(s, a, ob, slices.Concat(endCalls[ob.Kind], putCalls[ob.Kind])) {
			return Finding{}, false // a signal handler may end this wait, on the main thread
		}
		tids = append(tids, t.TID)
	}
	if len(python) == 0 {
		return Finding{}, false
	}
	sort.Ints(tids)
	d := &AllBlockedDetails{}
	f := Finding{Kind: AllBlocked, Severity: Error, Threads: tids, Objects: []string{}, Details: d}
	seen := map[string]bool{}
	for _, t := range python {
		w := a.Waits[t.TID]
		if !seen[w.ID] {
			seen[w.ID] = true
			f.Objects = append(f.Objects, w.ID)
		}
		d.Waits = append(d.Waits, threadWait(a, t.TID))
	}
	sort.Strings(f.Objects)
	return f, true
}
