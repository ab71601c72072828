package heuristics

import (
	"slices"
	"sort"
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// taskNames returns the names of task ids, sorted.
func taskNames(s *snapshot.Snapshot, ids []string) []string {
	out := []string{}
	for _, id := range ids {
		for i := range s.Tasks {
			if s.Tasks[i].ID == id {
				out = append(out, s.Tasks[i].Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func find(s *snapshot.Snapshot) []Finding {
	a := locks.Analyze(s)
	return Find(s, a, waitgraph.Build(s, a))
}

// only returns the one finding of kind, failing on any other problem.
func only(t *testing.T, fs []Finding, kind Kind) Finding {
	t.Helper()
	var got []Finding
	for _, f := range fs {
		if f.Problem() {
			got = append(got, f)
		}
	}
	if len(got) != 1 || got[0].Kind != kind {
		t.Fatalf("want one %s, got %+v", kind, fs)
	}
	return got[0]
}

func TestTaskLockOrderDeadlock(t *testing.T) {
	s, _, fs := run(t, "asyncio_lock_order")
	f := only(t, fs, Deadlock)
	if got := taskNames(s, f.Tasks); !slices.Equal(got, []string{"audit", "posting"}) {
		t.Errorf("tasks %v", got)
	}
	if len(f.Threads) != 0 {
		t.Errorf("threads %v: no thread is in the cycle", f.Threads)
	}
	if got := objectNames(s, f.Objects); !slices.Equal(sorted(got), []string{"audit_log", "ledger"}) {
		t.Errorf("objects %v", got)
	}
	d := f.Details.(*DeadlockDetails)
	if len(d.Cycle) != 2 || d.Loop != nil {
		t.Fatalf("cycle %+v", d)
	}
	for _, st := range d.Cycle {
		if st.Task == "" || len(st.HeldBy) != 1 || st.HeldBy[0].Task == "" || st.HeldBy[0].Task == st.Task {
			t.Fatalf("step %+v: want a task held up by the other task", st)
		}
		// Each holds its first lock by the async with of `first`, line 31,
		// not by the one it is entering (`second`, line 34).
		ev := st.HeldBy[0].Evidence
		if len(ev) != 1 || ev[0].Basis != locks.BasisWith || ev[0].At == nil || ev[0].At.Line != 31 || ev[0].Enclosing {
			t.Errorf("hold evidence %+v, want the async with at line 31", ev)
		}
	}
}

func TestTasksAwaitingEachOther(t *testing.T) {
	s, _, fs := run(t, "asyncio_await_cycle")
	f := only(t, fs, Deadlock)
	if got := taskNames(s, f.Tasks); !slices.Equal(got, []string{"consumer", "producer"}) {
		t.Errorf("tasks %v", got)
	}
	for _, st := range f.Details.(*DeadlockDetails).Cycle {
		if st.Waits.Kind != snapshot.KindTask || len(st.HeldBy) != 1 || !st.HeldBy[0].Joined || st.HeldBy[0].Task == "" {
			t.Errorf("step %+v: want an await of the other task", st)
		}
	}
}

func TestLoopStall(t *testing.T) {
	s, _, fs := run(t, "asyncio_event_stall")
	f := only(t, fs, Deadlock)
	d := f.Details.(*DeadlockDetails)
	if d.Loop == nil || len(d.Cycle) != 0 {
		t.Fatalf("want a stalled loop, got %+v", d)
	}
	if got := taskNames(s, f.Tasks); !slices.Equal(got, []string{"client", "main", "server"}) {
		t.Errorf("tasks %v", got)
	}
	kinds := map[string]string{}
	for _, w := range d.Loop.Waits {
		kinds[taskNames(s, []string{w.Task})[0]] = w.Waits.Kind
	}
	if kinds["client"] != snapshot.KindEvent || kinds["server"] != snapshot.KindEvent || kinds["main"] != snapshot.KindFuture {
		t.Errorf("waits %v", kinds)
	}
	if len(f.Threads) != 1 || d.Loop.Thread != f.Threads[0] || len(d.Loop.Others) != 0 {
		t.Errorf("threads %v, loop thread %d, others %v", f.Threads, d.Loop.Thread, d.Loop.Others)
	}
}

// TestLoopStallNeedsAnIdleLoop: anything that could still wake the loop, or
// a thread that could call into it, and it is no deadlock.
func TestLoopStallNeedsAnIdleLoop(t *testing.T) {
	one, five := 1, []int{5}
	for name, spoil := range map[string]func(s *snapshot.Snapshot){
		"a timer":          func(s *snapshot.Snapshot) { s.Loops[0].Timers = &one },
		"a watched fd":     func(s *snapshot.Snapshot) { s.Loops[0].FDs = &five },
		"a signal handler": func(s *snapshot.Snapshot) { s.Loops[0].Signals = &one },
		"unknown timers":   func(s *snapshot.Snapshot) { s.Loops[0].Timers = nil },
		"a running loop thread": func(s *snapshot.Snapshot) {
			s.Threads[0].State = snapshot.StateRunning
		},
		"another thread that sleeps": func(s *snapshot.Snapshot) {
			s.Threads = append(s.Threads, snapshot.Thread{TID: 99, Name: "napper", State: snapshot.StateSleeping,
				Kernel: &snapshot.Kernel{Syscall: "clock_nanosleep"}})
		},
		"a task with a timeout": func(s *snapshot.Snapshot) {
			for i := range s.Tasks {
				if s.Tasks[i].Name == "client" {
					s.Tasks[i].Frames = append(s.Tasks[i].Frames, snapshot.Frame{Function: "wait_for", Qualname: "wait_for",
						File: "/usr/lib/python3.12/asyncio/tasks.py", Line: 520})
				}
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := load(t, "asyncio_event_stall")
			spoil(s)
			for _, f := range find(s) {
				if f.Problem() {
					t.Errorf("%s: %s %+v", name, f.Kind, f.Details)
				}
			}
		})
	}
}

// TestLoopAsleep: a loop in select() with no timeout and a callback ready
// is asleep, not stalled: the callback would run at a wake-up nothing will
// bring (an error, over the loop's tasks); with a thread that may still
// run, a warning.
func TestLoopAsleep(t *testing.T) {
	one := 1
	s := load(t, "asyncio_event_stall")
	s.Loops[0].Ready = &one
	s.Loops[0].ReadyCallbacks = []string{"Future.set_result"}
	var asleep []Finding
	for _, f := range find(s) {
		if d, ok := f.Details.(*AbandonedWaitDetails); ok && d.What == WhatLoopAsleep {
			asleep = append(asleep, f)
		} else if f.Problem() {
			t.Errorf("%s %+v beside the asleep loop", f.Kind, f.Details)
		}
	}
	if len(asleep) != 1 || asleep[0].Severity != Error || len(asleep[0].Tasks) != 3 {
		t.Fatalf("asleep loops %+v, want one error over the 3 tasks", asleep)
	}
	s.Threads = append(s.Threads, snapshot.Thread{TID: 99, Name: "napper", State: snapshot.StateSleeping,
		Kernel: &snapshot.Kernel{Syscall: "clock_nanosleep"}})
	if fs := find(s); len(fs) != 1 || fs[0].Severity != Warning {
		t.Errorf("with a thread that sleeps: %+v, want one warning", fs)
	}
	s.Threads[len(s.Threads)-1].State = snapshot.StateRunning
	for _, f := range find(s) {
		if f.Problem() {
			t.Errorf("with a thread that runs (it may be waking the loop): %s %+v", f.Kind, f.Details)
		}
	}
}

func TestDeadlockThroughTheLoop(t *testing.T) {
	s, a, fs := run(t, "asyncio_thread_lock")
	f := only(t, fs, Deadlock)
	if got := names(s, f.Threads); !slices.Equal(got, []string{"MainThread"}) {
		t.Errorf("threads %v", got)
	}
	if got := taskNames(s, f.Tasks); !slices.Equal(got, []string{"cache-filler"}) {
		t.Errorf("tasks %v", got)
	}
	d := f.Details.(*DeadlockDetails)
	if len(d.Cycle) != 2 {
		t.Fatalf("cycle %+v", d.Cycle)
	}
	main, task := d.Cycle[0], d.Cycle[1]
	if main.Task != "" || len(main.HeldBy) != 1 || main.HeldBy[0].Task == "" {
		t.Errorf("the thread's step %+v: want the lock held by the task", main)
	}
	if task.Task == "" || task.Waits.Kind != snapshot.KindLoop || len(task.HeldBy) != 1 || !task.HeldBy[0].RunsLoop ||
		task.HeldBy[0].Thread != main.Thread {
		t.Errorf("the task's step %+v: want it to run only on the blocked thread", task)
	}
	// Held by a suspended task: not orphaned, not probably held by a thread.
	lock := main.Waits.ID
	if holders := a.TaskHolders[lock]; len(holders) != 1 {
		t.Errorf("task holders of %s: %v", lock, holders)
	}
	for _, f := range fs {
		if f.Kind == OrphanedLock || f.Kind == BlockedEventLoop {
			t.Errorf("unexpected %s", f.Kind)
		}
	}
}

func TestBlockedEventLoop(t *testing.T) {
	s, _, fs := run(t, "asyncio_blocking_call")
	f := only(t, fs, BlockedEventLoop)
	d := f.Details.(*BlockedLoopDetails)
	if got := taskNames(s, f.Tasks); !slices.Equal(got, []string{"main"}) || d.Coro != "main" || d.Starved != 2 {
		t.Errorf("task %v coro %q starved %d", got, d.Coro, d.Starved)
	}
	if d.Waits == nil || d.Waits.Kind != snapshot.KindSocket || d.Timed || d.Syscall != "recvfrom" {
		t.Errorf("waits %+v timed %v syscall %q", d.Waits, d.Timed, d.Syscall)
	}
	th := threadByTID(s, d.Thread)
	if th == nil || th.Frames[d.Frame].Function != "read_reply" {
		t.Errorf("frame %d is not the blocking call's", d.Frame)
	}
	// Running, or only waiting for the GIL: the loop is busy, not blocked.
	for name, spoil := range map[string]func(*snapshot.Thread){
		"running":     func(th *snapshot.Thread) { th.State = snapshot.StateRunning },
		"GIL waiting": func(th *snapshot.Thread) { th.GIL = snapshot.GILWaiting },
	} {
		s := load(t, "asyncio_blocking_call")
		spoil(&s.Threads[0])
		for _, f := range find(s) {
			if f.Kind == BlockedEventLoop {
				t.Errorf("%s: blocked-event-loop", name)
			}
		}
	}
}

func TestLoopWaitingOnIO(t *testing.T) {
	s, _, fs := run(t, "healthy_asyncio_io")
	if len(fs) != 0 {
		t.Errorf("findings on a loop reading from a live peer: %+v", fs)
	}
	if len(s.Loops) != 1 || s.Loops[0].FDs == nil || len(*s.Loops[0].FDs) != 1 {
		t.Fatalf("the loop should watch the stream's descriptor: %+v", s.Loops)
	}
	// The same loop without that descriptor is stuck.
	none := []int{}
	s.Loops[0].FDs = &none
	for _, f := range find(s) {
		if f.Kind == Deadlock {
			return
		}
	}
	t.Errorf("without the descriptor the reader waits on what no one can give: want a deadlock")
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	return out
}
