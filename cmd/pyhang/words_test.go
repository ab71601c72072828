package main

import (
	"strings"
	"testing"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/internal/safetext"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// TestFrameEvidenceWords: a wait named from the Python frame says so, in the
// thread's evidence and in the findings that rest on it, with the target's
// strings escaped.
func TestFrameEvidenceWords(t *testing.T) {
	w := &words{snap: &snapshot.Snapshot{}, locks: &locks.Analysis{}, esc: safetext.Escape}
	ev := []locks.Evidence{{Basis: locks.BasisPythonFrame, Addr: 0x7f00deadbe00, Type: "_thread.\x1b[2Jlock",
		At: &locks.Site{File: "/srv/app/deadlock.py", Line: 28, Function: "post_entry"}, Method: "__enter__", Via: "with-entry"}}
	got := w.evidence(ev)
	for _, want := range []string{"from the Python frame (indirect)", "deadlock.py:28", "__enter__()", "exception-table depth", "futex 0x7f00deadbe00 matched no lock"} {
		if !strings.Contains(got, want) {
			t.Errorf("evidence %q does not say %q", got, want)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("evidence %q carries a raw escape from the target", got)
	}
	if note := w.indirect(ev); !strings.Contains(note, "Python frame") || !strings.Contains(note, "__enter__()") {
		t.Errorf("finding note %q does not say the wait is named from the frame", note)
	}
	if note := w.indirect([]locks.Evidence{{Basis: locks.BasisParked, Addr: 0x10}}); note != "" {
		t.Errorf("a wait the kernel names got the note %q", note)
	}
}

// TestCycleAdvice: a deadlock's advice fits what its threads wait for.
func TestCycleAdvice(t *testing.T) {
	step := func(kind string) heuristics.CycleStep {
		return heuristics.CycleStep{ThreadWait: heuristics.ThreadWait{Waits: locks.Ref{Kind: kind}}}
	}
	for _, c := range []struct {
		kinds []string
		want  string
	}{
		{[]string{snapshot.KindLock, snapshot.KindRLock}, "take these locks in one order everywhere"},
		{[]string{snapshot.KindSemaphore, snapshot.KindLock}, "take these locks in one order everywhere"},
		{[]string{snapshot.KindThread, snapshot.KindThread}, "must not join a thread that waits for it"},
		{[]string{snapshot.KindThread, snapshot.KindLock}, "release the lock first"},
		{[]string{snapshot.KindFuture, snapshot.KindLock}, "release the lock first"},
	} {
		d := &heuristics.DeadlockDetails{}
		for _, k := range c.kinds {
			d.Cycle = append(d.Cycle, step(k))
		}
		if got := cycleAdvice(d); !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want it to say %q", c.kinds, got, c.want)
		}
	}
}

// TestHeldByWords: a lock nobody provably holds is said to be held,
// probably, by the threads between a bare acquire() of it and its release();
// a provable holder is named plainly, and other kinds name none.
func TestHeldByWords(t *testing.T) {
	w := &words{snap: &snapshot.Snapshot{}, esc: safetext.Escape, locks: &locks.Analysis{
		Holders:         map[string][]int{"lock@0x2": {7}},
		ProbableHolders: map[string][]int{"lock@0x1": {9}},
		Holds: map[int][]locks.Hold{
			9: {{Ref: locks.Ref{Kind: snapshot.KindLock, ID: "lock@0x1"}, Probable: true}},
			7: {{Ref: locks.Ref{Kind: snapshot.KindLock, ID: "lock@0x2"}}},
		}}}
	for _, c := range []struct {
		ref  locks.Ref
		want string
	}{
		{locks.Ref{Kind: snapshot.KindLock, ID: "lock@0x1"}, ", held, probably, by tid 9"},
		{locks.Ref{Kind: snapshot.KindLock, ID: "lock@0x2"}, ", held by tid 7"},
		{locks.Ref{Kind: snapshot.KindLock, ID: "lock@0x3"}, ""},
		{locks.Ref{Kind: snapshot.KindEvent, ID: "lock@0x1"}, ""},
	} {
		if got := w.heldBy(c.ref); got != c.want {
			t.Errorf("heldBy(%s %s) = %q, want %q", c.ref.Kind, c.ref.ID, got, c.want)
		}
	}
}

// TestOtherProcessWaits: from a core, the untimed waits only another process
// can end are listed; a timed one is not, nor anything of a live target.
func TestOtherProcessWaits(t *testing.T) {
	queue := locks.Ref{Kind: snapshot.KindMPQueue, ID: "mp-queue@0x10"}
	child := locks.Ref{Kind: locks.KindProcess, ID: "popen@0x20"}
	lock := locks.Ref{Kind: snapshot.KindLock, ID: "lock@0x30"}
	an := &analysis{
		snap: &snapshot.Snapshot{Target: snapshot.TargetInfo{Kind: "core"},
			Threads: []snapshot.Thread{{TID: 1}, {TID: 2}, {TID: 3}, {TID: 4}}},
		locks: &locks.Analysis{Waits: map[int]*locks.Wait{
			1: {Ref: queue},
			2: {Ref: child, Evidence: []locks.Evidence{{Basis: locks.BasisTimeout}}},
			3: {Ref: lock},
			4: {Ref: child},
		}},
	}
	got := otherProcessWaits(an)
	if len(got) != 2 || got[0].Thread != 1 || got[1].Thread != 4 {
		t.Errorf("from a core: %+v, want the waits of threads 1 and 4", got)
	}
	an.snap.Target.Kind = "pid"
	if got := otherProcessWaits(an); got != nil {
		t.Errorf("from a live target: %+v, want none", got)
	}
}
