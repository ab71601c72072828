package heuristics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// load reads a stored snapshot (see testdata/README.md).
func load(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), "@REPO@", repo))
	var s snapshot.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s.Files = hostFiles{}
	return &s
}

// hostFiles reads the stored snapshots' sources from this checkout, where
// their paths point once @REPO@ is put back.
type hostFiles struct{}

func (hostFiles) Text(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func threadByTID(s *snapshot.Snapshot, tid int) *snapshot.Thread {
	for i := range s.Threads {
		if s.Threads[i].TID == tid {
			return &s.Threads[i]
		}
	}
	return nil
}

func nameOf(ob *snapshot.Object) string { return locks.BestName(ob) }

func run(t *testing.T, name string) (*snapshot.Snapshot, *locks.Analysis, []Finding) {
	s := load(t, name)
	a := locks.Analyze(s)
	return s, a, Find(s, a, waitgraph.Build(s, a))
}

// names returns the thread names of tids, sorted.
func names(s *snapshot.Snapshot, tids []int) []string {
	var out []string
	for _, tid := range tids {
		if th := threadByTID(s, tid); th != nil {
			out = append(out, th.Name)
		}
	}
	sort.Strings(out)
	return out
}

func objectNames(s *snapshot.Snapshot, ids []string) []string {
	var out []string
	for _, id := range ids {
		if ob := s.Objects[id]; ob != nil && nameOf(ob) != "" {
			out = append(out, nameOf(ob))
		} else {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func errors(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Problem() {
			out = append(out, f)
		}
	}
	return out
}

func TestDeadlocks(t *testing.T) {
	for _, tc := range []struct {
		prog    string
		threads []string
		objects []string
	}{
		{"deadlock", []string{"audit", "posting"}, []string{"audit_log", "ledger"}},
		{"self_deadlock", []string{"reloader"}, []string{"config_lock"}},
		{"deadlock_rlock_join", []string{"indexer", "loader", "warmer"}, []string{"cache_lock", "registry", "thread@"}},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			s, _, fs := run(t, tc.prog)
			errs := errors(fs)
			if len(errs) != 1 || errs[0].Kind != Deadlock {
				t.Fatalf("findings = %+v, want one deadlock", fs)
			}
			if got := names(s, errs[0].Threads); strings.Join(got, ",") != strings.Join(tc.threads, ",") {
				t.Errorf("deadlock threads = %v, want %v", got, tc.threads)
			}
			got := objectNames(s, errs[0].Objects)
			for i, want := range tc.objects {
				if i >= len(got) || !strings.HasPrefix(got[i], want) {
					t.Errorf("deadlock objects = %v, want %v", got, tc.objects)
					break
				}
			}
			if d := errs[0].Details.(*DeadlockDetails); len(d.Cycle) != len(tc.threads) {
				t.Errorf("cycle = %+v, want %d steps", d.Cycle, len(tc.threads))
			}
		})
	}
}

func TestOrphanedLock(t *testing.T) {
	s, a, fs := run(t, "orphaned_lock")
	errs := errors(fs)
	if len(errs) != 1 || errs[0].Kind != OrphanedLock {
		t.Fatalf("findings = %+v, want one orphaned-lock", fs)
	}
	f := errs[0]
	if got := objectNames(s, f.Objects); len(got) != 1 || got[0] != "ReadersWriters.file_lock" {
		t.Errorf("orphaned lock = %v, want ReadersWriters.file_lock", got)
	}
	if got := names(s, f.Threads); strings.Join(got, ",") != "sync_0,sync_1,sync_2,sync_3" {
		t.Errorf("waiters = %v", got)
	}
	var site *locks.Site
	for _, st := range a.BareSites[f.Objects[0]] {
		if st.Call == "acquire" {
			st := st
			site = &st
		}
	}
	if site == nil || filepath.Base(site.File) != "talk_readers_writers.py" || site.Function != "ReadersWriters.read" {
		t.Fatalf("bare acquire site = %+v, want ReadersWriters.read in talk_readers_writers.py", site)
	}
	d := f.Details.(*OrphanedLockDetails)
	if d.Cause != CauseBareAcquire || len(d.Acquires) != 1 || d.Acquires[0] != *site {
		t.Errorf("details = %+v, want the bare acquire() site %+v", d, *site)
	}
}

func TestAllBlocked(t *testing.T) {
	s, _, fs := run(t, "all_blocked")
	errs := errors(fs)
	if len(errs) != 1 || errs[0].Kind != AllBlocked {
		t.Fatalf("findings = %+v, want all-blocked", fs)
	}
	if len(errs[0].Threads) != len(s.Threads) {
		t.Errorf("all-blocked names %d of %d threads", len(errs[0].Threads), len(s.Threads))
	}
}

// TestHealthy: look-alikes of the problems must get no finding at all.
func TestHealthy(t *testing.T) {
	for _, prog := range []string{"held_by_bare_acquire", "healthy_condition", "healthy_rlock"} {
		t.Run(prog, func(t *testing.T) {
			_, a, fs := run(t, prog)
			if len(fs) != 0 {
				t.Fatalf("findings on a healthy program: %+v", fs)
			}
			if prog == "held_by_bare_acquire" {
				found := false
				for _, hs := range a.Holds {
					for _, h := range hs {
						found = found || (h.Probable && h.Name != nil && *h.Name == "journal_lock")
					}
				}
				if !found {
					t.Errorf("compactor is not named as journal_lock's probable holder: %+v", a.Holds)
				}
			}
		})
	}
}

// TestRoundTrip: a snapshot survives JSON unchanged, so stored ones are faithful.
func TestRoundTrip(t *testing.T) {
	s := load(t, "deadlock")
	s.Files = nil
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back snapshot.Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Fatal("snapshot changed through a JSON round trip")
	}
}
