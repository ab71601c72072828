// Package locks works out, from a Snapshot alone, what each thread waits on and
// what it holds, with the evidence for each claim: a futex address matched to a
// lock, a with-block slot, an RLock's owner field, a join target. It knows
// nothing of memory or of CPython layouts.
package locks

import "github.com/pyhang/pyhang/snapshot"

// Ref names a resource the way the JSON contract does (waiting_on, holds).
type Ref struct {
	Kind string  `json:"kind"` // lock|rlock|condition|queue|thread|gil|socket|event|future|semaphore
	ID   string  `json:"id"`   // "lock@0x7f…", "thread@4356" for a joined thread, "gil"
	Name *string `json:"name"` // best human handle, or null
}

// Wait is what one thread waits on.
type Wait struct {
	Ref
	// Evidence says how pyhang knows: "futex 0x… is the lock's sem_t",
	// "Condition.wait on self.not_empty (queue.py:171)".
	Evidence string `json:"evidence"`
	// Frame is the index in the thread's Frames of the frame that waits (the
	// innermost Python frame that called the blocking primitive).
	Frame int `json:"frame"`
	// On lists the threads (tids) this wait can only be ended by, when pyhang
	// knows them: a joined thread, the holder of the lock, the executor
	// threads running a future.
	On []int `json:"on,omitempty"`
	// Object is the waited-on object's id in Snapshot.Objects ("" for gil).
	Object string `json:"-"`
}

// Hold is one resource a thread holds.
type Hold struct {
	Ref
	Evidence string `json:"evidence"` // "with block at deadlock.py:14", "RLock owner field (count 2)"
	Frame    int    `json:"frame"`    // index of the frame holding it, -1 when not frame-bound
	// Probable marks a hold inferred from code position (inside a bare
	// acquire() … release() region), not proven.
	Probable bool `json:"probable,omitempty"`
}

// Analysis is the result for a whole snapshot.
type Analysis struct {
	Snap  *snapshot.Snapshot
	Waits map[int]*Wait  // by tid
	Holds map[int][]Hold // by tid
	// Holders maps a resource id to the tids holding it (proven holds only).
	Holders map[string][]int
	// BareSites lists, for each locked Lock that no thread provably holds, the
	// acquire()/release() calls on its names found in the frames' source files.
	BareSites map[string][]Site
}
