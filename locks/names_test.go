package locks

import (
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// TestFrameName: an object known only by locals is named, in a wait or a
// hold, the way the frame that waits or holds names it. Two tasks running
// one(a, b) and one(b, a) wait for the same two locks under crossed names:
// every lock is "a" somewhere and "b" somewhere else.
func TestFrameName(t *testing.T) {
	lockA := &snapshot.Object{ID: "lock@0xa000", Kind: snapshot.KindLock, Names: []string{"a", "b"}}
	lockB := &snapshot.Object{ID: "lock@0xb000", Kind: snapshot.KindLock, Names: []string{"a", "b"}}
	frames := func(first, second *snapshot.Object) []snapshot.Frame {
		return []snapshot.Frame{
			{Function: "__aenter__", Refs: map[string]string{"self": second.ID}},
			{Function: "one", Refs: map[string]string{"a": first.ID, "b": second.ID}},
		}
	}
	global := &snapshot.Object{ID: "lock@0xc000", Kind: snapshot.KindLock, Names: []string{"a", "ledger"}, Global: "ledger"}
	attr := &snapshot.Object{ID: "lock@0xd000", Kind: snapshot.KindLock, Names: []string{"a", "self.lock"}}
	for _, tc := range []struct {
		name   string
		ob     *snapshot.Object
		frames []snapshot.Frame
		from   int
		want   string // "" for BestName's
	}{
		{"the waiting frame's name, past the library's self", lockB, frames(lockA, lockB), 0, "b"},
		{"crossed", lockA, frames(lockB, lockA), 0, "b"},
		{"a hold in the outer frame", lockA, frames(lockA, lockB), 1, "a"},
		{"a global keeps its name", global, []snapshot.Frame{{Refs: map[string]string{"a": global.ID}}}, 0, ""},
		{"an attribute ends the search", attr, []snapshot.Frame{{Refs: map[string]string{"self.lock": attr.ID}}, {Refs: map[string]string{"a": attr.ID}}}, 0, ""},
		{"no frame names it", lockA, []snapshot.Frame{{Refs: map[string]string{"x": lockB.ID}}}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := frameName(tc.ob, tc.frames, tc.from)
			if tc.want == "" {
				if ok {
					t.Errorf("frameName = %q, want none (BestName %q stands)", got, BestName(tc.ob))
				}
				return
			}
			if !ok || got != tc.want {
				t.Errorf("frameName = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}

	// Through the analysis: each task's wait and hold, by its own frames.
	s := &snapshot.Snapshot{
		Objects: map[string]*snapshot.Object{lockA.ID: lockA, lockB.ID: lockB},
		Tasks: []snapshot.Task{
			{ID: "task@0x1", Frames: frames(lockA, lockB)},
			{ID: "task@0x2", Frames: frames(lockB, lockA)},
		},
	}
	name := func(ob *snapshot.Object) *string { n := BestName(ob); return &n }
	a := &Analysis{Snap: s, Waits: map[int]*Wait{}, Holds: map[int][]Hold{},
		TaskWaits: map[string]*Wait{
			"task@0x1": {Ref: Ref{Kind: "lock", ID: lockB.ID, Name: name(lockB)}},
			"task@0x2": {Ref: Ref{Kind: "lock", ID: lockA.ID, Name: name(lockA)}},
		},
		TaskHolds: map[string][]Hold{
			"task@0x1": {{Ref: Ref{Kind: "lock", ID: lockA.ID, Name: name(lockA)}, Frame: 1}},
			"task@0x2": {{Ref: Ref{Kind: "lock", ID: lockB.ID, Name: name(lockB)}, Frame: 1}},
		},
	}
	a.nameByFrames()
	for task, want := range map[string][2]string{"task@0x1": {"b", "a"}, "task@0x2": {"b", "a"}} {
		if got := *a.TaskWaits[task].Name; got != want[0] {
			t.Errorf("%s waits for %q, want %q", task, got, want[0])
		}
		if got := *a.TaskHolds[task][0].Name; got != want[1] {
			t.Errorf("%s holds %q, want %q", task, got, want[1])
		}
	}
}
