package locks

import (
	"slices"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
)

// Analyze works out every thread's wait and holds.
func Analyze(s *snapshot.Snapshot) *Analysis {
	a := &Analysis{Snap: s, Waits: map[int]*Wait{}, Holds: map[int][]Hold{}, Holders: map[string][]int{},
		TaskWaits: map[string]*Wait{}, TaskHolds: map[string][]Hold{}, TaskHolders: map[string][]string{},
		Extra: map[string]*snapshot.Object{}}
	x := newIndex(s)
	a.x = x
	for i := range s.Threads {
		a.holdsOf(x, &s.Threads[i])
	}
	a.generatorHolds(x)
	a.gilHolder()
	a.rlockOwners(x)
	a.taskHolds(x)
	a.importOwners(x)
	a.semaphoreUnits()
	for i := range s.Threads {
		th := &s.Threads[i]
		if w := a.waitOf(x, th); w != nil {
			a.Waits[th.TID] = w
		}
	}
	a.taskWaits(x)
	a.probableHolds(x)
	a.probableHolders()
	for id := range a.Holders {
		sort.Ints(a.Holders[id])
	}
	a.sharedWaits()
	a.nameByFrames()
	return a
}

// sharedWaits marks the waits for a lock shared between processes that no
// thread of this process provably holds: a thread of another process may
// hold it, and end them.
func (a *Analysis) sharedWaits() {
	for _, w := range a.Waits {
		if ob := a.Snap.Objects[w.Object]; ob != nil && ob.Shared && len(a.Holders[w.Object]) == 0 {
			w.AnotherProcess = true
		}
	}
}

// index holds the lookups the analysis needs.
type index struct {
	s       *snapshot.Snapshot
	byKey   map[snapshot.Addr]*snapshot.Object // wait key → lock-like object
	byIdent map[uint64]*snapshot.Thread
	byFD    map[int]*snapshot.Object // socket fd → socket
	src     *sourceCache
	// mpQueues are the multiprocessing queues, sorted by id (mpqueues.go).
	mpQueues []*snapshot.Object
	// byTstateLock holds the thread objects by their _tstate_lock's id,
	// once tstateLockThread has looked one up.
	byTstateLock map[string]*snapshot.Object
}

func newIndex(s *snapshot.Snapshot) *index {
	x := &index{s: s, src: newSourceCache(s.Files), byKey: map[snapshot.Addr]*snapshot.Object{},
		byIdent: map[uint64]*snapshot.Thread{}, byFD: map[int]*snapshot.Object{}}
	for _, ob := range s.Objects {
		if ob.WaitKey != 0 {
			x.byKey[ob.WaitKey] = ob
		}
		if ob.Kind == snapshot.KindSocket && ob.FD != nil {
			x.byFD[*ob.FD] = ob
		}
	}
	for i := range s.Threads {
		x.byIdent[s.Threads[i].Ident] = &s.Threads[i]
	}
	return x
}

// ref builds the contract's reference to an object.
func ref(ob *snapshot.Object) Ref {
	r := Ref{Kind: ob.Kind, ID: ob.ID}
	if n := BestName(ob); n != "" {
		r.Name = &n
	}
	if ob.Kind == snapshot.KindModuleLock && ob.Module != "" && ob.Global == "" {
		n := ob.Module // the handle is the module being imported
		r.Name = &n
	}
	switch ob.Kind {
	case snapshot.KindSimpleQueue, snapshot.KindDeque:
		r.Kind = snapshot.KindQueue
	case snapshot.KindHandle:
		r.Kind = snapshot.KindThread
	}
	return r
}

// RefOf is the contract's reference to a snapshot object, with its best name.
func RefOf(ob *snapshot.Object) Ref { return ref(ob) }

func siteOf(f *snapshot.Frame) *Site {
	return &Site{File: f.File, Line: f.Line, Function: f.Qualname}
}

// holdsOf records the locks a thread holds through live with-blocks.
func (a *Analysis) holdsOf(x *index, th *snapshot.Thread) {
	for i := range th.Frames {
		f := &th.Frames[i]
		for _, id := range f.With {
			ob := x.s.Objects[id]
			if ob == nil {
				continue
			}
			switch ob.Kind {
			case snapshot.KindLock, snapshot.KindRLock:
				a.lockHold(th, ob, ref(ob), []Evidence{withEvidence(x, f, ob)}, i)
			case snapshot.KindCondition:
				a.conditionHold(x, th, i, ob)
			case snapshot.KindSemaphore:
				a.semaphoreHold(th, i, ob, withEvidence(x, f, ob))
			case snapshot.KindOther:
				a.withinHolds(x, th, i, ob)
			}
		}
	}
}

// withinHolds: the with block of a @contextmanager manager holds what its
// suspended generator's with blocks hold, and that of an ExitStack what it
// entered (snapshot.Object.Within).
func (a *Analysis) withinHolds(x *index, th *snapshot.Thread, frame int, mgr *snapshot.Object) {
	basis := BasisGeneratorWith
	if strings.HasSuffix(mgr.Type, "ExitStack") {
		basis = BasisExitStack
	}
	for _, id := range mgr.Within {
		ob := x.s.Objects[id]
		if ob == nil {
			continue
		}
		ev := []Evidence{withEvidence(x, &th.Frames[frame], mgr), {Basis: basis, Type: mgr.Type}}
		switch ob.Kind {
		case snapshot.KindLock, snapshot.KindRLock:
			a.lockHold(th, ob, ref(ob), ev, frame)
		case snapshot.KindCondition:
			if lk, r, ok := conditionLock(x, th, frame, ob); ok {
				a.lockHold(th, lk, r, ev, frame)
			}
		}
	}
}

// semaphoreHold: `with sem:` holds one of a semaphore's units. That is
// proof of holding only for a BoundedSemaphore of one unit, now taken: a
// mutex, whose unit the thread in the with block alone gives back. Else
// other units may be held elsewhere, or given back by release() from any
// thread, and the hold is only probable.
func (a *Analysis) semaphoreHold(th *snapshot.Thread, frame int, sem *snapshot.Object, ev Evidence) {
	a.addHold(th.TID, Hold{Ref: ref(sem), Evidence: []Evidence{ev}, Frame: frame, Probable: !semaphoreMutex(sem)})
}

// semaphoreUnits proves the with-block holds of a BoundedSemaphore whose
// units are all taken when as many threads stand in a with block of it as
// it has units: each holds at least one, and there are no more, so each
// holds exactly one and gives it back only when it leaves the block. (A
// thread in two nested with blocks of it counts once: the threads then
// fall short of the units, and nothing is proven.)
func (a *Analysis) semaphoreUnits() {
	holders := map[string][]int{}
	for _, tid := range sortedKeys(a.Holds) {
		for _, h := range a.Holds[tid] {
			if h.Probable && len(h.Evidence) > 0 && h.Evidence[0].Basis == BasisWith {
				holders[h.ID] = append(holders[h.ID], tid)
			}
		}
	}
	for id, tids := range holders {
		sem := a.Snap.Objects[id]
		if sem == nil || sem.Kind != snapshot.KindSemaphore || sem.Initial == nil || sem.Value != "0" || len(tids) != *sem.Initial {
			continue
		}
		for _, tid := range tids {
			if h := a.hold(tid, id); h != nil {
				h.Probable = false
				a.Holders[id] = append(a.Holders[id], tid)
			}
		}
	}
}

// semaphoreMutex reports whether sem is a bounded semaphore of one unit,
// now taken: a mutex.
func semaphoreMutex(sem *snapshot.Object) bool {
	return sem.Initial != nil && *sem.Initial == 1 && sem.Value == "0"
}

// conditionHold: `with cond:` holds the condition's lock, unless the thread is
// inside cond.wait(), which released it.
func (a *Analysis) conditionHold(x *index, th *snapshot.Thread, frame int, cond *snapshot.Object) {
	if lk, r, ok := conditionLock(x, th, frame, cond); ok {
		a.lockHold(th, lk, r, []Evidence{withEvidence(x, &th.Frames[frame], cond)}, frame)
	}
}

// conditionLock is the lock a with block of cond at frame holds, and its
// reference (named after the condition when it has no name of its own);
// none while the thread is inside cond.wait(), which released it.
func conditionLock(x *index, th *snapshot.Thread, frame int, cond *snapshot.Object) (*snapshot.Object, Ref, bool) {
	for j := 0; j < frame; j++ {
		f := &th.Frames[j]
		if (f.Function == "wait" || f.Function == "wait_for") && f.Refs["self"] == cond.ID {
			return nil, Ref{}, false
		}
	}
	lk := x.s.Objects[cond.Attrs["_lock"]]
	if lk == nil {
		return nil, Ref{}, false
	}
	r := ref(lk)
	if r.Name == nil {
		if n := BestName(cond); n != "" {
			n += "._lock"
			r.Name = &n
		}
	}
	return lk, r, true
}

// lockHold records that th holds lk (referred to as r) when the lock's own
// state agrees: a Lock locked, an RLock owned by th.
//
// A lock shared between processes keeps its state in memory a core leaves
// out (shared file mappings are not dumped by default): when that state is
// unknown, the thread inside a with block of it holds it, as the block's
// __enter__ returned and its __exit__ has not run.
//
// A forked child's stack keeps the frames its parent was in when it forked,
// and their with blocks: a block of a shared lock there is the parent's
// hold, which the parent releases; it is no hold of the child's (forkedFrom).
func (a *Analysis) lockHold(th *snapshot.Thread, lk *snapshot.Object, r Ref, ev []Evidence, frame int) {
	if lk.Shared && frame >= 0 && a.forkedFrom(th, frame) {
		return
	}
	switch lk.Kind {
	case snapshot.KindLock:
		if lk.Locked != nil && *lk.Locked || lk.Locked == nil && lk.Shared {
			a.addHold(th.TID, Hold{Ref: r, Evidence: ev, Frame: frame})
		}
	case snapshot.KindRLock:
		if lk.Owner == th.Ident {
			a.addHold(th.TID, Hold{Ref: r, Evidence: ev, Frame: frame})
		}
	}
}

// gilHolder: the interpreter's GIL state names the thread that holds the
// GIL; the waits for the GIL then point at it.
func (a *Analysis) gilHolder() {
	for i := range a.Snap.Threads {
		th := &a.Snap.Threads[i]
		if th.GIL != snapshot.GILHeld {
			continue
		}
		a.extra(gilObject())
		a.addHold(th.TID, Hold{Ref: Ref{Kind: KindGIL, ID: gilID}, Evidence: []Evidence{{Basis: BasisGILState}}, Frame: -1})
	}
}

// rlockOwners: an RLock names its owner; that is proof of holding.
func (a *Analysis) rlockOwners(x *index) {
	var ids []string
	for id, ob := range x.s.Objects {
		if ob.Kind == snapshot.KindRLock && ob.Owner != 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		ob := x.s.Objects[id]
		th := x.byIdent[ob.Owner]
		if th == nil {
			continue
		}
		ev := Evidence{Basis: BasisOwner, Count: ob.Count}
		if h := a.hold(th.TID, ob.ID); h != nil {
			h.Evidence = append(h.Evidence, ev)
			continue
		}
		if ended := x.endedWithIdent(ob.Owner, th.TID); ended != nil {
			// glibc hands a new thread the stack, and so the pthread_t,
			// of one that ended: the owner field cannot tell the two
			// apart, and no frame of the live one holds the RLock.
			a.addHold(th.TID, Hold{Ref: ref(ob), Frame: -1, Probable: true,
				Evidence: []Evidence{ev, {Basis: BasisIdentReused, Ended: ended.ID}}})
			continue
		}
		a.addHold(th.TID, Hold{Ref: ref(ob), Evidence: []Evidence{ev}, Frame: -1})
	}
}

// endedWithIdent is a threading.Thread of the snapshot that had the ident
// and has ended: its native id is not live's, and no thread of the process
// has it.
func (x *index) endedWithIdent(ident uint64, live int) *snapshot.Object {
	var out *snapshot.Object
	for _, ob := range x.s.Objects {
		if ob.Kind != snapshot.KindThread || ob.Ident != ident || ob.NativeID == 0 || ob.NativeID == live || x.hasTID(ob.NativeID) {
			continue
		}
		if out == nil || ob.ID < out.ID { // the same answer on every look
			out = ob
		}
	}
	return out
}

// hasTID reports whether a thread of the process has the kernel id tid.
func (x *index) hasTID(tid int) bool {
	for i := range x.s.Threads {
		if x.s.Threads[i].TID == tid {
			return true
		}
	}
	return false
}

func (a *Analysis) hold(tid int, id string) *Hold {
	for k := range a.Holds[tid] {
		if a.Holds[tid][k].ID == id {
			return &a.Holds[tid][k]
		}
	}
	return nil
}

func (a *Analysis) addHold(tid int, h Hold) {
	if a.hold(tid, h.ID) != nil {
		return
	}
	a.Holds[tid] = append(a.Holds[tid], h)
	if !h.Probable {
		a.Holders[h.ID] = append(a.Holders[h.ID], tid)
	}
}

// withEvidence says where a with block took ob: the enclosing with statement
// that names it, found in the function's source; else the frame's line,
// marked as only enclosed by the block.
//
// The frame's own names for the object (its locals and self attributes) are
// tried first: another frame may call a different object by the same name
// (two tasks taking `first` and `second` in opposite order).
func withEvidence(x *index, f *snapshot.Frame, ob *snapshot.Object) Evidence {
	withs, ok := x.src.enclosingWith(f.File, f.Line)
	if !ok {
		return Evidence{Basis: BasisWith, At: siteOf(f), Enclosing: true}
	}
	// A with statement on the frame's current line is being entered, not
	// held, when the source has more with statements around the line than
	// the frame has live managers (a body on the header's own line, `with
	// lock: n += 1`, is entered, and the counts are then equal).
	if len(withs) > len(f.With) && len(withs) > 0 && withs[0].Line == x.src.lineStart(f.File, f.Line) {
		withs = withs[1:]
	}
	// As many statements as live managers: the k-th manager from the
	// outermost is the k-th statement from the outermost, when that one
	// names the object (`with src.lock:` and `with dst.lock:` both name
	// "lock"; only the order tells them apart).
	if len(withs) == len(f.With) {
		if k := slices.Index(f.With, ob.ID); k >= 0 {
			if w := withs[len(withs)-1-k]; mentionsAny(w, f, ob) || unnamed(f, ob) {
				return Evidence{Basis: BasisWith, At: &Site{File: f.File, Line: w.Line, Function: f.Qualname}}
			}
		}
	}
	// The names the frame's code uses for the object, then the object's own
	// names: the first with statement that mentions one of them. (Which
	// name it mentions does not matter, so they are looked at unsorted.)
	for _, w := range withs {
		for name, ref := range f.Refs {
			if ref == ob.ID && w.Mentions(lastComponent(name)) {
				return Evidence{Basis: BasisWith, At: &Site{File: f.File, Line: w.Line, Function: f.Qualname}}
			}
		}
	}
	for _, w := range withs {
		for _, name := range ob.Names {
			if n := lastComponent(name); n != "" && w.Mentions(n) {
				return Evidence{Basis: BasisWith, At: &Site{File: f.File, Line: w.Line, Function: f.Qualname}}
			}
		}
	}
	return Evidence{Basis: BasisWith, At: siteOf(f), Enclosing: true}
}

// mentionsAny reports whether the with statement names the object by one
// of the frame's names for it or one of its own (their last components).
func mentionsAny(w pysource.With, f *snapshot.Frame, ob *snapshot.Object) bool {
	for name, ref := range f.Refs {
		if ref == ob.ID && w.Mentions(lastComponent(name)) {
			return true
		}
	}
	for _, name := range ob.Names {
		if n := lastComponent(name); n != "" && w.Mentions(n) {
			return true
		}
	}
	return false
}

// unnamed reports whether nothing names the object, neither the frame nor
// the object itself: a manager made in the with statement (`with
// locked(a):`), which only the order of the blocks places.
func unnamed(f *snapshot.Frame, ob *snapshot.Object) bool {
	if len(ob.Names) > 0 {
		return false
	}
	for _, ref := range f.Refs {
		if ref == ob.ID {
			return false
		}
	}
	return true
}

// lastComponent is "file_lock" for "self.file_lock".
func lastComponent(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// probableHolders notes, on each wait for a lock nobody provably holds, the
// threads that probably hold it.
func (a *Analysis) probableHolders() {
	probable := map[string][]int{} // lock id → its probable holders, in order
	for _, tid := range sortedKeys(a.Holds) {
		for _, h := range a.Holds[tid] {
			if h.Probable {
				probable[h.ID] = append(probable[h.ID], tid)
			}
		}
	}
	a.ProbableHolders = probable
	for _, w := range a.Waits {
		if w.Object == "" || len(a.Holders[w.Object]) > 0 || len(a.TaskHolders[w.Object]) > 0 {
			continue
		}
		w.Probable = append(w.Probable, probable[w.Object]...)
	}
}

func sortedKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}
