package capture

import (
	"path/filepath"
	"slices"

	"github.com/pyhang/pyhang/snapshot"
)

// stackGenerators looks for the suspended generators that only a value
// stack holds: the iterator of `for row in rows():` is in no local, and
// while the loop's body waits for a lock the generator took, nothing else
// names the generator. Reading every frame's value stack would cost a look
// at each slot's type, so only the frames of a thread that waits, from its
// own code, for a locked Lock that no with block is known to hold are
// read. A slot above the live ones may be stale: what is found there is a
// real suspended generator, but not proof of who can resume it, and the
// locks analysis takes it as such (snapshot.Thread.StackRefs).
func (b *builder) stackGenerators() {
	// The threads that wait from their own code, by the address they wait on.
	waiting := map[snapshot.Addr][]*snapshot.Thread{}
	for i := range b.s.Threads {
		th := &b.s.Threads[i]
		if k := th.Kernel; k != nil && (k.Futex != 0 || k.Parked != 0) && len(th.Frames) > 0 && !inLibraryWait(&th.Frames[0]) {
			waiting[k.Futex] = append(waiting[k.Futex], th)
			if k.Parked != 0 && k.Parked != k.Futex {
				waiting[k.Parked] = append(waiting[k.Parked], th)
			}
		}
	}
	if len(waiting) == 0 {
		return
	}
	// The locked Locks they wait for, less those a with block holds.
	candidates := map[string]snapshot.Addr{}
	b.objs.Each(func(ob *snapshot.Object) {
		if ob.Kind == snapshot.KindLock && ob.Locked != nil && *ob.Locked && ob.WaitKey != 0 && waiting[ob.WaitKey] != nil && !b.d.withHeld[ob.ID] {
			candidates[ob.ID] = ob.WaitKey
		}
	})
	if len(candidates) == 0 {
		return
	}
	b.objs.Each(func(ob *snapshot.Object) {
		for _, id := range ob.Within {
			delete(candidates, id)
		}
	})
	seen := map[uint64]bool{}
	scanned := map[*snapshot.Thread]bool{}
	for _, key := range candidates {
		for _, th := range waiting[key] {
			if scanned[th] {
				continue
			}
			scanned[th] = true
			for fi := range th.Frames {
				f := &th.Frames[fi]
				for _, ob := range b.objs.StackGenerators(uint64(f.Addr), fi == 0, seen) {
					r := snapshot.StackRef{Frame: fi, Object: ob.ID}
					if !slices.Contains(th.StackRefs, r) && !refersTo(f, ob.ID) {
						th.StackRefs = append(th.StackRefs, r)
					}
				}
			}
		}
	}
}

// inLibraryWait reports whether a frame is threading's own wait: a
// Condition's (under Event.wait, Queue.get, Semaphore.acquire …) blocks on
// a waiter lock of its own, and Thread.join on the thread's state lock,
// which are locked and held by no with block by design.
func inLibraryWait(f *snapshot.Frame) bool {
	if filepath.Base(f.File) != "threading.py" {
		return false
	}
	switch f.Function {
	case "wait", "_wait_for_tstate_lock", "join":
		return true
	}
	return false
}

// refersTo reports whether a frame's locals hold the object.
func refersTo(f *snapshot.Frame, id string) bool {
	for _, r := range f.Refs {
		if r == id {
			return true
		}
	}
	return false
}
