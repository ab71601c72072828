package scenarios

import (
	"encoding/json"
	"slices"
	"testing"
)

// generatorObject is the part of a report's generator object this test reads.
type generatorObject struct {
	Kind      string   `json:"kind"`
	Within    []string `json:"within"`
	Global    string   `json:"global"`
	Generator *struct {
		Frames []struct {
			Line int      `json:"line"`
			With []string `json:"with"`
		} `json:"frames"`
		Refcount *int64 `json:"refcount"`
	} `json:"generator"`
}

// checkGeneratorHolds: generator_held_lock.py. Each lock of want.GeneratorHolds
// is held by a suspended generator standing at the given line: the one a
// thread alone can resume makes that thread's deadlock (want.CycleThreads),
// the one in a global is the holder of a lock held by no thread, and so is
// the one on a for loop's value stack. From a core that lost thread stacks
// (lossy) any of them may be missing with the frames it was in: the
// answer then claims nothing about its lock, and nothing wrong.
func checkGeneratorHolds(t *testing.T, d *procDiagnosis, raw []byte, want procExpect, lossy bool) {
	t.Helper()
	var objs struct {
		Objects map[string]generatorObject `json:"objects"`
	}
	if err := json.Unmarshal(raw, &objs); err != nil {
		t.Fatal(err)
	}
	// genAt checks that id is a generator suspended at line inside a with
	// block of lock.
	genAt := func(what, id, lock string, line int) {
		t.Helper()
		g, ok := objs.Objects[id]
		if !ok || g.Kind != "generator" || g.Generator == nil || len(g.Generator.Frames) == 0 {
			t.Errorf("%s: %s is no generator of the report's objects: %+v", what, id, g)
			return
		}
		if g.Generator.Frames[0].Line != line || !slices.Contains(g.Within, lock) || !slices.Contains(g.Generator.Frames[0].With, lock) {
			t.Errorf("%s: generator %s at line %d within %v, want line %d within %s", what, id, g.Generator.Frames[0].Line, g.Within, line, lock)
		}
	}
	lockID := func(name string) string {
		for id, o := range d.Objects {
			if o.Kind == "lock" && slices.Contains(o.Names, name) {
				return id
			}
		}
		t.Fatalf("no lock named %s in the report", name)
		return ""
	}
	var deadlocks, orphans int
	for _, f := range d.Findings {
		switch {
		case f.Severity == "info":
		case f.Kind == "deadlock":
			deadlocks++
			if got := d.namesOf(f.Threads); !slices.Equal(got, want.CycleThreads) {
				t.Errorf("deadlock of %v, want %v", got, want.CycleThreads)
			}
			var dd deadlockDetails
			var gens struct {
				Cycle []struct {
					HeldBy []struct {
						Basis []struct {
							Basis     string `json:"basis"`
							Generator string `json:"generator"`
							Local     string `json:"local"`
						} `json:"basis"`
					} `json:"held_by"`
				} `json:"cycle"`
			}
			if json.Unmarshal(f.Details, &dd) != nil || json.Unmarshal(f.Details, &gens) != nil || len(dd.Cycle) != 1 || len(dd.Cycle[0].HeldBy) != 1 {
				t.Errorf("deadlock details: %s", f.Details)
				continue
			}
			st, ev := dd.Cycle[0], gens.Cycle[0].HeldBy[0].Basis
			lock := want.Locks[0]
			if st.WaitsFor.ID != lockID(lock) || st.HeldBy[0].Thread != st.Thread || len(ev) != 1 || ev[0].Basis != "generator-frame" || ev[0].Local == "" {
				t.Errorf("the deadlock's step: %s, want %s held by the waiting thread through its generator", f.Details, lock)
				continue
			}
			genAt("deadlock", ev[0].Generator, st.WaitsFor.ID, want.GeneratorHolds[lock])
			t.Logf("%s", f.Summary)
		case f.Kind == "orphaned-lock":
			orphans++
			var od struct {
				Lock struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"lock"`
				Cause      string `json:"cause"`
				Generators []struct {
					Generator struct {
						ID string `json:"id"`
					} `json:"generator"`
					Global string `json:"global"`
					Refs   []struct {
						Thread int  `json:"thread"`
						Stack  bool `json:"value_stack"`
					} `json:"referenced_by"`
				} `json:"generators"`
			}
			if err := json.Unmarshal(f.Details, &od); err != nil || od.Cause != "suspended-generator" || len(od.Generators) != 1 || f.Severity != "warning" {
				t.Errorf("orphaned-lock %s: %s", f.Severity, f.Details)
				continue
			}
			line, ok := want.GeneratorHolds[od.Lock.Name]
			g := od.Generators[0]
			reach := ""
			switch {
			case g.Global != "":
				reach = "global"
			case len(g.Refs) == 1 && g.Refs[0].Stack && slices.Contains(f.Threads, g.Refs[0].Thread):
				reach = "value-stack" // the waiter's own, as its for loop's iterator
			}
			if !ok || slices.Contains(want.Locks, od.Lock.Name) || reach != want.GeneratorRefs[od.Lock.Name] {
				t.Errorf("orphaned-lock of %s held by a generator reached by %q (%s), want one of %v not in the deadlock, reached by %q",
					od.Lock.Name, reach, f.Details, want.GeneratorHolds, want.GeneratorRefs[od.Lock.Name])
				continue
			}
			genAt("orphaned-lock", od.Generators[0].Generator.ID, od.Lock.ID, line)
			t.Logf("%s", f.Summary)
		default:
			t.Errorf("unexpected %s/%s: %s", f.Kind, f.Severity, f.Summary)
		}
	}
	if lossy && deadlocks <= 1 && orphans <= len(want.GeneratorHolds)-1 {
		t.Logf("incomplete, as the core lost memory (%q): %d deadlock(s) and %d of the %d locks held by generators alone found",
			d.Target.Missing, deadlocks, orphans, len(want.GeneratorHolds)-1)
		return
	}
	if deadlocks != 1 || orphans != len(want.GeneratorHolds)-1 {
		t.Errorf("%d deadlock(s) and %d lock(s) held by generators alone, want 1 and %d", deadlocks, orphans, len(want.GeneratorHolds)-1)
	}
}
