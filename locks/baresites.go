package locks

import (
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pyhang/pyhang/snapshot"
)

// A lock taken with a bare acquire() leaves no trace on the value stack. Who
// may hold it is judged from code position instead: a thread whose frame
// stands after an acquire() of the lock and before its release() in the same
// function probably holds it. This is evidence from the source files, read
// through the target's own view and tokenized as Python reads them, and the
// report says so.

// Site is a place in the source: a call of acquire() or release() on a named
// lock, a with statement, a library frame.
type Site struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Function string `json:"function,omitempty"`
	Call     string `json:"call,omitempty"` // "acquire" or "release" for bare sites
	// Via is the program's own function called there that takes or
	// releases the lock (acquire_read()), when the site is a call of it.
	Via string `json:"via,omitempty"`
	// Attr is the last name the call's receiver is spelled with
	// (self._lock.acquire(): "_lock").
	Attr string `json:"-"`
	def  int    // line of the enclosing def
	// lambda: the call is in a lambda (pysource.Call.Lambda), made when
	// the lambda is called.
	lambda bool
	// inWrapper: the call is a release wrapper's own (release_read()'s
	// release()), judged where the wrapper is called (Via).
	inWrapper bool
	// local is the receiver when it is a bare name (`first.acquire()`),
	// which a frame's locals may bind to another lock than the one judged
	// (otherLocal).
	local string
	// ref, when set, is the path a frame's locals must reach the lock by
	// for the site to be its (Frame.Refs): logging's `self.acquire()` takes
	// `self.lock`, whichever handler self is.
	ref string
}

// otherLocal tells a site whose receiver is a local of frame f bound to
// another object than id: a helper run as take(a, b) and as take(b, a)
// takes each lock under both names, and its `first.acquire()` took, in
// this frame, the lock first names here.
func otherLocal(f *snapshot.Frame, st *Site, id string) bool {
	if st.ref != "" {
		return f.Refs[st.ref] != id
	}
	if st.local == "" {
		return false
	}
	ref, ok := f.Refs[st.local]
	return ok && ref != id
}

// lockNames gives the identifiers code would use for a lock: the last
// component of each of its names ("file_lock" for ReadersWriters.file_lock).
func lockNames(ob *snapshot.Object) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range ob.Names {
		if i := strings.LastIndexByte(n, '.'); i >= 0 {
			n = n[i+1:]
		}
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// sitesOf finds acquire()/release() calls on any of the lock's names in the
// files of the snapshot's frames, outside the standard library. A call that
// is part of a with statement's header is not a bare site.
func sitesOf(s *snapshot.Snapshot, ob *snapshot.Object, src *sourceCache) []Site {
	names := lockNames(ob)
	if len(names) == 0 {
		return nil
	}
	var out []Site
	for _, p := range src.programFiles(s) {
		for _, c := range src.calls(p, []string{"acquire", "release"}) {
			if c.With || !containsString(names, c.Last) {
				continue
			}
			def, fn := src.def(p, c.Line)
			st := Site{File: p, Line: c.Line, Function: fn, Call: c.Method, Attr: c.Last, def: def, lambda: c.Lambda}
			if !strings.Contains(c.Receiver, ".") {
				st.local = c.Receiver
			}
			out = append(out, st)
		}
	}
	out = append(out, loggingSites(s, ob, src)...)
	wrapped := wrapperSites(s, src, out)
	called := map[string]bool{} // the release wrappers called somewhere
	for _, st := range wrapped {
		if st.Call == "release" {
			called[st.Via] = true
		}
	}
	for i := range out {
		if st := &out[i]; st.Call == "release" && called[lastComponent(st.Function)] {
			st.inWrapper = true
		}
	}
	return append(out, wrapped...)
}

// loggingSites are the standard library's logging's own bare sites of a
// handler's lock, when a frame of logging's module holds it as self.lock:
// up to 3.12 Handler.handle(), StreamHandler.flush() and the like take it
// through the wrappers self.acquire() and self.release() (3.13 on, with a
// with block), so a thread between the two, such as code a signal handler
// interrupted inside handle(), holds it. Each site counts only in frames
// whose self.lock is the lock (Site.ref).
func loggingSites(s *snapshot.Snapshot, ob *snapshot.Object, src *sourceCache) []Site {
	var out []Site
	for _, p := range src.loggingFiles(s)[ob.ID] {
		for _, c := range src.calls(p, []string{"acquire", "release"}) {
			if c.With || c.Receiver != "self" {
				continue
			}
			def, fn := src.def(p, c.Line)
			if name := lastComponent(fn); name == "acquire" || name == "release" {
				continue // the wrappers themselves
			}
			out = append(out, Site{File: p, Line: c.Line, Function: fn, Call: c.Method, Via: c.Method, def: def, ref: "self.lock"})
		}
	}
	return out
}

// loggingFiles maps each lock a frame of logging's module holds as
// self.lock to those frames' files, sorted: the frames are walked once per
// snapshot, not once per lock judged.
func (c *sourceCache) loggingFiles(s *snapshot.Snapshot) map[string][]string {
	if c.logging != nil {
		return c.logging
	}
	c.logging = map[string][]string{}
	for i := range s.Threads {
		for j := range s.Threads[i].Frames {
			f := &s.Threads[i].Frames[j]
			id := f.Refs["self.lock"]
			if id != "" && isLoggingModule(f.File) && !slices.Contains(c.logging[id], f.File) {
				c.logging[id] = append(c.logging[id], f.File)
			}
		}
	}
	for _, files := range c.logging {
		slices.Sort(files)
	}
	return c.logging
}

// isLoggingModule tells the standard library's logging/__init__.py.
func isLoggingModule(path string) bool {
	return isStdlib(path) && strings.HasSuffix(filepath.ToSlash(path), "/logging/__init__.py")
}

// A lock is often taken and released through methods of a class of the
// program's own (a readers/writer lock's acquire_read() and release_read()):
// a function that leaves it acquired (its last call on the lock is an
// acquire()) is an acquire wrapper, one that releases it without taking it
// first a release wrapper. A call of a wrapper is a site of the lock too,
// so that a thread between acquire_read() and release_read() is a probable
// holder like one between acquire() and release().

// genericCalls are names too common to stand for one lock's wrapper.
var genericCalls = map[string]bool{"acquire": true, "release": true, "__enter__": true, "__exit__": true}

func wrapperSites(s *snapshot.Snapshot, src *sourceCache, sites []Site) []Site {
	type fn struct {
		file string
		def  int
	}
	byFn := map[fn][]Site{}
	var order []fn
	for _, st := range sites {
		k := fn{st.File, st.def}
		if byFn[k] == nil {
			order = append(order, k)
		}
		byFn[k] = append(byFn[k], st)
	}
	wrappers := map[string]string{} // function name → "acquire" or "release"
	for _, k := range order {
		ss := byFn[k]
		sort.Slice(ss, func(i, j int) bool { return ss[i].Line < ss[j].Line })
		name := ss[0].Function
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		if name == "" || name == "<module>" || genericCalls[name] {
			continue
		}
		switch {
		case ss[len(ss)-1].Call == "acquire":
			wrappers[name] = "acquire"
		case ss[0].Call == "release":
			wrappers[name] = "release"
		}
	}
	if len(wrappers) == 0 {
		return nil
	}
	names := make([]string, 0, len(wrappers))
	for n := range wrappers {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Site
	for _, p := range src.programFiles(s) {
		for _, c := range src.calls(p, names) {
			if c.With {
				continue
			}
			def, fname := src.def(p, c.Line)
			out = append(out, Site{File: p, Line: c.Line, Function: fname, Call: wrappers[c.Method], Via: c.Method, def: def})
		}
	}
	return out
}

func containsString(sorted []string, s string) bool {
	i := sort.SearchStrings(sorted, s)
	return i < len(sorted) && sorted[i] == s
}

// stdlibDir matches the interpreter's own library folder, lib/python3.N/.
// (Compiled when first needed.)
var stdlibDir = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`/lib/python3\.\d+/`) })

// isStdlib tells the interpreter's own library, whose locks are not the
// user's, from everything else: third-party packages live under the same
// folder, in site-packages (dist-packages on Debian), and are the user's.
func isStdlib(path string) bool {
	loc := stdlibDir().FindStringIndex(path)
	if loc == nil {
		return false
	}
	rest := path[loc[1]:]
	return !strings.HasPrefix(rest, "site-packages/") && !strings.HasPrefix(rest, "dist-packages/")
}

// probableHolds looks for holders of locked Locks that nobody provably
// holds, and of the units of semaphores that have none left: a thread
// between an acquire() of one and its release() holds a unit.
func (a *Analysis) probableHolds(x *index) {
	src := x.src
	a.BareSites = map[string][]Site{}
	ids := make([]string, 0)
	for id, ob := range x.s.Objects {
		taken := ob.Kind == snapshot.KindLock && ob.Locked != nil && *ob.Locked ||
			ob.Kind == snapshot.KindSemaphore && ob.Value == "0" && !ob.Shared
		// A thread's _tstate_lock is the interpreter's, held for the
		// thread's life: no acquire() of the program's takes it, whatever
		// names the stdlib's locals give it (join()'s `lock`).
		if taken && len(a.Holders[id]) == 0 && len(a.TaskHolders[id]) == 0 && x.tstateLockThread(ob) == nil {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var places *framePlaces
	var inner []int  // by thread: its innermost frame inside a region, -1 for none
	var holds []Hold // by thread: that frame's hold
	for _, id := range ids {
		ob := x.s.Objects[id]
		sites := sitesOf(x.s, ob, src)
		if len(sites) == 0 {
			continue
		}
		a.BareSites[id] = sites
		if a.enterHolds(x, id, sites) {
			continue
		}
		if places == nil {
			places = placesOf(x.s)
			inner, holds = make([]int, len(x.s.Threads)), make([]Hold, len(x.s.Threads))
		}
		for i := range inner {
			inner[i] = -1
		}
		// Frames at one place share a region, unless a site's receiver is
		// a bare name their locals may bind to different locks.
		perFrame := slices.ContainsFunc(sites, func(st Site) bool { return st.local != "" || st.ref != "" })
		for _, pl := range places.order {
			at := places.at[pl]
			h, ok := insideRegion(&x.s.Threads[at[0].thread].Frames[at[0].frame], sites, src, id)
			if !ok && !perFrame {
				continue
			}
			for _, tf := range at {
				if perFrame {
					h, ok = insideRegion(&x.s.Threads[tf.thread].Frames[tf.frame], sites, src, id)
					if !ok {
						continue
					}
				}
				if inner[tf.thread] < 0 || tf.frame < inner[tf.thread] {
					inner[tf.thread], holds[tf.thread] = tf.frame, h
				}
			}
		}
		managerRegions(x, id, sites, inner, holds)
		r := ref(ob)
		for i := range x.s.Threads {
			th := &x.s.Threads[i]
			if inner[i] < 0 {
				continue
			}
			// A thread that waits for the lock holds it too when a frame
			// of its, at or outside the one that waits, stands after an
			// acquire() of it: it took the lock, and waits to take it
			// again (through a helper, or a second acquire() below the
			// first). A frame inside the wait's is the library's.
			if w := a.Waits[th.TID]; w != nil && w.Object == id && inner[i] < w.Frame {
				continue
			}
			// A forked child's frames from before the fork are its
			// parent's: a region of a lock shared with the parent there
			// is the parent's hold, as a with block there is (lockHold).
			if ob.Shared && a.forkedFrom(th, inner[i]) {
				continue
			}
			h := holds[i]
			h.Evidence = slices.Clone(h.Evidence)
			h.Ref, h.Frame = r, inner[i]
			a.addHold(th.TID, h)
		}
		a.taskRegions(x, id, r, sites)
	}
	a.ownerRegions(x)
}

// ownerRegions places the hold of each RLock whose live owner holds it in
// no frame (no with block: the owner field alone says it holds it) at the
// owner's innermost frame that stands between an acquire() of it and its
// release(), when one does: the owner took it there and releases it there.
// An owner with no such frame took it in code it has left (a task of a
// pool's worker that raised before its release()), and BareSites keeps the
// sites for that judgement (heuristics' left-by-owner).
func (a *Analysis) ownerRegions(x *index) {
	var owned []string // sorted: the same answer on every look
	for id, ob := range x.s.Objects {
		if ob.Kind == snapshot.KindRLock && ob.Owner != 0 {
			owned = append(owned, id)
		}
	}
	sort.Strings(owned)
	for _, id := range owned {
		ob := x.s.Objects[id]
		th := x.byIdent[ob.Owner]
		if th == nil {
			continue
		}
		h := a.hold(th.TID, id)
		if h == nil || h.Frame >= 0 || h.Probable {
			continue
		}
		sites := sitesOf(x.s, ob, x.src)
		if len(sites) == 0 {
			continue
		}
		a.BareSites[id] = sites
		for fi := range th.Frames {
			if in, ok := insideRegion(&th.Frames[fi], sites, x.src, id); ok {
				h.Frame = fi
				h.Evidence = append(h.Evidence, in.Evidence...)
				break
			}
		}
	}
}

// LoneRelease reports whether one of a lock's release() sites stands alone
// (PairedReleases): such code gives the lock back without taking it.
func LoneRelease(sites []Site) bool {
	_, paired := PairedReleases(sites)
	return !paired && slices.ContainsFunc(sites, func(st Site) bool { return st.Call == "release" })
}

// taskRegions finds the pending asyncio tasks suspended inside a bare
// acquire() region of lock id: a coroutine that took a threading lock and
// awaits before its release() holds it, probably, while it is suspended.
func (a *Analysis) taskRegions(x *index, id string, r Ref, sites []Site) {
	for ti := range x.s.Tasks {
		t := &x.s.Tasks[ti]
		for fi := range t.Frames {
			h, ok := insideRegion(&t.Frames[fi], sites, x.src, id)
			if !ok {
				continue
			}
			h.Ref, h.Frame = r, fi
			a.TaskHolds[t.ID] = append(a.TaskHolds[t.ID], h)
			if a.TaskProbableHolders == nil {
				a.TaskProbableHolders = map[string][]string{}
			}
			a.TaskProbableHolders[id] = append(a.TaskProbableHolders[id], t.ID)
			break
		}
	}
}

// managerRegions finds the threads inside the with block of a
// @contextmanager manager whose generator, suspended at its yield, stands
// after an acquire() of lock id (a local of it) and before the release():
// such a thread holds the lock for its block, as a thread whose own frame
// stands there does. Each such frame, when further in than what inner
// (by thread) has, replaces it and its hold.
func managerRegions(x *index, id string, sites []Site, inner []int, holds []Hold) {
	for i := range x.s.Threads {
		th := &x.s.Threads[i]
		for fi := range th.Frames {
			if inner[i] >= 0 && fi >= inner[i] {
				break
			}
			f := &th.Frames[fi]
			for _, m := range f.With {
				mgr := x.s.Objects[m]
				if mgr == nil || mgr.Suspended == nil || !slices.Contains(slices.Collect(maps.Values(mgr.Suspended.Refs)), id) {
					continue
				}
				h, ok := insideRegion(mgr.Suspended, sites, x.src, id)
				if !ok {
					continue
				}
				h.Evidence = append(h.Evidence, withEvidence(x, f, mgr))
				inner[i], holds[i] = fi, h
			}
		}
	}
}

// enterHolds finds the threads holding lock id through a context manager of
// the program's own: a frame whose live with block is a manager that keeps
// the lock as an attribute (snapshot.Object.Attrs), of a class whose
// __enter__ acquires it by that attribute's name (a site in sites). The
// lock is locked, and the with block lasts until __exit__ runs: a probable
// source. One thread in such a with block holds it: the lock is a plain
// Lock, and only one __enter__ can have acquired it. Several (an __exit__
// that released early, a manager shared oddly) are each a probable holder.
// It says whether it found any.
func (a *Analysis) enterHolds(x *index, id string, sites []Site) bool {
	type found struct {
		tid  int
		hold Hold
	}
	var holds []found
	for i := range x.s.Threads {
		th := &x.s.Threads[i]
		if w := a.Waits[th.TID]; w != nil && w.Object == id {
			continue
		}
		for fi := range th.Frames {
			f := &th.Frames[fi]
			for _, m := range f.With {
				mgr := x.s.Objects[m]
				if mgr == nil || mgr.Kind != snapshot.KindOther {
					continue
				}
				acq := enterAcquire(mgr, id, sites)
				if acq == nil {
					continue
				}
				ev := []Evidence{withEvidence(x, f, mgr), {Basis: BasisEnterAcquire, At: acq}}
				holds = append(holds, found{th.TID, Hold{Ref: ref(x.s.Objects[id]), Evidence: ev, Frame: fi}})
			}
		}
	}
	for _, h := range holds {
		h.hold.Probable = len(holds) > 1
		a.addHold(h.tid, h.hold)
	}
	return len(holds) > 0
}

// enterAcquire is the acquire() site, in the __enter__ of the manager's
// class, of the attribute under which the manager keeps lock id; nil if
// there is none.
func enterAcquire(mgr *snapshot.Object, id string, sites []Site) *Site {
	class := mgr.Type
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		class = class[i+1:]
	}
	for attr, v := range mgr.Attrs {
		if v != id {
			continue
		}
		for i := range sites {
			st := &sites[i]
			if st.Call == "acquire" && st.Via == "" && (st.Function == class+".__enter__" || st.Function == class+".__aenter__") &&
				st.Attr == attr {
				return st
			}
		}
	}
	return nil
}

// A bare region is judged by a frame's place in the source alone. A hundred
// threads deep in the same few functions stand at a few dozen places, and a
// hung program may have a hundred locked locks that nobody provably holds:
// each place is judged once a lock, not each of the frames standing there.

// place is where in the source a frame stands: its file, numbered in the
// order first seen, in the high 32 bits, and its line in the low ones (one
// number: a map of them hashes it the fast way, a struct of two the
// generic way, which cost a tenth of an analysis of 12,000 frames).
type place uint64

func placeOf(file, line int) place { return place(uint64(file)<<32 | uint64(uint32(line))) }

// threadFrame is frame frame of thread thread of a snapshot.
type threadFrame struct{ thread, frame int }

// framePlaces are the places the frames of a snapshot stand at, each with the
// innermost frame of each thread standing there.
type framePlaces struct {
	order []place // each place once, as first seen
	at    map[place][]threadFrame
}

func placesOf(s *snapshot.Snapshot) *framePlaces {
	p := &framePlaces{at: map[place][]threadFrame{}}
	files := map[string]int{}
	last, file := "", -1
	for ti := range s.Threads {
		for fi := range s.Threads[ti].Frames {
			f := &s.Threads[ti].Frames[fi]
			if file < 0 || f.File != last {
				// Numbered through the last file seen: the next frame out
				// is mostly in the same file.
				n, ok := files[f.File]
				if !ok {
					n = len(files)
					files[f.File] = n
				}
				last, file = f.File, n
			}
			pl := placeOf(file, f.Line)
			at, seen := p.at[pl]
			if !seen {
				p.order = append(p.order, pl)
			}
			if n := len(at); n > 0 && at[n-1].thread == ti {
				continue // the thread has a frame further in here
			}
			p.at[pl] = append(at, threadFrame{ti, fi})
		}
	}
	return p
}

// insideRegion reports whether the frame stands after an acquire() and before
// the next release() of the same function, of lock id: a call on a local
// the frame binds to another lock is not one of id's (otherLocal).
func insideRegion(f *snapshot.Frame, sites []Site, src *sourceCache, id string) (Hold, bool) {
	// Only an acquire() above the frame's line, in its file, can open a
	// region around it: looked for first, before the def of the line.
	acquiredAbove := false
	for i := range sites {
		if st := &sites[i]; st.Call == "acquire" && st.Line < f.Line && st.File == f.File && !otherLocal(f, st, id) {
			acquiredAbove = true
			break
		}
	}
	if !acquiredAbove {
		return Hold{}, false
	}
	def, _ := src.def(f.File, f.Line)
	var acq *Site
	for i := range sites {
		st := &sites[i]
		if st.File != f.File || st.def != def || st.Line >= f.Line || otherLocal(f, st, id) {
			continue
		}
		if st.Call == "acquire" {
			acq = st
		} else if acq != nil && st.Line > acq.Line {
			acq = nil // released again before the frame's line
		}
	}
	if acq == nil {
		return Hold{}, false
	}
	ev := Evidence{Basis: BasisBareAcquire, At: acq, Line: f.Line}
	for i := range sites {
		st := &sites[i]
		if st.File == f.File && st.def == def && st.Call == "release" && st.Line >= f.Line && !otherLocal(f, st, id) {
			ev.Release = st
			break
		}
	}
	return Hold{Evidence: []Evidence{ev}, Probable: true}, true
}

// PairedReleases returns the release() sites among a lock's or a
// semaphore's sites when each follows an acquire() of it in the same
// function: code that gives a unit back only after taking one, as a pool
// of connections or workers does. None of them can then give back a unit
// that no thread holds: a thread must take one first. A release wrapper's
// own release() (release_read()'s) counts where the wrapper is called,
// after an acquire() or an acquire wrapper's call. It says false when a
// release() stands alone (a producer signals a consumer through the
// semaphore: any thread that runs that code gives one), when it is in a
// lambda (a callback's, `lambda f: sem.release()`, made when another
// thread calls it), or when there is none.
func PairedReleases(sites []Site) ([]Site, bool) {
	var out []Site
	for i := range sites {
		st := &sites[i]
		if st.Call != "release" || st.inWrapper {
			continue
		}
		if st.lambda || !slices.ContainsFunc(sites, func(acq Site) bool {
			return acq.Call == "acquire" && acq.File == st.File && acq.def == st.def && acq.Line < st.Line
		}) {
			return nil, false
		}
		out = append(out, *st)
	}
	return out, len(out) > 0
}
