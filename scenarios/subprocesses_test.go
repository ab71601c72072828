package scenarios

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// familyReport is a dump with --subprocesses: the target's report, its descendants' and
// the waits across processes.
type familyReport struct {
	snapshot.Snapshot
	Subprocesses []struct {
		snapshot.Snapshot
		Error string `json:"error"`
	} `json:"subprocesses"`
	CrossWaits []locks.CrossWait `json:"cross_waits"`
}

// TestSubprocesses runs children.py under every interpreter: its main thread reads the
// stdout of a Python child that waits to read its stdin, and a thread joins a
// multiprocessing worker. With --subprocesses, dump must show each process's threads and
// frames as each recorded them, its parent and children; the joiner waiting for the
// worker (wait4) and the two pipe readers each waiting on the other process; graph must
// draw the cycle across the two processes. A core holds one process: --subprocesses with
// a core is a usage error. (Child processes are followed live only.)
func TestSubprocesses(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			p := startProgram(t, in, "children.py")
			var want struct {
				Expect struct {
					Children map[string]json.RawMessage `json:"children"`
					MPWorker int                        `json:"mp_worker"`
					Child    int                        `json:"child"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &want); err != nil {
				t.Fatal(err)
			}
			kids := map[int]ready{}
			for pidText, raw := range want.Expect.Children {
				var r ready
				if err := json.Unmarshal(raw, &r); err != nil {
					t.Fatal(err)
				}
				pid, _ := strconv.Atoi(pidText)
				if r.PID != pid || r.Error != "" {
					t.Fatalf("child %d's ready file: pid %d, error %q", pid, r.PID, r.Error)
				}
				if w := r.WatcherNativeID; w != nil {
					waitGone(t, pid, *w, 30*time.Second)
				}
				testinterp.WaitThreads(t, pid, len(r.Threads), 60*time.Second, quietSyscalls...)
				kids[pid] = r
			}
			pid := strconv.Itoa(p.PID)
			r := runPyhang(t, "dump", pid, "--subprocesses", "--format", "json")
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			var f familyReport
			if err := json.NewDecoder(bytes.NewReader(r.stdout)).Decode(&f); err != nil {
				t.Fatalf("not a report: %v", err)
			}
			frames, _ := compareThreads(t, &f.Snapshot, p.ready, false)
			var children []int
			for _, c := range f.Target.Children {
				children = append(children, c.PID)
			}
			slices.Sort(children)
			if wantKids := []int{want.Expect.MPWorker, want.Expect.Child}; !slices.Equal(children, slices.Sorted(slices.Values(wantKids))) {
				t.Errorf("children %v, want the worker %d and the child %d", children, want.Expect.MPWorker, want.Expect.Child)
			}
			if len(f.Subprocesses) != len(kids) {
				t.Fatalf("%d subprocesses in the report, want %d", len(f.Subprocesses), len(kids))
			}
			for i := range f.Subprocesses {
				sub := &f.Subprocesses[i]
				k, ok := kids[sub.Target.PID]
				if !ok || sub.Error != "" {
					t.Errorf("subprocess %d (error %q) is not one of the program's children", sub.Target.PID, sub.Error)
					continue
				}
				if sub.Target.Parent == nil || sub.Target.Parent.PID != p.PID {
					t.Errorf("subprocess %d: parent %+v, want %d", sub.Target.PID, sub.Target.Parent, p.PID)
				}
				n, _ := compareThreads(t, &sub.Snapshot, k, false)
				frames += n
			}
			checkCrossWaits(t, &f, p, want.Expect.MPWorker, want.Expect.Child, kids)

			dot := filepath.Join(t.TempDir(), "family.dot")
			g := runPyhang(t, "graph", pid, "--subprocesses", "-o", dot)
			if g.code != 0 || !strings.Contains(string(g.stdout), "in 3 processes, 1 cycles") {
				t.Errorf("graph --subprocesses: %v\nstdout: %s; want 3 processes, 1 cycle", g, g.stdout)
			}
			if b, err := os.ReadFile(dot); err != nil || !strings.Contains(string(b), "pipe") {
				t.Errorf("the graph does not show the pipes: %v", err)
			}
			t.Logf("%s: 3 processes, %d frames matched, %d waits across processes; the pipe cycle drawn; %v",
				in.Name, frames, len(f.CrossWaits), r.elapsed.Round(time.Millisecond))
		})
	}
	t.Run("core", func(t *testing.T) {
		core := filepath.Join(t.TempDir(), "core")
		if err := os.WriteFile(core, []byte("not a core"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := runPyhang(t, "dump", core, "--subprocesses")
		if r.code != 2 || !strings.Contains(stderrLine(t, r), "core holds one process") {
			t.Errorf("--subprocesses with a core: %v; want a usage error saying a core holds one process", r)
		}
	})
}

// checkCrossWaits: the joiner waits for the worker (wait4 on its pid), the main thread for
// the child's stdout, which only the child can end, and the child for its stdin, which
// only the parent can end.
func checkCrossWaits(t *testing.T, f *familyReport, p *program, worker, child int, kids map[int]ready) {
	t.Helper()
	tidOf := func(r ready, name string) int {
		for _, th := range r.Threads {
			if th.Name != nil && *th.Name == name && th.NativeID != nil {
				return *th.NativeID
			}
		}
		return 0
	}
	joiner, parentMain, childMain := tidOf(p.ready, "joiner"), tidOf(p.ready, "MainThread"), tidOf(kids[child], "MainThread")
	want := map[int]struct {
		kind  string
		procs []int
	}{
		joiner:     {locks.KindProcess, []int{worker}},
		parentMain: {locks.KindPipe, []int{child}},
		childMain:  {locks.KindPipe, []int{p.PID}},
	}
	for _, c := range f.CrossWaits {
		w, ok := want[c.Thread]
		if !ok {
			t.Errorf("unexpected wait across processes %+v", c)
			continue
		}
		delete(want, c.Thread)
		if c.Waits.Kind != w.kind || !slices.Equal(c.Processes, w.procs) || len(c.On) != 1 {
			t.Errorf("tid %d waits for %s on %v (ended by %v), want a %s on %v", c.Thread, c.Waits.ID, c.Processes, c.On, w.kind, w.procs)
		}
	}
	for tid, w := range want {
		t.Errorf("tid %d: no wait across processes, want a %s on %v", tid, w.kind, w.procs)
	}
	for _, th := range f.Threads {
		if th.TID == joiner && (th.Kernel == nil || th.Kernel.WaitPID == nil || *th.Kernel.WaitPID != worker) {
			t.Errorf("joiner's kernel state %+v: want wait_pid %d", th.Kernel, worker)
		}
	}
}
