package locks

import (
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// BestName is the handle a person reading the code knows an object by: a
// module global ("ledger"), else a qualified attribute
// ("ReadersWriters.file_lock"), else a local or parameter name, else
// "self.attr". A parameter name is the last resort because a helper that
// takes `first` and `second` would otherwise rename the program's globals.
func BestName(ob *snapshot.Object) string {
	if ob.Global != "" {
		return ob.Global
	}
	best, score := "", -1
	for _, n := range ob.Names {
		if n == "self" || n == "cls" {
			continue // the object's own methods' name for it: no handle
		}
		sc := 1
		switch {
		case strings.HasPrefix(n, "self.") || strings.HasPrefix(n, "cls."):
			sc = 0
		case n != "" && n[0] >= 'A' && n[0] <= 'Z' && strings.Contains(n, "."):
			sc = 3
		case !strings.Contains(n, "."):
			sc = 2
		}
		if sc > score || (sc == score && n < best) {
			best, score = n, sc
		}
	}
	return best
}

// frameName is the name the code that waits or holds uses for ob, when ob
// has no handle better than a local's: the names of the first frame, from
// frames[from] outward, whose locals refer to it ("b" in `async with b:`),
// the least of them. Two tasks running one(a, b) and one(b, a) wait for the
// same two locks under crossed names, and BestName, one name for every
// frame, called both "a". A frame whose only names for it are attributes
// ("self.lock") ends the search with none: BestName stands.
func frameName(ob *snapshot.Object, frames []snapshot.Frame, from int) (string, bool) {
	if best := BestName(ob); ob.Global != "" || strings.Contains(best, ".") {
		return "", false
	}
	for k := max(from, 0); k < len(frames); k++ {
		name, found := "", false
		for n, id := range frames[k].Refs {
			if id != ob.ID || n == "self" || n == "cls" {
				continue
			}
			found = true
			if !strings.Contains(n, ".") && (name == "" || n < name) {
				name = n
			}
		}
		if found {
			return name, name != ""
		}
	}
	return "", false
}

// nameByFrames names each wait and hold the way the frame it is in does
// (frameName).
func (a *Analysis) nameByFrames() {
	rename := func(r *Ref, frames []snapshot.Frame, from int) {
		// A name other than BestName's was chosen for what it is (a
		// thread's own name, the module an import lock imports): it stands.
		if ob := a.Snap.Objects[r.ID]; ob != nil && r.Name != nil && *r.Name == BestName(ob) {
			if n, ok := frameName(ob, frames, from); ok {
				r.Name = &n
			}
		}
	}
	each := func(w *Wait, holds []Hold, frames []snapshot.Frame) {
		if w != nil {
			rename(&w.Ref, frames, w.Frame)
		}
		for k := range holds {
			if h := &holds[k]; h.Frame >= 0 {
				rename(&h.Ref, frames, h.Frame)
			}
		}
	}
	for i := range a.Snap.Threads {
		th := &a.Snap.Threads[i]
		each(a.Waits[th.TID], a.Holds[th.TID], th.Frames)
	}
	for i := range a.Snap.Tasks {
		t := &a.Snap.Tasks[i]
		each(a.TaskWaits[t.ID], a.TaskHolds[t.ID], t.Frames)
	}
}
