package heuristics

import (
	"slices"
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// The stored snapshots of the programs of issue 8 (testdata/README.md):
// each gets exactly its finding, with its structured details.

// problems returns the findings that are errors or warnings.
func problems(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Problem() {
			out = append(out, f)
		}
	}
	return out
}

// asCore drops what only a live target shows: the kernel's view of the
// parent and the children.
func asCore(s *snapshot.Snapshot) {
	s.Target.Kind = "core"
	s.Target.Parent, s.Target.Children = nil, nil
}

func TestImportLockDeadlock(t *testing.T) {
	s, _, fs := run(t, "import_lock")
	d := only(t, fs, Deadlock).Details.(*DeadlockDetails)
	found := false
	for _, st := range d.Cycle {
		if st.Waits.Kind != snapshot.KindModuleLock {
			continue
		}
		found = true
		if ob := s.Objects[st.Waits.ID]; ob.Module != "_warmup_plugin" || threadByTID(s, st.Thread).Name != "warmer" {
			t.Errorf("%s waits for the import lock of %q", threadByTID(s, st.Thread).Name, ob.Module)
		}
		if len(st.HeldBy) != 1 || threadByTID(s, st.HeldBy[0].Thread).Name != "MainThread" || st.HeldBy[0].Evidence[0].Basis != locks.BasisImportOwner {
			t.Errorf("import lock held by %+v, want MainThread by its owner field", st.HeldBy)
		}
	}
	if !found {
		t.Errorf("no step waits for an import lock: %+v", d.Cycle)
	}
}

func TestExecutorDeadlock(t *testing.T) {
	s, _, fs := run(t, "executor_deadlock")
	d := only(t, fs, Deadlock).Details.(*DeadlockDetails)
	p := d.Pool
	if p == nil || !slices.Equal(names(s, p.Workers), []string{"render_0", "render_1"}) || p.MaxWorkers != 2 || p.Started != 2 || p.Queued != 2 || len(p.Awaited) != 2 {
		t.Fatalf("pool details %+v", p)
	}
}

func TestSignalHandlerDeadlock(t *testing.T) {
	s, _, fs := run(t, "signal_deadlock")
	d := only(t, fs, Deadlock).Details.(*DeadlockDetails)
	h := d.Handler
	if h == nil || h.Signal.Name != "SIGALRM" {
		t.Fatalf("handler %+v, want SIGALRM", h)
	}
	th := threadByTID(s, h.Thread)
	if th.Frames[h.Frame].Function != "on_alarm" || th.Frames[h.Interrupted].Function != "save_stats" || h.Holder != h.Interrupted {
		t.Errorf("handler frame %d, interrupted %d, holder %d of %+v", h.Frame, h.Interrupted, h.Holder, th.Frames)
	}
}

func TestPipeDeadlock(t *testing.T) {
	_, _, fs := run(t, "pipe_deadlock")
	f := only(t, fs, Deadlock)
	p := f.Details.(*DeadlockDetails).Pipe
	if f.Severity != Error || p == nil || !p.Proven || p.ChildSyscall != "write" || *p.ChildFD != 1 || p.TargetFD == nil || p.Pipe == 0 {
		t.Fatalf("live: %s %+v", f.Severity, p)
	}
	s := load(t, "pipe_deadlock")
	asCore(s)
	f = only(t, find(s), Deadlock)
	if p := f.Details.(*DeadlockDetails).Pipe; f.Severity != Warning || p.Proven || !slices.Equal(p.Pipes, []string{"stdout"}) {
		t.Errorf("core: %s %+v, want an unproven warning", f.Severity, p)
	}
	// A child that is only slow (not blocked on the pipe) is no deadlock.
	s = load(t, "pipe_deadlock")
	s.Target.Children[0].Syscall = "clock_nanosleep"
	if ps := problems(find(s)); len(ps) != 0 {
		t.Errorf("a sleeping child: %+v", ps)
	}
}

func TestForkInheritedLock(t *testing.T) {
	s, _, fs := run(t, "fork_child")
	d := only(t, fs, OrphanedLock).Details.(*OrphanedLockDetails)
	o := d.Fork
	if d.Cause != CauseForkInherited || o == nil || o.Fork == nil || o.Owner == nil || o.Owner.Name != "flusher" || !o.OwnerInParent || o.Threads != 1 {
		t.Fatalf("live: cause %s, fork %+v", d.Cause, o)
	}
	// From a core: the os.fork() on the stack, and the owner's Thread object.
	s = load(t, "fork_child")
	asCore(s)
	d = only(t, find(s), OrphanedLock).Details.(*OrphanedLockDetails)
	if o := d.Fork; d.Cause != CauseForkInherited || o == nil || o.OwnerInParent || o.Owner == nil || o.Fork == nil {
		t.Errorf("core: cause %s, fork %+v", d.Cause, o)
	}
}

func TestAbandonedWaits(t *testing.T) {
	s, _, fs := run(t, "queue_join_abandoned")
	d := only(t, fs, AbandonedWait).Details.(*AbandonedWaitDetails)
	if d.What != WhatQueueJoin || *d.Unfinished != 4 || *d.Queued != 2 || d.Reason != ReasonNoOtherThread || len(d.Ended) != 2 {
		t.Errorf("queue join: %+v", d)
	}
	s, _, fs = run(t, "barrier_abandoned")
	d = only(t, fs, AbandonedWait).Details.(*AbandonedWaitDetails)
	var waiters []int
	for _, w := range d.Waiters {
		waiters = append(waiters, w.Thread)
	}
	if d.What != WhatBarrier || d.Parties != 3 || d.Waiting != 2 || d.Missing != 1 || len(d.Ended) != 1 || d.Ended[0].Name != "loader-2" ||
		!slices.Equal(names(s, waiters), []string{"loader-0", "loader-1"}) {
		t.Errorf("barrier: %+v", d)
	}
}

func TestMultiprocessingAbandoned(t *testing.T) {
	_, _, fs := run(t, "mp_lost_task")
	d := only(t, fs, AbandonedWait).Details.(*AbandonedWaitDetails)
	if d.What != WhatLostTask || d.Task == nil || d.Task.Job != 0 || *d.Task.Left != 1 || d.Task.Processes != 2 || len(d.Processes) != 2 {
		t.Fatalf("lost task: %+v %+v", d, d.Task)
	}
	for _, p := range d.Processes {
		if p.State != FateIdle {
			t.Errorf("worker %+v is not idle", p)
		}
	}
	// A worker that runs something may have the task.
	s := load(t, "mp_lost_task")
	s.Target.Children[0].Syscall, s.Target.Children[0].Pipe, s.Target.Children[0].Futex = "clock_nanosleep", nil, 0
	if ps := problems(find(s)); len(ps) != 0 {
		t.Errorf("a busy worker: %+v", ps)
	}

	_, _, fs = run(t, "mp_dead_worker")
	d = only(t, fs, AbandonedWait).Details.(*AbandonedWaitDetails)
	dead := 0
	for _, p := range d.Processes {
		if p.Name == "worker-2" && p.State == FateDead && p.Signal == 9 {
			dead++
		}
	}
	if d.What != WhatMPQueue || dead != 1 {
		t.Errorf("mp queue: %+v", d)
	}
	// A core shows no children, and the Process objects were not reaped:
	// whether a producer still runs is not known.
	s = load(t, "mp_dead_worker")
	asCore(s)
	if ps := problems(find(s)); len(ps) != 0 {
		t.Errorf("from a core: %+v", ps)
	}
}

// TestProcsHealthy: the negative controls get no finding.
func TestProcsHealthy(t *testing.T) {
	for _, prog := range []string{"healthy_rw_starved", "healthy_timeouts", "healthy_slow_child", "healthy_mp_pool"} {
		t.Run(prog, func(t *testing.T) {
			if _, _, fs := run(t, prog); len(fs) != 0 {
				t.Errorf("findings on a healthy program: %+v", fs)
			}
		})
	}
}
