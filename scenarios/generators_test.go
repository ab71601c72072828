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
// the one in a global is the holder of a lock held by no thread.
func checkGeneratorHolds(t *testing.T, d *procDiagnosis, raw []byte, want procExpect) {
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
				} `json:"generators"`
			}
			if err := json.Unmarshal(f.Details, &od); err != nil || od.Cause != "suspended-generator" || len(od.Generators) != 1 || f.Severity != "warning" {
				t.Errorf("orphaned-lock %s: %s", f.Severity, f.Details)
				continue
			}
			line, ok := want.GeneratorHolds[od.Lock.Name]
			if !ok || slices.Contains(want.Locks, od.Lock.Name) || od.Generators[0].Global == "" {
				t.Errorf("orphaned-lock of %s held by a generator in global %q, want one of %v not in the deadlock, in a global",
					od.Lock.Name, od.Generators[0].Global, want.GeneratorHolds)
				continue
			}
			genAt("orphaned-lock", od.Generators[0].Generator.ID, od.Lock.ID, line)
			t.Logf("%s", f.Summary)
		default:
			t.Errorf("unexpected %s/%s: %s", f.Kind, f.Severity, f.Summary)
		}
	}
	if deadlocks != 1 || orphans != len(want.GeneratorHolds)-1 {
		t.Errorf("%d deadlock(s) and %d lock(s) held by generators alone, want 1 and %d", deadlocks, orphans, len(want.GeneratorHolds)-1)
	}
}
