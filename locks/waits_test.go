package locks

import (
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// frameSnapshot is one thread in a futex wait on futex, whose innermost frame
// is calling method of the object ob; other is a second thread, the holder
// of the locks.
func frameSnapshot(ob *snapshot.Object, method string, k snapshot.Kernel) *snapshot.Snapshot {
	other := &snapshot.Object{ID: "lock@0x9000", Kind: snapshot.KindLock, Type: "_thread.lock", Addr: 0x9000,
		Locked: boolp(true), WaitKey: 0x9010}
	return &snapshot.Snapshot{
		Threads: []snapshot.Thread{
			{TID: 10, Ident: 0xa0, Name: "waiter", State: snapshot.StateBlocked, GIL: snapshot.GILNone, Kernel: &k,
				Frames: []snapshot.Frame{{Function: "take", Qualname: "take", File: "/w.py", Line: 7,
					Calling: &snapshot.Call{Object: ob.ID, Method: method, Via: "stack-pointer"}}}},
			{TID: 11, Ident: 0xb0, Name: "holder", State: snapshot.StateSleeping, GIL: snapshot.GILNone},
		},
		Objects: map[string]*snapshot.Object{ob.ID: ob, other.ID: other},
	}
}

func boolp(b bool) *bool { return &b }

func lockObj(locked bool) *snapshot.Object {
	return &snapshot.Object{ID: "lock@0x7000", Kind: snapshot.KindLock, Type: "_thread.lock", Addr: 0x7000,
		Locked: boolp(locked), WaitKey: 0x7010, Global: "ledger"}
}

func rlockObj(owner uint64) *snapshot.Object {
	return &snapshot.Object{ID: "rlock@0x8000", Kind: snapshot.KindRLock, Type: "_thread.RLock", Addr: 0x8000,
		Locked: boolp(owner != 0), Owner: owner, Count: 1, WaitKey: 0x8010, Global: "registry"}
}

// A futex word on the waiter's own stack: it matches no object.
var stackFutex = snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: 0x7ffd0000}

// TestFrameWait: a futex wait that matches no object is named from the
// innermost frame's call when that is consistent, and stays an unmatched
// futex when it is ambiguous; the kernel's own evidence always wins.
func TestFrameWait(t *testing.T) {
	timed := stackFutex
	timed.Timed = true
	parkedElsewhere := stackFutex
	parkedElsewhere.Parked = 0x5555
	parkedHere := stackFutex
	parkedHere.Parked = 0x7010 // the lock's own wait key: a direct match
	onOther := stackFutex
	onOther.Futex = 0x9010 // the other lock's semaphore
	cond := &snapshot.Object{ID: "condition@0x6000", Kind: snapshot.KindCondition, Type: "Condition", Addr: 0x6000}

	for _, tc := range []struct {
		name   string
		ob     *snapshot.Object
		method string
		k      snapshot.Kernel
		want   string // the waited-on id
		basis  Basis  // its first evidence
	}{
		{"with lock: on a locked Lock", lockObj(true), "__enter__", stackFutex, "lock@0x7000", BasisPythonFrame},
		{"lock.acquire() on a locked Lock", lockObj(true), "acquire", stackFutex, "lock@0x7000", BasisPythonFrame},
		{"the old acquire_lock name", lockObj(true), "acquire_lock", stackFutex, "lock@0x7000", BasisPythonFrame},
		{"an RLock another thread owns", rlockObj(0xb0), "__enter__", stackFutex, "rlock@0x8000", BasisPythonFrame},
		{"with a timeout", lockObj(true), "acquire", timed, "lock@0x7000", BasisPythonFrame},
		{"an unlocked Lock: ambiguous", lockObj(false), "acquire", stackFutex, "futex@0x7ffd0000", BasisUnmatched},
		{"an RLock the waiter owns: ambiguous", rlockObj(0xa0), "acquire", stackFutex, "futex@0x7ffd0000", BasisUnmatched},
		{"an unowned RLock: ambiguous", rlockObj(0), "acquire", stackFutex, "futex@0x7ffd0000", BasisUnmatched},
		{"not a blocking method", lockObj(true), "release", stackFutex, "futex@0x7ffd0000", BasisUnmatched},
		{"not a lock", cond, "__enter__", stackFutex, "futex@0x7ffd0000", BasisUnmatched},
		{"parked on another address", lockObj(true), "acquire", parkedElsewhere, "futex@0x7ffd0000", BasisUnmatched},
		{"parked on the lock: the kernel's evidence", lockObj(true), "acquire", parkedHere, "lock@0x7000", BasisParked},
		{"the futex is another lock's: the kernel's evidence", lockObj(true), "acquire", onOther, "lock@0x9000", BasisFutex},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := frameSnapshot(tc.ob, tc.method, tc.k)
			a := Analyze(s)
			w := a.Waits[10]
			if w == nil {
				t.Fatal("no wait")
			}
			if w.ID != tc.want || len(w.Evidence) == 0 || w.Evidence[0].Basis != tc.basis {
				t.Fatalf("wait = %s %+v, want %s by %s", w.ID, w.Evidence, tc.want, tc.basis)
			}
			if tc.basis != BasisPythonFrame {
				return
			}
			e := w.Evidence[0]
			if e.Method != tc.method || e.Via != "stack-pointer" || e.Addr != tc.k.Futex || e.At == nil || e.At.Line != 7 || w.Frame != 0 || w.Object != tc.ob.ID {
				t.Errorf("evidence %+v (frame %d, object %q): want the call, the futex and the frame's site", e, w.Frame, w.Object)
			}
			if w.Timed() != tc.k.Timed {
				t.Errorf("timed = %v, want %v", w.Timed(), tc.k.Timed)
			}
			if tc.ob.Kind == snapshot.KindRLock && (len(w.On) != 1 || w.On[0] != 11) {
				t.Errorf("on = %v, want the owner (tid 11)", w.On)
			}
		})
	}
}

// TestFrameWaitLibraryFirst: a standard-library wait frame names the wait
// (the queue, the condition) even when the frame's call names a lock.
func TestFrameWaitLibraryFirst(t *testing.T) {
	cond := &snapshot.Object{ID: "condition@0x6000", Kind: snapshot.KindCondition, Type: "Condition", Addr: 0x6000}
	s := frameSnapshot(lockObj(true), "acquire", stackFutex)
	s.Objects[cond.ID] = cond
	f := &s.Threads[0].Frames[0]
	f.File, f.Function, f.Qualname = "/usr/lib/python3.14/threading.py", "wait", "Condition.wait"
	f.Refs = map[string]string{"self": cond.ID}
	w := Analyze(s).Waits[10]
	if w == nil || w.ID != cond.ID || w.Evidence[0].Basis != BasisLibraryFrame {
		t.Fatalf("wait = %+v, want the condition by its library frame", w)
	}
}
