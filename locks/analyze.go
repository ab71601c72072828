package locks

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// Analyze works out every thread's wait and holds.
func Analyze(s *snapshot.Snapshot) *Analysis {
	a := &Analysis{Snap: s, Waits: map[int]*Wait{}, Holds: map[int][]Hold{}, Holders: map[string][]int{}}
	x := newIndex(s)
	for i := range s.Threads {
		th := &s.Threads[i]
		a.holdsOf(x, th)
	}
	a.rlockOwners(x)
	for i := range s.Threads {
		th := &s.Threads[i]
		if w := a.waitOf(x, th); w != nil {
			a.Waits[th.TID] = w
		}
	}
	a.probableHolds(x)
	a.probableEvidence(x)
	for id := range a.Holders {
		sort.Ints(a.Holders[id])
	}
	return a
}

// index holds the lookups the analysis needs.
type index struct {
	s       *snapshot.Snapshot
	byKey   map[string]*snapshot.Object // wait key → lock-like object
	byIdent map[uint64]*snapshot.Thread
	byFD    map[int]*snapshot.Object // socket fd → socket
	src     *sourceCache
}

func newIndex(s *snapshot.Snapshot) *index {
	x := &index{s: s, src: newSourceCache(), byKey: map[string]*snapshot.Object{}, byIdent: map[uint64]*snapshot.Thread{}, byFD: map[int]*snapshot.Object{}}
	for _, ob := range s.Objects {
		if ob.WaitKey != "" && ob.WaitKey != "0x0" {
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
	if n := bestName(ob); n != "" {
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

// bestName prefers a qualified attribute (Class.attr), then a global or
// local name, then self.attr.
func bestName(ob *snapshot.Object) string {
	best, score := "", -1
	for _, n := range ob.Names {
		sc := 1
		switch {
		case len(n) > 5 && n[:5] == "self.":
			sc = 0
		case hasUpperDot(n):
			sc = 3
		case !containsDot(n):
			sc = 2
		}
		if sc > score || (sc == score && n < best) {
			best, score = n, sc
		}
	}
	return best
}

func containsDot(s string) bool {
	for _, c := range s {
		if c == '.' {
			return true
		}
	}
	return false
}

func hasUpperDot(s string) bool {
	return len(s) > 0 && s[0] >= 'A' && s[0] <= 'Z' && containsDot(s)
}

func where(f *snapshot.Frame) string {
	return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
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
			case snapshot.KindLock:
				if ob.Locked != nil && *ob.Locked {
					a.addHold(th.TID, Hold{Ref: ref(ob), Evidence: withEvidence(x, f, ob), Frame: i})
				}
			case snapshot.KindRLock:
				if ob.Owner == th.Ident {
					a.addHold(th.TID, Hold{Ref: ref(ob), Evidence: withEvidence(x, f, ob), Frame: i})
				}
			case snapshot.KindCondition:
				a.conditionHold(x, th, i, ob)
			}
		}
	}
}

// conditionHold: `with cond:` holds the condition's lock, unless the thread is
// inside cond.wait(), which released it.
func (a *Analysis) conditionHold(x *index, th *snapshot.Thread, frame int, cond *snapshot.Object) {
	for j := 0; j < frame; j++ {
		f := &th.Frames[j]
		if f.Function == "wait" || f.Function == "wait_for" {
			if f.Refs["self"] == cond.ID {
				return
			}
		}
	}
	lk := x.s.Objects[cond.Attrs["_lock"]]
	if lk == nil {
		return
	}
	r := ref(lk)
	if r.Name == nil {
		if n := bestName(cond); n != "" {
			n += "._lock"
			r.Name = &n
		}
	}
	ev := withEvidence(x, &th.Frames[frame], cond)
	switch lk.Kind {
	case snapshot.KindLock:
		if lk.Locked != nil && *lk.Locked {
			a.addHold(th.TID, Hold{Ref: r, Evidence: ev, Frame: frame})
		}
	case snapshot.KindRLock:
		if lk.Owner == th.Ident {
			a.addHold(th.TID, Hold{Ref: r, Evidence: ev, Frame: frame})
		}
	}
}

// rlockOwners: an RLock names its owner; that is proof of holding.
func (a *Analysis) rlockOwners(x *index) {
	ids := make([]string, 0, len(x.s.Objects))
	for id := range x.s.Objects {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		ob := x.s.Objects[id]
		if ob.Kind != snapshot.KindRLock || ob.Owner == 0 {
			continue
		}
		th := x.byIdent[ob.Owner]
		if th == nil {
			continue
		}
		if a.holds(th.TID, ob.ID) {
			for k := range a.Holds[th.TID] {
				h := &a.Holds[th.TID][k]
				if h.ID == ob.ID {
					h.Evidence += fmt.Sprintf("; RLock owner field (count %d)", ob.Count)
				}
			}
			continue
		}
		a.addHold(th.TID, Hold{Ref: ref(ob), Evidence: fmt.Sprintf("RLock owner field (count %d)", ob.Count), Frame: -1})
	}
}

func (a *Analysis) holds(tid int, id string) bool {
	for _, h := range a.Holds[tid] {
		if h.ID == id {
			return true
		}
	}
	return false
}

func (a *Analysis) addHold(tid int, h Hold) {
	if a.holds(tid, h.ID) {
		return
	}
	a.Holds[tid] = append(a.Holds[tid], h)
	if !h.Probable {
		a.Holders[h.ID] = append(a.Holders[h.ID], tid)
	}
}

// waitOf works out what a blocked thread waits on.
func (a *Analysis) waitOf(x *index, th *snapshot.Thread) *Wait {
	k := th.Kernel
	if k == nil || th.State == snapshot.StateRunning || th.State == snapshot.StateCrashed {
		return nil
	}
	if th.GIL == snapshot.GILWaiting {
		return &Wait{Ref: Ref{Kind: "gil", ID: "gil"}, Evidence: "futex " + k.Futex + " is the GIL's condition variable"}
	}
	prims := primitiveFrames(x.s, th)
	var direct *snapshot.Object
	var how string
	if k.Futex != "" {
		if ob := x.byKey[k.Futex]; ob != nil {
			direct, how = ob, fmt.Sprintf("futex %s is the %s's semaphore", k.Futex, ob.Type)
		} else if ob := x.byKey[k.Parked]; ob != nil && k.Parked != "" {
			direct, how = ob, fmt.Sprintf("parked on %s, the %s's mutex", k.Parked, ob.Type)
		}
	}
	if len(prims) > 0 {
		return a.primitiveWait(x, th, prims, direct, how)
	}
	if direct != nil {
		w := &Wait{Ref: ref(direct), Evidence: how, Frame: 0, Object: direct.ID}
		if direct.Kind == snapshot.KindHandle {
			a.joinTarget(x, w, direct.Ident)
		}
		if direct.Kind == snapshot.KindSimpleQueue {
			w.Evidence += " (an idle worker waiting for work)"
		}
		w.On = a.Holders[direct.ID]
		if direct.Kind == snapshot.KindLock && len(th.Frames) > 0 {
			w.Evidence += " (" + acquireHow(th) + ")"
		}
		return w
	}
	if k.FD != nil {
		if so := x.byFD[*k.FD]; so != nil {
			w := &Wait{Ref: ref(so), Evidence: fmt.Sprintf("%s on fd %d, the socket's descriptor", k.Syscall, *k.FD), Object: so.ID}
			return w
		}
	}
	if k.Futex != "" && !k.Timed {
		return &Wait{Ref: Ref{Kind: "unknown", ID: "futex@" + k.Futex},
			Evidence: "futex " + k.Futex + " matches no lock reachable from the frames (a lock held in C code, or an object pyhang did not find)"}
	}
	return nil
}

func acquireHow(th *snapshot.Thread) string {
	f := &th.Frames[0]
	return "acquiring at " + where(f) + " in " + f.Qualname
}

// primitiveWait names the wait by the outermost recognised library frame.
func (a *Analysis) primitiveWait(x *index, th *snapshot.Thread, prims []primitive, direct *snapshot.Object, how string) *Wait {
	outer := prims[len(prims)-1]
	caller := outer.index + 1
	if caller >= len(th.Frames) {
		caller = outer.index
	}
	w := &Wait{Frame: caller, Object: outer.obj}
	if ob := x.s.Objects[outer.obj]; ob != nil {
		w.Ref = ref(ob)
	} else {
		// as_completed()/wait() over several futures: name the call.
		name := th.Frames[outer.index].Function + "()"
		w.Ref = Ref{Kind: outer.kind, ID: "futures@" + th.Frames[outer.index].Addr, Name: &name}
	}
	f := &th.Frames[outer.index]
	w.Evidence = fmt.Sprintf("%s in %s (%s)", f.Qualname, filepath.Base(f.File), where(&th.Frames[caller]))
	if direct != nil {
		w.Evidence += "; " + how
	}
	if th.Kernel != nil && th.Kernel.Timed {
		w.Evidence += "; with a timeout"
	}
	switch outer.kind {
	case snapshot.KindThread:
		if ob := x.s.Objects[outer.obj]; ob != nil {
			a.joinTarget(x, w, ob.Ident)
		}
	case snapshot.KindRLock, snapshot.KindLock:
		w.On = a.Holders[outer.obj]
	case snapshot.KindFuture:
		a.futureRunners(x, w, outer.obj)
	}
	return w
}

// futureRunners points a wait on a future (or, for as_completed/wait, on an
// executor's futures) at the worker threads running them: an executor worker
// runs a work item whose self.future is the future.
func (a *Analysis) futureRunners(x *index, w *Wait, future string) {
	var runners []int
	for i := range x.s.Threads {
		th := &x.s.Threads[i]
		for _, f := range th.Frames {
			fut, ok := f.Refs["self.future"]
			if !ok || f.Function != "run" || !strings.Contains(f.File, "concurrent") {
				continue
			}
			if future == "" || fut == future {
				runners = append(runners, th.TID)
			}
			break
		}
	}
	sort.Ints(runners)
	w.On = runners
	if future == "" && len(runners) > 0 {
		w.Evidence += fmt.Sprintf("; %d executor thread(s) are running work items", len(runners))
	}
}

// joinTarget makes a join wait point at the joined thread.
func (a *Analysis) joinTarget(x *index, w *Wait, ident uint64) {
	t := x.byIdent[ident]
	if t == nil {
		return
	}
	name := t.Name
	if name == "" {
		name = strconv.Itoa(t.TID)
	}
	id := fmt.Sprintf("thread@%d", t.TID)
	w.Ref = Ref{Kind: snapshot.KindThread, ID: id, Name: &name}
	w.On = []int{t.TID}
	a.Holders[id] = []int{t.TID}
}

// RefOf is the contract's reference to a snapshot object, with its best name.
func RefOf(ob *snapshot.Object) Ref { return ref(ob) }

// withEvidence says where a with-block took ob: the frame's `with` line that
// names it, found by reading the function's source upwards from the current
// line; else the block that encloses the current line.
func withEvidence(x *index, f *snapshot.Frame, ob *snapshot.Object) string {
	lines := x.src.lines(f.File)
	names := lockNames(ob)
	if len(names) > 0 && f.Line <= len(lines) {
		for n := f.Line; n >= 1 && n >= f.FirstLine; n-- {
			code := strings.TrimSpace(lines[n-1])
			if !strings.HasPrefix(code, "with ") && !strings.HasPrefix(code, "async with ") {
				continue
			}
			for _, name := range names {
				if containsWord(code, name) {
					return fmt.Sprintf("with block at %s:%d", filepath.Base(f.File), n)
				}
			}
		}
	}
	return "with block enclosing " + where(f)
}

func containsWord(s, w string) bool {
	for i := strings.Index(s, w); i >= 0; {
		before := i == 0 || !isIdent(s[i-1])
		after := i+len(w) == len(s) || !isIdent(s[i+len(w)])
		if before && after {
			return true
		}
		j := strings.Index(s[i+1:], w)
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// probableEvidence tells, on each wait for a lock nobody provably holds, who
// probably does: "held, probably by compactor (inside acquire() at …)".
func (a *Analysis) probableEvidence(x *index) {
	for _, w := range a.Waits {
		if w.Object == "" || len(a.Holders[w.Object]) > 0 {
			continue
		}
		for i := range x.s.Threads {
			th := &x.s.Threads[i]
			for _, h := range a.Holds[th.TID] {
				if h.Probable && h.ID == w.Object {
					name := th.Name
					if name == "" {
						name = strconv.Itoa(th.TID)
					}
					w.Evidence += fmt.Sprintf("; held, probably by %s (tid %d) (%s)", name, th.TID, h.Evidence)
				}
			}
		}
	}
}
