package locks

import (
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// BasisGeneratorFrame: the thread holds the lock through a generator
// suspended inside a with block of it (At, in the generator's frame, as
// BasisWith has it): the
// generator is in the thread's local Local, and its reference count
// (Refcount) is the number of such locals the thread's frames have, so no
// one else can resume or close it (Generator is its object id).
const BasisGeneratorFrame Basis = "generator-frame"

// GeneratorRef is a local variable of a thread's frame that holds a
// generator.
type GeneratorRef struct {
	Thread int    `json:"thread"`
	Frame  int    `json:"frame"`
	Local  string `json:"local,omitempty"`
	// Stack marks a generator found on the frame's value stack instead
	// (snapshot.Thread.StackRefs): a for loop's iterator, or a stale slot.
	Stack bool `json:"value_stack,omitempty"`
}

// GeneratorHold is a lock held by a suspended generator that no thread is
// proven to hold through it: any holder of a reference may resume it.
type GeneratorHold struct {
	Generator Ref `json:"generator"`
	// Evidence is the with block of the generator's frame that holds it.
	Evidence []Evidence `json:"basis"`
	// Refs are the locals of thread frames that hold the generator; Global
	// the module global that does ("" for none); Refcount its reference
	// count, when it could be read (more than the references found means
	// some are elsewhere: another object, a frame's value stack).
	Refs     []GeneratorRef `json:"referenced_by,omitempty"`
	Global   string         `json:"global,omitempty"`
	Refcount *int64         `json:"refcount,omitempty"`
}

// generatorHolds finds the locks held by suspended generators. When every
// reference to a generator is a local of one thread's frames, that thread
// alone can ever resume it: it holds the lock (a proven hold). Else the
// generator is recorded as the lock's holder (GeneratorHolders).
func (a *Analysis) generatorHolds(x *index) {
	var gens []*snapshot.Object
	for _, ob := range x.s.Objects {
		if ob.Kind == snapshot.KindGenerator && ob.Generator != nil && len(ob.Within) > 0 {
			gens = append(gens, ob)
		}
	}
	if len(gens) == 0 {
		return
	}
	sort.Slice(gens, func(i, j int) bool { return gens[i].ID < gens[j].ID })
	refs := generatorRefs(x.s)
	for _, gen := range gens {
		rs := refs[gen.ID]
		owner := soleOwner(rs)
		proven := owner != nil && gen.Global == "" && gen.Generator.Refcount != nil && *gen.Generator.Refcount == int64(locals(rs))
		for _, f := range gen.Generator.Frames {
			for _, id := range f.With {
				lk, r, ok := generatorLock(x, gen, id)
				if !ok {
					continue
				}
				ev := withEvidence(x, &f, lk)
				if proven {
					ev := Evidence{Basis: BasisGeneratorFrame, Type: gen.Type, Generator: gen.ID, Local: rs[0].Local,
						Refcount: int(*gen.Generator.Refcount), At: ev.At, Enclosing: ev.Enclosing}
					a.addHold(owner.TID, Hold{Ref: r, Evidence: []Evidence{ev}, Frame: rs[0].Frame})
					continue
				}
				if a.GeneratorHolds == nil {
					a.GeneratorHolds = map[string][]GeneratorHold{}
				}
				a.GeneratorHolds[r.ID] = append(a.GeneratorHolds[r.ID], GeneratorHold{Generator: ref(gen),
					Evidence: []Evidence{ev}, Refs: refsOf(rs), Global: gen.Global, Refcount: gen.Generator.Refcount})
			}
		}
	}
}

// generatorLock is the lock a with block of a suspended generator holds,
// when the lock's state agrees: a Lock locked, the lock under a Condition.
// (An RLock names the thread that took it, and rlockOwners says so.)
func generatorLock(x *index, gen *snapshot.Object, id string) (*snapshot.Object, Ref, bool) {
	ob := x.s.Objects[id]
	if ob == nil {
		return nil, Ref{}, false
	}
	if ob.Kind == snapshot.KindCondition {
		lk := x.s.Objects[ob.Attrs["_lock"]]
		if lk == nil || lk.Kind != snapshot.KindLock {
			return nil, Ref{}, false
		}
		ob = lk
	}
	if ob.Kind != snapshot.KindLock || ob.Locked == nil || !*ob.Locked {
		return nil, Ref{}, false
	}
	return ob, ref(ob), true
}

// threadRef is a generator reference with the thread that has it.
type threadRef struct {
	th *snapshot.Thread
	GeneratorRef
}

// generatorRefs finds, for each generator, the locals of thread frames
// that hold it (names of attributes and items are not locals: the object
// or list that holds them is the reference), then the frames whose value
// stacks hold it, which may be stale and are never references for sure.
func generatorRefs(s *snapshot.Snapshot) map[string][]threadRef {
	out := map[string][]threadRef{}
	for i := range s.Threads {
		th := &s.Threads[i]
		for fi := range th.Frames {
			var names []string
			for name, id := range th.Frames[fi].Refs {
				if strings.HasPrefix(id, snapshot.KindGenerator+"@") && !strings.ContainsAny(name, ".[") {
					names = append(names, name)
				}
			}
			sort.Strings(names) // the same answer on every look
			for _, name := range names {
				id := th.Frames[fi].Refs[name]
				out[id] = append(out[id], threadRef{th: th, GeneratorRef: GeneratorRef{Thread: th.TID, Frame: fi, Local: name}})
			}
		}
	}
	for i := range s.Threads {
		th := &s.Threads[i]
		for _, r := range th.StackRefs {
			out[r.Object] = append(out[r.Object], threadRef{th: th, GeneratorRef: GeneratorRef{Thread: th.TID, Frame: r.Frame, Stack: true}})
		}
	}
	return out
}

// soleOwner is the thread all the locals of rs are in (nil when none or
// several).
func soleOwner(rs []threadRef) *snapshot.Thread {
	if len(rs) == 0 || rs[0].Stack {
		return nil
	}
	for _, r := range rs[1:] {
		if !r.Stack && r.th != rs[0].th {
			return nil
		}
	}
	return rs[0].th
}

// locals counts the references of rs that are locals.
func locals(rs []threadRef) int {
	n := 0
	for _, r := range rs {
		if !r.Stack {
			n++
		}
	}
	return n
}

func refsOf(rs []threadRef) []GeneratorRef {
	out := make([]GeneratorRef, len(rs))
	for i, r := range rs {
		out[i] = r.GeneratorRef
	}
	return out
}
