package scenarios

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// expectation is what a program's ready file says a diagnosis must find
// (the "expect" object each program in testprogs/ writes).
type expectation struct {
	CycleThreads []string `json:"cycle_threads"`
	Locks        []string `json:"locks"`
	// Probable says the deadlock's cycle closes through locks taken by a
	// bare acquire(): no thread provably holds them.
	Probable bool `json:"probable"`
	// ChildLock says the deadlock runs across the process and its child
	// over a lock they share (details.child_lock).
	ChildLock bool `json:"child_lock"`
	// ProbableBasis is the basis of a probable deadlock's inferred holds
	// (bare-acquire when empty); Severity its severity (error when empty).
	ProbableBasis string `json:"probable_basis"`
	Severity      string `json:"severity"`
	// AcquireFunction is the function of a probable hold's acquire() (a
	// bare-acquire cycle): the holding thread's own name when empty.
	AcquireFunction string `json:"acquire_function"`
	// RetryLine is the line of the while loops in which the cycle's
	// waits, each with a timeout, are retried with the thread's hold kept
	// (details.retries); 0 when there should be none.
	RetryLine int `json:"retry_line"`
	// RetryLines are those loops' lines by thread name, when they differ.
	RetryLines    map[string]int `json:"retry_lines"`
	Orphaned      string         `json:"orphaned"`
	OrphanedRLock string         `json:"orphaned_rlock"`
	// OrphanedSemaphore is a semaphore whose Units units were all taken
	// by acquire() calls whose release(), at ReleaseSite, never ran.
	OrphanedSemaphore string `json:"orphaned_semaphore"`
	Units             int    `json:"units"`
	ReleaseSite       int    `json:"release_site"`
	// ReusedBy is the live thread that got the ident of the ended thread
	// EndedThread, which took the orphaned RLock.
	// LeftBy is the live owner of the orphaned RLock, which holds it in no
	// frame (cause left-by-owner).
	LeftBy      string `json:"left_by"`
	ReusedBy    string `json:"reused_by"`
	EndedThread string `json:"ended_thread"`
	// WaitLines are the lines, by thread name, of the frames the waits are
	// placed at (waiting_on.frame).
	WaitLines map[string]int `json:"wait_lines"`
	// HoldLines are the lines, by thread name, of the with statements
	// each thread's holds are placed at (holds[].evidence).
	HoldLines map[string]int `json:"hold_lines"`
	// HoldCount is how many locks, by thread name, a thread holds.
	HoldCount   map[string]int `json:"hold_count"`
	AcquireSite int            `json:"acquire_site"`
	Blocked     []string       `json:"blocked"`
	AllBlocked  bool           `json:"all_blocked"`
	// LiveOnly says the finding rests on what only the kernel of a live
	// process tells (who holds a pipe's ends): from a core no problem is
	// proven, and none may be claimed.
	LiveOnly bool `json:"live_only"`
	// StuckPipe names the threads one of which is blocked writing to a full
	// pipe that its one reader, ReaderPID (its /proc state ReaderState),
	// does not read, holding the lock LockWaiters of the others wait for.
	StuckPipe      []string `json:"stuck_pipe"`
	LockWaiters    int      `json:"lock_waiters"`
	ReaderPID      int      `json:"reader_pid"`
	ReaderState    string   `json:"reader_state"`
	Threads        []string `json:"threads"`
	Healthy        bool     `json:"healthy"`
	ProbableHolder string   `json:"probable_holder"`
	Lock           string   `json:"lock"`
	RLock          *struct {
		Name  string `json:"name"`
		Owner string `json:"owner"`
		Count int    `json:"count"`
	} `json:"rlock"`
	Join *struct {
		Waiter string `json:"waiter"`
		Target string `json:"target"`
	} `json:"join"`
	// Starved are the consumers of Queue (a queue's or condition's name),
	// starved; BlockedOthers the other threads, all waiting forever.
	// Lockout is a proven endless wait, a finding of Kind
	// (starved-consumers or abandoned-wait), whose would-be ender Feeder
	// waits for what Waiter holds while it waits.
	Lockout *struct {
		Kind   string `json:"kind"`
		Waiter string `json:"waiter"`
		Feeder string `json:"feeder"`
		// Holder is the thread, neither waiter nor feeder, that holds what
		// the feeder waits for while it waits for the waiter.
		Holder   string `json:"holder"`
		Severity string `json:"severity"`
		// Also are the kinds of the other problems found with it (a loop
		// the feeder blocks).
		Also []string `json:"also"`
	} `json:"lockout"`
	// StuckIO names the threads stuck on sockets (stuck-io).
	StuckIO       []string `json:"stuck_io"`
	Starved       []string `json:"starved"`
	Queue         string   `json:"queue"`
	BlockedOthers []string `json:"blocked_others"`
	// GILHolder holds the GIL in a C call that blocks, or with GILRunning
	// in one that runs; GILWaiters are the threads that want it; the
	// holder's C function and Python frame.
	GILHolder      string   `json:"gil_holder"`
	GILRunning     bool     `json:"gil_running"`
	GILWaiters     []string `json:"gil_waiters"`
	HolderFunction string   `json:"holder_function"`
	HolderPython   string   `json:"holder_python_function"`
	HolderLine     int      `json:"holder_line"`
	Exit           *struct {
		Phase     string   `json:"phase"`
		Thread    string   `json:"thread"`
		NonDaemon []string `json:"non_daemon"`
		Lock      string   `json:"lock"`
		// Moving says the exit will end: the threads it waits for wait on
		// what a thread that still runs will end (info, not stuck; the
		// program is otherwise healthy).
		Moving bool `json:"moving"`
	} `json:"exit"`
	GC *struct {
		Thread   string `json:"thread"`
		Callback string `json:"callback"`
	} `json:"gc"`
}

// diagnosis is the part of the pyhang/1 report these tests read.
type diagnosis struct {
	Target struct {
		Missing []string `json:"missing"`
	} `json:"target"`
	Threads []threadReport `json:"threads"`
	Objects map[string]struct {
		Names []string `json:"names"`
		Owner uint64   `json:"owner"`
		Count int      `json:"count"`
		Value string   `json:"value"`
	} `json:"objects"`
	Findings []finding `json:"findings"`
}

// threadReport is a report's thread.
type threadReport struct {
	TID    int    `json:"tid"`
	Name   string `json:"name"`
	GIL    string `json:"gil"`
	Main   bool   `json:"main"`
	Frames []struct {
		Function string `json:"function"`
		Line     int    `json:"line"`
		Calling  *struct {
			Object string `json:"object"`
			Method string `json:"method"`
			Via    string `json:"via"`
		} `json:"calling"`
	} `json:"frames"`
	WaitingOn *struct {
		Kind  string `json:"kind"`
		ID    string `json:"id"`
		Basis []struct {
			Basis string `json:"basis"`
		} `json:"basis"`
		Name  *string `json:"name"`
		On    []int   `json:"on"`
		Frame int     `json:"frame"`
	} `json:"waiting_on"`
	Holds []struct {
		Kind     string  `json:"kind"`
		ID       string  `json:"id"`
		Name     *string `json:"name"`
		Evidence string  `json:"evidence"`
		Probable bool    `json:"probable"`
	} `json:"holds"`
	StackLost bool `json:"stack_lost"`
}

// finding is a report's finding, its details left to each check.
type finding struct {
	Kind     string          `json:"kind"`
	Severity string          `json:"severity"`
	Summary  string          `json:"summary"`
	Threads  []int           `json:"threads"`
	Objects  []string        `json:"objects"`
	Evidence []string        `json:"evidence"`
	Details  json.RawMessage `json:"details"`
}

// checkRefs: every id the report refers to names an entry of its objects.
func (d *diagnosis) checkRefs(t *testing.T) {
	t.Helper()
	check := func(where, id string) {
		if _, ok := d.Objects[id]; !ok {
			t.Errorf("%s refers to %q, which is not among the report's objects", where, id)
		}
	}
	for _, th := range d.Threads {
		if w := th.WaitingOn; w != nil {
			check(fmt.Sprintf("thread %d's waiting_on", th.TID), w.ID)
		}
		for _, h := range th.Holds {
			check(fmt.Sprintf("thread %d's holds", th.TID), h.ID)
		}
	}
	for _, f := range d.Findings {
		for _, id := range f.Objects {
			check(f.Kind+" finding", id)
		}
	}
}

// checkCalls: where the kernel names the lock a thread waits for (its futex
// is the lock's semaphore, or it parked on the lock's mutex) and the
// innermost frame says what it is calling, both name the same lock. This is
// the real-process check of how calls are read from a frame's value stack.
func (d *diagnosis) checkCalls(t *testing.T) {
	t.Helper()
	for _, th := range d.Threads {
		w := th.WaitingOn
		if w == nil || len(th.Frames) == 0 || th.Frames[0].Calling == nil || (w.Kind != "lock" && w.Kind != "rlock") {
			continue
		}
		c := th.Frames[0].Calling
		direct := false
		for _, b := range w.Basis {
			direct = direct || b.Basis == "futex" || b.Basis == "parked"
		}
		if !direct {
			continue
		}
		if c.Object != w.ID {
			t.Errorf("thread %s waits for %s (kernel evidence), but its frame is calling %s of %s (%s)", th.Name, w.ID, c.Method, c.Object, c.Via)
			continue
		}
		t.Logf("thread %s: its frame's call (%s, %s) names %s, as the kernel evidence does", th.Name, c.Method, c.Via, w.ID)
	}
}

func (d *diagnosis) names(tids []int) []string {
	var out []string
	for _, tid := range tids {
		for _, t := range d.Threads {
			if t.TID == tid {
				out = append(out, t.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// problems are the findings that make diagnose exit 3.
func (d *diagnosis) problems() (out []int) {
	for i, f := range d.Findings {
		if f.Severity != "info" {
			out = append(out, i)
		}
	}
	return out
}

// onlyProblem returns the index of the one problem finding, which must be of
// kind kind, and logs its summary.
func (d *diagnosis) onlyProblem(t *testing.T, kind string) int {
	t.Helper()
	ps := d.problems()
	if len(ps) != 1 || d.Findings[ps[0]].Kind != kind {
		var got []string
		for _, f := range d.Findings {
			got = append(got, f.Kind+"/"+f.Severity+": "+f.Summary)
		}
		t.Fatalf("want exactly one %s problem, got %q", kind, got)
	}
	t.Logf("%s", d.Findings[ps[0]].Summary)
	return ps[0]
}

// checkCode: diagnose exits 3 on a problem and 0 on a healthy program; from
// a core that lost memory (lossy) a healthy program may instead be
// incomplete (exit 4), saying what is missing.
func (d *diagnosis) checkCode(t *testing.T, r result, healthy, lossy bool) {
	t.Helper()
	wantCode := 3
	if healthy {
		wantCode = 0
		if lossy && r.code == 4 {
			if len(d.Target.Missing) == 0 {
				t.Errorf("exit 4 (incomplete) without target.missing\n%v", r)
			}
			wantCode = 4
			t.Logf("incomplete, as the core lost memory: %q", d.Target.Missing)
		}
	}
	if r.code != wantCode {
		t.Errorf("exit %d, want %d (missing %q)\n%v", r.code, wantCode, d.Target.Missing, r)
	}
}

var diagnosePrograms = []string{
	"deadlock.py", "account_transfer.py", "bare_acquire_deadlock.py", "bare_acquire_self_deadlock.py", "contextmanager_lock_cycle.py", "mp_lock_deadlock.py", "mp_lock_child_deadlock.py", "mp_lock_child_deadlock.py --start-method spawn", "mp_lock_child_deadlock.py --start-method forkserver", "mp_lock_child_deadlock.py --bare", "mp_event_child_deadlock.py", "mp_event_child_deadlock.py --start-method spawn", "mp_event_child_deadlock.py --start-method forkserver", "flock_child_deadlock.py", "condition_lock_cycle.py", "semaphore_cycle.py", "semaphore_probable_cycle.py", "semaphore_knot.py", "nested_monitor.py", "event_set_lockout.py", "event_set_lockout.py --retry", "pipe_unread.py", "pipe_unread.py --stopped", "queue_poll_lockout.py", "queue_join_lockout.py", "producer_loop_lockout.py", "producer_join_lockout.py", "starved_with_handler.py", "loop_feed_lockout.py", "timed_retry_cycle.py", "self_deadlock.py", "deadlock_rlock_join.py", "orphaned_lock.py", "orphaned_rlock.py", "orphaned_rlock_reused.py", "orphaned_rlock_pool.py", "semaphore_leaked.py", "all_blocked.py",
	"own_pipe_wait.py", "healthy_pipe_from_child.py",
	"exit_waits_thread.py", "exit_waits_thread.py --holder-sleeps", "exit_finalizing.py", "gc_callback.py",
	"held_by_bare_acquire.py", "healthy_sleep.py", "healthy_rlock.py", "healthy_condition.py",
	"healthy_idle_pool.py", "healthy_busy.py", "starved_handoff.py", "healthy_producer.py", "healthy_sockets.py", "select_no_timeout.py", "healthy_semaphore_signal.py", "healthy_rlock_bare.py", "healthy_release_callback.py", "healthy_event_signal.py", "mp_event_child_deadlock.py --sibling",
	"module_globals.py", "module_globals.py --main joins", "module_globals.py --main joins --queue class",
	"module_globals.py --main joins --queue module-class", "module_globals.py --main joins --queue instance",
	"module_globals.py --main joins --queue dict", "module_globals.py --main joins --queue shard", "module_globals.py --main joins --queue nested",
	"module_globals.py --main joins --queue slots", "module_globals.py --main joins --queue local",
	"gil_held_in_native.py", "gil_held_running.py", "healthy_gil.py",
}

// TestDiagnose runs every problem program and every healthy look-alike under
// every interpreter and diagnoses it live, from a gcore and from a kernel
// core: the findings must name exactly the right threads and locks, and the
// healthy programs must get none.
func TestDiagnose(t *testing.T) {
	eachProgram(t, diagnosePrograms, func(t *testing.T, in testinterp.Interp, prog string) {
		args := strings.Fields(prog) // a program and its arguments
		p := startProgram(t, in, args[0], args[1:]...)
		var want struct {
			Expect expectation `json:"expect"`
		}
		if err := json.Unmarshal(p.raw, &want); err != nil {
			t.Fatal(err)
		}
		lookEachWay(t, p.lookable(), func(t *testing.T, w way) {
			if want.Expect.LiveOnly && !w.live {
				checkDiagnosis(t, w.target, expectation{Healthy: true}, w.lossy)
				if want.Expect.GILRunning {
					// The text says what a core cannot tell, and who can,
					// when the core caught a thread waiting for the GIL (the
					// waiters wake every switch interval: a kernel core of a
					// loaded machine may catch them all awake).
					r := runPyhang(t, "diagnose", w.target)
					out := string(r.stdout)
					switch {
					case !strings.Contains(out, "waits for the GIL"):
						t.Logf("the core caught no thread waiting for the GIL: no note to check")
					case !strings.Contains(out, want.Expect.GILHolder+`" (tid `) || !strings.Contains(out, "held the GIL and was running while"):
						t.Errorf("the text of a core does not say the holder ran with the GIL\n%s", tail(r.stdout, 3000))
					}
				}
				return
			}
			checkDiagnosis(t, w.target, want.Expect, w.lossy)
			if w.live && len(want.Expect.CycleThreads) > 0 && !want.Expect.ChildLock {
				checkGraphCycle(t, w.target)
			}
			if w.live && want.Expect.GILHolder != "" && !want.Expect.GILRunning {
				checkGILHeldNative(t, w.target, want.Expect)
			}
		})
	})
}

// checkGraphCycle draws the graph of a deadlocked target: the picture must
// show a deadlock cycle in red, proven or probable, as the diagnosis found.
func checkGraphCycle(t *testing.T, target string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "graph.dot")
	r := runPyhang(t, "graph", target, "-o", out)
	if r.code != 0 || !regexp.MustCompile(`\([0-9]+ threads, [1-9][0-9]* cycles?\)`).Match(r.stdout) {
		t.Fatalf("graph of a deadlock draws no cycle: %v", r)
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "color=red") {
		t.Errorf("the graph file has no red edge (%v)", err)
	}
}

// checkDiagnosis diagnoses target and compares the findings with the
// program's expectation. lossy says the core lost memory (zero-filled
// chunks): a healthy program's diagnosis may then be incomplete (exit 4,
// saying what is missing), never a problem.
func checkDiagnosis(t *testing.T, target string, want expectation, lossy bool) {
	t.Helper()
	r := runPyhang(t, "diagnose", target, "--format", "json")
	var d diagnosis
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	d.checkRefs(t)
	d.checkCalls(t)
	if lossy && len(want.CycleThreads) > 0 && d.lostStack() && !slices.ContainsFunc(d.Findings, func(f finding) bool { return f.Kind == "deadlock" }) {
		// The core lost a thread's outer frames (a Python __enter__ is
		// reached through an entry frame on the C stack gdb could not
		// read), and the holds in them: the answer says what is missing
		// and claims no error it cannot see. That every thread is blocked
		// for good it still sees.
		wantCode := 4
		for _, f := range d.Findings {
			switch {
			case f.Kind == "all-blocked" || f.Severity == "warning":
				wantCode = 3 // a problem found: all blocked, or not proven
			case f.Severity == "error":
				t.Errorf("from a core that lost a stack: %s/%s: %s", f.Kind, f.Severity, f.Summary)
			}
		}
		if r.code != wantCode || len(d.Target.Missing) == 0 {
			t.Errorf("a lost stack and no deadlock: exit %d and missing %q, want %d and what is missing", r.code, d.Target.Missing, wantCode)
		}
		t.Logf("incomplete, as the core lost a stack: %q", d.Target.Missing)
		return
	}
	d.checkCode(t, r, want.Healthy, lossy)
	switch {
	case want.Healthy:
		if want.Exit != nil && want.Exit.Moving {
			checkExit(t, &d, want)
		}
		if len(d.Findings) != 0 {
			for _, f := range d.Findings {
				if want.Exit != nil && want.Exit.Moving && f.Kind == "hang-at-exit" {
					continue // checked above
				}
				t.Errorf("finding on a healthy program: %s [%s]: %s\n  %s", f.Kind, f.Severity, f.Summary,
					strings.Join(f.Evidence, "\n  "))
			}
		}
		if want.ProbableHolder != "" {
			checkProbable(t, &d, want)
		}
		if want.RLock != nil {
			checkRLockOwner(t, &d, want)
		}
	case len(want.CycleThreads) > 0:
		f := d.Findings[d.onlyProblem(t, "deadlock")]
		wantThreads := slices.Sorted(slices.Values(want.CycleThreads))
		if got := d.names(f.Threads); !slices.Equal(got, wantThreads) {
			t.Errorf("deadlock threads %v, want %v", got, wantThreads)
		}
		var names []string
		for _, id := range f.Objects {
			names = append(names, d.Objects[id].Names...)
		}
		for _, l := range want.Locks {
			if !slices.Contains(names, l) {
				t.Errorf("deadlock objects %v (names %v) do not include %s", f.Objects, names, l)
			}
		}
		if want.Join != nil {
			checkJoin(t, &d, want)
		}
		checkProbableCycle(t, &d, f, want)
		var det struct {
			ChildLock *struct {
				Child int `json:"child_pid"`
			} `json:"child_lock"`
		}
		if err := json.Unmarshal(f.Details, &det); err != nil || (det.ChildLock != nil) != want.ChildLock {
			t.Errorf("deadlock details.child_lock %+v (%v), want one: %v", det.ChildLock, err, want.ChildLock)
		}
		checkWaitLines(t, &d, want)
		checkHoldLines(t, &d, want)
		for _, th := range d.Threads {
			if n, ok := want.HoldCount[th.Name]; ok && len(th.Holds) != n {
				t.Errorf("%s holds %d locks, want %d: %+v", th.Name, len(th.Holds), n, th.Holds)
			}
		}
	case want.Lockout != nil:
		checkLockout(t, &d, want)
	case want.Orphaned != "":
		f := d.Findings[d.onlyProblem(t, "orphaned-lock")]
		if len(f.Objects) != 1 || !slices.Contains(d.Objects[f.Objects[0]].Names, "ReadersWriters."+want.Orphaned) {
			t.Errorf("orphaned object %v, want ReadersWriters.%s", f.Objects, want.Orphaned)
		}
		wantBlocked := slices.Sorted(slices.Values(want.Blocked))
		if got := d.names(f.Threads); !slices.Equal(got, wantBlocked) {
			t.Errorf("waiters %v, want %v", got, wantBlocked)
		}
		site := "talk_readers_writers.py:" + strconv.Itoa(want.AcquireSite)
		if !strings.Contains(strings.Join(f.Evidence, " "), site) {
			t.Errorf("evidence does not name the bare acquire() at %s: %q", site, f.Evidence)
		}
	case want.OrphanedRLock != "":
		f := d.Findings[d.onlyProblem(t, "orphaned-lock")]
		if len(f.Objects) == 0 || !strings.HasPrefix(f.Objects[0], "rlock@") || !slices.Contains(d.Objects[f.Objects[0]].Names, want.OrphanedRLock) {
			t.Errorf("orphaned object %v, want the RLock %s", f.Objects, want.OrphanedRLock)
		}
		checkReusedIdent(t, &d, f, want)
		checkLeftBy(t, &d, f, want)
		wantBlocked := slices.Sorted(slices.Values(append(want.Blocked, want.LeftBy)))
		if want.LeftBy == "" {
			wantBlocked = slices.Sorted(slices.Values(want.Blocked))
		}
		if got := d.names(f.Threads); !slices.Equal(got, wantBlocked) {
			t.Errorf("waiters %v, want %v", got, wantBlocked)
		}
	case want.OrphanedSemaphore != "":
		checkOrphanedSemaphore(t, &d, want)
	case len(want.StuckIO) > 0:
		f := d.Findings[d.onlyProblem(t, "stuck-io")]
		var det struct {
			Stuck []struct {
				Thread int    `json:"thread"`
				Op     string `json:"op"`
			} `json:"stuck"`
		}
		if err := json.Unmarshal(f.Details, &det); err != nil {
			t.Fatalf("stuck-io details: %v", err)
		}
		var stuck []int
		for _, st := range det.Stuck {
			stuck = append(stuck, st.Thread)
		}
		if got, wantStuck := d.names(stuck), slices.Sorted(slices.Values(want.StuckIO)); !slices.Equal(got, wantStuck) {
			t.Errorf("stuck threads %v, want %v", got, wantStuck)
		}
	case len(want.Starved) > 0:
		checkStarved(t, &d, want)
	case want.GILHolder != "":
		checkGILHeld(t, &d, want)
	case want.Exit != nil:
		checkExit(t, &d, want)
	case want.GC != nil:
		checkGC(t, &d, want)
	case len(want.StuckPipe) > 0:
		checkStuckPipe(t, &d, want)
	case want.AllBlocked:
		f := d.Findings[d.onlyProblem(t, "all-blocked")]
		wantThreads := slices.Sorted(slices.Values(want.Threads))
		if got := d.names(f.Threads); !slices.Equal(got, wantThreads) {
			t.Errorf("all-blocked threads %v, want %v", got, wantThreads)
		}
		if len(wantThreads) == 1 && !strings.Contains(f.Summary, "only thread") {
			t.Errorf("the summary of a lone thread's wait does not say it is the only thread: %s", f.Summary)
		}
	default:
		t.Fatalf("the program's ready file has no expectation this test knows")
	}
}

// checkLeftBy: an RLock orphaned by its live owner names the owner, and
// the acquire() that took it.
func checkLeftBy(t *testing.T, d *diagnosis, f finding, want expectation) {
	t.Helper()
	var det struct {
		Cause    string `json:"cause"`
		Holder   int    `json:"holder"`
		Acquires []struct {
			Line int `json:"line"`
		} `json:"acquire_sites"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatalf("orphaned-lock details: %v", err)
	}
	if want.LeftBy == "" {
		if det.Cause == "left-by-owner" {
			t.Errorf("cause left-by-owner, want another: %s", f.Summary)
		}
		return
	}
	if det.Cause != "left-by-owner" || !slices.Equal(d.names([]int{det.Holder}), []string{want.LeftBy}) {
		t.Errorf("cause %q, holder %d; want left-by-owner by %s", det.Cause, det.Holder, want.LeftBy)
	}
	if len(det.Acquires) != 1 || det.Acquires[0].Line != want.AcquireSite {
		t.Errorf("acquire sites %v, want line %d", det.Acquires, want.AcquireSite)
	}
}

// checkOrphanedSemaphore: the only problem is the semaphore orphaned by
// acquire() calls whose release() never ran, with its waiters, its units,
// and the sites of the two calls.
func checkOrphanedSemaphore(t *testing.T, d *diagnosis, want expectation) {
	t.Helper()
	f := d.Findings[d.onlyProblem(t, "orphaned-lock")]
	if len(f.Objects) != 1 || !strings.HasPrefix(f.Objects[0], "semaphore@") || !slices.Contains(d.Objects[f.Objects[0]].Names, want.OrphanedSemaphore) {
		t.Errorf("orphaned object %v, want the semaphore %s", f.Objects, want.OrphanedSemaphore)
	}
	var det struct {
		Cause    string `json:"cause"`
		Units    *int   `json:"units"`
		Acquires []struct {
			Line int `json:"line"`
		} `json:"acquire_sites"`
		Releases []struct {
			Line int `json:"line"`
		} `json:"release_sites"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatalf("orphaned-lock details: %v", err)
	}
	if det.Cause != "units-leaked" || det.Units == nil || *det.Units != want.Units {
		t.Errorf("cause %q, units %v; want units-leaked, %d", det.Cause, det.Units, want.Units)
	}
	if len(det.Acquires) != 1 || det.Acquires[0].Line != want.AcquireSite || len(det.Releases) != 1 || det.Releases[0].Line != want.ReleaseSite {
		t.Errorf("acquire sites %v and release sites %v, want lines %d and %d", det.Acquires, det.Releases, want.AcquireSite, want.ReleaseSite)
	}
	for _, line := range []int{want.AcquireSite, want.ReleaseSite} {
		if site := fmt.Sprintf("semaphore_leaked.py:%d", line); !strings.Contains(strings.Join(f.Evidence, " "), site) {
			t.Errorf("evidence does not name %s: %q", site, f.Evidence)
		}
	}
	wantBlocked := slices.Sorted(slices.Values(want.Blocked))
	if got := d.names(f.Threads); !slices.Equal(got, wantBlocked) {
		t.Errorf("waiters %v, want %v", got, wantBlocked)
	}
}

// lostStack reports whether a thread's outer frames could not be read.
func (d *diagnosis) lostStack() bool {
	return slices.ContainsFunc(d.Threads, func(th threadReport) bool { return th.StackLost })
}

// checkWaitLines: each thread of want.WaitLines waits at a frame on that
// line (the program's own call, not the library's frame inside it).
func checkWaitLines(t *testing.T, d *diagnosis, want expectation) {
	t.Helper()
	for _, th := range d.Threads {
		line, ok := want.WaitLines[th.Name]
		if !ok {
			continue
		}
		w := th.WaitingOn
		if w == nil || w.Frame < 0 || w.Frame >= len(th.Frames) || th.Frames[w.Frame].Line != line {
			t.Errorf("%s's wait is not placed at line %d: %+v", th.Name, line, w)
		}
	}
}

// checkHoldLines: each named thread's holds are all placed at the with
// statement at its line (two with statements name the same attribute of
// two objects: only the order of the blocks tells them apart).
func checkHoldLines(t *testing.T, d *diagnosis, want expectation) {
	t.Helper()
	for _, th := range d.Threads {
		line, ok := want.HoldLines[th.Name]
		if !ok {
			continue
		}
		if len(th.Holds) == 0 {
			t.Errorf("%s holds nothing, want a with block at line %d", th.Name, line)
		}
		for _, h := range th.Holds {
			if !strings.HasSuffix(h.Evidence, ":"+strconv.Itoa(line)) {
				t.Errorf("%s's hold of %s is placed at %q, want line %d", th.Name, h.ID, h.Evidence, line)
			}
		}
	}
}

// checkReusedIdent: an orphaned RLock whose owner ident a live thread got
// from the ended thread that took it is a warning that names both (cause
// ident-reused); one whose owner lives on is checkLeftBy's; any other is
// an error, owner-gone.
func checkReusedIdent(t *testing.T, d *diagnosis, f finding, want expectation) {
	t.Helper()
	var det struct {
		Cause    string `json:"cause"`
		ReusedBy int    `json:"reused_by"`
		Ended    string `json:"ended_thread"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatalf("orphaned-lock details: %v", err)
	}
	if want.ReusedBy == "" {
		if want.LeftBy != "" {
			return // checkLeftBy
		}
		if det.Cause != "owner-gone" || f.Severity != "error" || len(f.Objects) != 1 {
			t.Errorf("%s/%s on %v, want an owner-gone error on the RLock alone", det.Cause, f.Severity, f.Objects)
		}
		return
	}
	if det.Cause != "ident-reused" || f.Severity != "warning" {
		t.Errorf("%s/%s, want an ident-reused warning: %s", det.Cause, f.Severity, f.Summary)
	}
	if got := d.names([]int{det.ReusedBy}); !slices.Equal(got, []string{want.ReusedBy}) {
		t.Errorf("the ident is said to be reused by %v, want %s", got, want.ReusedBy)
	}
	if ob, ok := d.Objects[det.Ended]; !ok || ob.Value != want.EndedThread || !slices.Contains(f.Objects, det.Ended) {
		t.Errorf("the ended thread is %q (%+v), want the Thread %s among the finding's objects %v", det.Ended, ob, want.EndedThread, f.Objects)
	}
	for _, th := range d.Threads {
		for _, h := range th.Holds {
			if th.Name == want.ReusedBy && !h.Probable {
				t.Errorf("%s is said to hold %s for certain", want.ReusedBy, h.ID)
			}
		}
	}
}

// checkStarved: one starved-consumers problem, on the queue, naming its
// consumers and, when the program says so, the other threads as blocked.
// A process where every thread is blocked also gets all-blocked, as a note.
func checkStarved(t *testing.T, d *diagnosis, want expectation) {
	f := d.Findings[d.onlyProblem(t, "starved-consumers")]
	var det struct {
		Queue struct {
			ID string `json:"id"`
		} `json:"queue"`
		Consumers []struct {
			Thread int `json:"thread"`
		} `json:"consumers"`
		Reason string `json:"reason"`
		Others []struct {
			Thread int `json:"thread"`
		} `json:"others"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatalf("details: %v", err)
	}
	if !slices.Contains(d.Objects[det.Queue.ID].Names, want.Queue) {
		t.Errorf("queue %s (names %v), want %s", det.Queue.ID, d.Objects[det.Queue.ID].Names, want.Queue)
	}
	var consumers, others []int
	for _, c := range det.Consumers {
		consumers = append(consumers, c.Thread)
	}
	for _, o := range det.Others {
		others = append(others, o.Thread)
	}
	if got := d.names(consumers); !slices.Equal(got, slices.Sorted(slices.Values(want.Starved))) {
		t.Errorf("consumers %v, want %v", got, want.Starved)
	}
	if want.BlockedOthers != nil {
		if got := d.names(others); det.Reason != "others-blocked" || !slices.Equal(got, slices.Sorted(slices.Values(want.BlockedOthers))) {
			t.Errorf("reason %s, others %v; want others-blocked, %v", det.Reason, got, want.BlockedOthers)
		}
	}
	if want.AllBlocked {
		found := false
		for _, f := range d.Findings {
			found = found || f.Kind == "all-blocked" && f.Severity == "info"
		}
		if !found {
			t.Errorf("no all-blocked note: %+v", d.Findings)
		}
	}
}

// checkGILHeld: one gil-held-in-native error naming the holder, its C
// function and Python frame, and the GIL among the objects; the threads
// seen waiting for the GIL are the program's workers, and every other
// thread is listed as unable to run.
func checkGILHeld(t *testing.T, d *diagnosis, want expectation) {
	f := d.Findings[d.onlyProblem(t, "gil-held-in-native")]
	switch {
	case want.GILRunning && f.Severity != "warning":
		t.Errorf("severity %s, want warning (the holder runs, and may end)", f.Severity)
	case !want.GILRunning && f.Severity != "error":
		t.Errorf("severity %s, want error (pause() has no timeout)", f.Severity)
	}
	var det struct {
		Holder   int     `json:"holder"`
		Frame    *int    `json:"frame"`
		Syscall  string  `json:"syscall"`
		Timed    bool    `json:"timed"`
		Running  bool    `json:"running"`
		KeptFor  float64 `json:"kept_for_s"`
		Function *struct {
			Symbol string `json:"symbol"`
			Module string `json:"module"`
		} `json:"function"`
		Waiters []int `json:"waiters"`
		Others  []int `json:"others"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatalf("details: %v", err)
	}
	h := threadNamed(d, want.GILHolder)
	if h < 0 || det.Holder != d.Threads[h].TID || d.Threads[h].GIL != "held" {
		t.Fatalf("holder tid %d, want %s (%+v)", det.Holder, want.GILHolder, d.Threads)
	}
	switch {
	case want.GILRunning:
		// The watch reads for fifty switch intervals: 1 s at 20 ms.
		if !det.Running || det.Syscall != "" || det.KeptFor < 0.9 {
			t.Errorf("running %v in %q, kept %.2f s; want a running holder that kept the GIL for the watch", det.Running, det.Syscall, det.KeptFor)
		}
	case det.Syscall != "pause" || det.Timed:
		t.Errorf("the holder is in %s (timed %v), want pause without a timeout", det.Syscall, det.Timed)
	}
	// glibc 2.41+ sits in __syscall_cancel_arch under pause(), named only
	// where libc keeps its symbols; without --native only that is seen.
	if !want.GILRunning && (det.Function == nil || !strings.HasPrefix(det.Function.Module, "libc.so") ||
		!slices.Contains([]string{want.HolderFunction, "__syscall_cancel_arch", ""}, det.Function.Symbol)) {
		t.Errorf("the holder's function is %+v, want %s in libc", det.Function, want.HolderFunction)
	}
	frames := d.Threads[h].Frames
	if det.Frame == nil || *det.Frame != 0 || len(frames) == 0 || frames[0].Function != want.HolderPython || frames[0].Line != want.HolderLine {
		t.Errorf("the holder's Python frame: index %v of %+v, want %s at line %d", det.Frame, frames, want.HolderPython, want.HolderLine)
	}
	waiters := d.names(det.Waiters)
	if len(waiters) == 0 {
		t.Errorf("no thread seen waiting for the GIL, want some of %v", want.GILWaiters)
	}
	for _, n := range waiters {
		if !slices.Contains(want.GILWaiters, n) {
			t.Errorf("%s is listed waiting for the GIL; only %v do", n, want.GILWaiters)
		}
	}
	if len(det.Waiters)+len(det.Others)+1 != len(d.Threads) {
		t.Errorf("waiters %v and others %v do not cover the %d threads besides the holder", det.Waiters, det.Others, len(d.Threads)-1)
	}
	if !slices.Contains(f.Objects, "gil") {
		t.Errorf("objects %v do not name the GIL", f.Objects)
	}
}

// checkGILHeldNative: with --native the finding names the C function the
// holder called (past the C library's system-call plumbing) and that the
// call came through ctypes.
func checkGILHeldNative(t *testing.T, target string, want expectation) {
	r := runPyhang(t, "diagnose", "--native", target, "--format", "json")
	var d diagnosis
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	problems := d.problems()
	if len(problems) != 1 || d.Findings[problems[0]].Kind != "gil-held-in-native" {
		t.Fatalf("--native: want exactly one gil-held-in-native, got %+v", d.Findings)
	}
	var det struct {
		Function *struct {
			Symbol string `json:"symbol"`
		} `json:"function"`
		Via    string `json:"via"`
		Native []struct {
			Symbol string `json:"symbol"`
		} `json:"native"`
	}
	if err := json.Unmarshal(d.Findings[problems[0]].Details, &det); err != nil {
		t.Fatal(err)
	}
	if det.Function == nil || det.Function.Symbol != want.HolderFunction || det.Via != "ctypes" {
		t.Errorf("--native: function %+v via %q, want %s through ctypes (stack %+v)", det.Function, det.Via, want.HolderFunction, det.Native)
	}
	t.Logf("--native: %s", d.Findings[problems[0]].Summary)
}

func threadNamed(d *diagnosis, name string) int {
	for i, t := range d.Threads {
		if t.Name == name {
			return i
		}
	}
	return -1
}

// tidNamed is the tid of the thread of that name, or -1.
func (d *diagnosis) tidNamed(name string) int {
	if i := threadNamed(d, name); i >= 0 {
		return d.Threads[i].TID
	}
	return -1
}

func checkProbable(t *testing.T, d *diagnosis, want expectation) {
	i := threadNamed(d, want.ProbableHolder)
	if i < 0 {
		t.Fatalf("no thread %s", want.ProbableHolder)
	}
	for _, h := range d.Threads[i].Holds {
		if h.Probable && h.Name != nil && *h.Name == want.Lock &&
			strings.Contains(h.Evidence, "acquire() at held_by_bare_acquire.py:"+strconv.Itoa(want.AcquireSite)) {
			return
		}
	}
	t.Errorf("%s is not %s's probable holder by its acquire() at line %d: holds %+v", want.ProbableHolder, want.Lock, want.AcquireSite, d.Threads[i].Holds)
}

func checkRLockOwner(t *testing.T, d *diagnosis, want expectation) {
	i := threadNamed(d, want.RLock.Owner)
	if i < 0 {
		t.Fatalf("no thread %s", want.RLock.Owner)
	}
	for _, h := range d.Threads[i].Holds {
		if h.Kind == "rlock" && h.Name != nil && *h.Name == want.RLock.Name && d.Objects[h.ID].Count == want.RLock.Count {
			return
		}
	}
	t.Errorf("%s does not hold rlock %s (count %d): %+v", want.RLock.Owner, want.RLock.Name, want.RLock.Count, d.Threads[i].Holds)
}

// checkProbableCycle: a deadlock is marked probable exactly when the
// program says its locks are taken by bare acquire() calls; each lock of a
// probable one is then held by the next thread of the cycle, probably, by
// an acquire() in that thread's own function, and the finding is an error
// (each lock has that one candidate holder) that says it is probable.
func checkProbableCycle(t *testing.T, d *diagnosis, f finding, want expectation) {
	t.Helper()
	var det struct {
		Probable bool `json:"probable"`
		Cycle    []struct {
			Thread int `json:"thread"`
			HeldBy []struct {
				Thread   int  `json:"thread"`
				Probable bool `json:"probable"`
				Basis    []struct {
					Basis string `json:"basis"`
					At    struct {
						Function string `json:"function"`
					} `json:"at"`
				} `json:"basis"`
			} `json:"held_by"`
		} `json:"cycle"`
		Retries []struct {
			Thread int `json:"thread"`
			Loop   struct {
				Line int `json:"line"`
			} `json:"loop"`
		} `json:"retries"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatalf("deadlock details: %v", err)
	}
	if det.Probable != want.Probable {
		t.Fatalf("deadlock probable %v, want %v: %s", det.Probable, want.Probable, f.Summary)
	}
	if (len(det.Retries) > 0) != (want.RetryLine > 0 || len(want.RetryLines) > 0) {
		t.Errorf("deadlock retries %+v, want loops at line %d %v", det.Retries, want.RetryLine, want.RetryLines)
	}
	if len(want.RetryLines) > 0 {
		got := map[string]int{}
		for _, r := range det.Retries {
			if n := d.names([]int{r.Thread}); len(n) == 1 {
				got[n[0]] = r.Loop.Line
			}
		}
		if !maps.Equal(got, want.RetryLines) {
			t.Errorf("retry loops %v, want %v", got, want.RetryLines)
		}
	}
	if want.RetryLine > 0 {
		for _, r := range det.Retries {
			if r.Loop.Line != want.RetryLine {
				t.Errorf("thread %d retries in a loop at line %d, want line %d", r.Thread, r.Loop.Line, want.RetryLine)
			}
		}
		if f.Severity != cmp.Or(want.Severity, "warning") {
			t.Errorf("a cycle with retried waits: severity %s", f.Severity)
		}
	}
	if !want.Probable {
		return
	}
	severity, basis := cmp.Or(want.Severity, "error"), cmp.Or(want.ProbableBasis, "bare-acquire")
	if f.Severity != severity || !strings.HasPrefix(f.Summary, "probable deadlock") {
		t.Errorf("a probable deadlock: %s, %q; want %s", f.Severity, f.Summary, severity)
	}
	probable := 0
	for i, st := range det.Cycle {
		next := det.Cycle[(i+1)%len(det.Cycle)].Thread
		if len(st.HeldBy) != 1 {
			t.Errorf("thread %d's lock held by %+v, want thread %d alone", st.Thread, st.HeldBy, next)
			continue
		}
		h := st.HeldBy[0]
		if !h.Probable {
			continue // a proven hold in the cycle
		}
		probable++
		name := strings.Join(d.names([]int{h.Thread}), "")
		fn := cmp.Or(want.AcquireFunction, name)
		if h.Thread != next || len(h.Basis) == 0 || h.Basis[0].Basis != basis || basis == "bare-acquire" && h.Basis[0].At.Function != fn {
			t.Errorf("thread %d's lock held by %+v, want thread %d (%s), probably, basis %s (in %s)", st.Thread, h, next, name, basis, fn)
		}
	}
	if probable == 0 {
		t.Errorf("a probable deadlock with no probable hold: %+v", det.Cycle)
	}
}

func checkJoin(t *testing.T, d *diagnosis, want expectation) {
	i, j := threadNamed(d, want.Join.Waiter), threadNamed(d, want.Join.Target)
	if i < 0 || j < 0 {
		t.Fatalf("threads %s/%s missing", want.Join.Waiter, want.Join.Target)
	}
	w := d.Threads[i].WaitingOn
	if w == nil || w.Kind != "thread" || !slices.Equal(w.On, []int{d.Threads[j].TID}) || w.Name == nil || *w.Name != want.Join.Target {
		t.Errorf("%s should wait for thread %s, waits for %+v", want.Join.Waiter, want.Join.Target, w)
	}
}

// finding returns the one finding of kind, failing the test when there is not exactly one.
func (d *diagnosis) finding(t *testing.T, kind string) int {
	t.Helper()
	var idx []int
	for i, f := range d.Findings {
		if f.Kind == kind {
			idx = append(idx, i)
		}
	}
	if len(idx) != 1 {
		t.Fatalf("want exactly one %s finding, got %+v", kind, d.Findings)
	}
	return idx[0]
}

func (d *diagnosis) thread(tid int) int {
	for i, th := range d.Threads {
		if th.TID == tid {
			return i
		}
	}
	return -1
}

// checkExit: a hang at exit in the right phase, run by the main thread, waiting for
// the right threads or lock; a warning, since the exit can never complete.
func checkExit(t *testing.T, d *diagnosis, want expectation) {
	f := d.Findings[d.finding(t, "hang-at-exit")]
	var det struct {
		Phase     string `json:"phase"`
		Thread    int    `json:"thread"`
		NonDaemon []int  `json:"non_daemon"`
		Stuck     bool   `json:"stuck"`
		Wait      *struct {
			Waits struct {
				Name *string `json:"name"`
			} `json:"waits_for"`
		} `json:"wait"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatal(err)
	}
	switch {
	case want.Exit.Moving && (f.Severity != "info" || det.Stuck || det.Phase != want.Exit.Phase):
		t.Errorf("hang-at-exit %s, phase %q, stuck %v; want info, phase %q, not stuck", f.Severity, det.Phase, det.Stuck, want.Exit.Phase)
	case !want.Exit.Moving && (f.Severity != "warning" || !det.Stuck || det.Phase != want.Exit.Phase):
		t.Errorf("hang-at-exit %s, phase %q, stuck %v; want a warning, phase %q, stuck", f.Severity, det.Phase, det.Stuck, want.Exit.Phase)
	}
	if i := d.thread(det.Thread); i < 0 || !d.Threads[i].Main {
		t.Errorf("the exit runs in tid %d, want the main thread", det.Thread)
	}
	if want.Exit.NonDaemon != nil {
		if got := d.names(det.NonDaemon); !slices.Equal(got, want.Exit.NonDaemon) {
			t.Errorf("non-daemon threads %v, want %v", got, want.Exit.NonDaemon)
		}
	}
	if want.Exit.Lock != "" && (det.Wait == nil || det.Wait.Waits.Name == nil || *det.Wait.Waits.Name != want.Exit.Lock) {
		t.Errorf("the exit's wait is %+v, want lock %s", det.Wait, want.Exit.Lock)
	}
	t.Logf("%s", f.Summary)
}

// checkGC: a hang inside a collection, in the right thread, found by its
// gc.callbacks function; a warning, since the collection can never end.
func checkGC(t *testing.T, d *diagnosis, want expectation) {
	f := d.Findings[d.finding(t, "hang-in-gc")]
	var det struct {
		Thread   int    `json:"thread"`
		Basis    string `json:"basis"`
		Callback *int   `json:"callback_frame"`
		Stuck    bool   `json:"stuck"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatal(err)
	}
	i := d.thread(det.Thread)
	if f.Severity != "warning" || !det.Stuck || i < 0 || d.Threads[i].Name != want.GC.Thread || det.Basis != "gc-callback" {
		t.Fatalf("hang-in-gc %s, stuck %v, in tid %d, basis %q; want a warning, stuck, in %s, basis gc-callback", f.Severity, det.Stuck, det.Thread, det.Basis, want.GC.Thread)
	}
	if fr := d.Threads[i].Frames; det.Callback == nil || *det.Callback >= len(fr) || fr[*det.Callback].Function != want.GC.Callback {
		t.Errorf("callback frame %v, want the frame of %s", det.Callback, want.GC.Callback)
	}
	t.Logf("%s", f.Summary)
}

// TestGraphSVG renders the wait-for graph of a deadlock and checks the SVG
// parses and shows every thread and lock of the cycle.
func TestGraphSVG(t *testing.T) {
	in, ok := firstPyenv(testinterp.All(t))
	if !ok {
		t.Skip("no pyenv interpreter (listed above)")
	}
	p := startProgram(t, in, "deadlock_rlock_join.py")
	out := filepath.Join(t.TempDir(), "graph.svg")
	r := runPyhang(t, "graph", strconv.Itoa(p.PID), "-o", out)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	b := checkSVG(t, out, "indexer", "loader", "warmer", "registry", "cache_lock")
	if !strings.Contains(string(b), "red") {
		t.Error("the SVG has no red cycle")
	}
}

// checkLockout: one problem of the kind and severity, whose lockouts name
// the waiter and its locked-out feeder, and whose summary says it is a
// lockout.
func checkLockout(t *testing.T, d *diagnosis, want expectation) {
	t.Helper()
	var kinds []string
	at := -1
	for _, i := range d.problems() {
		switch k := d.Findings[i].Kind; {
		case k == want.Lockout.Kind && at < 0:
			at = i
		case !slices.Contains(want.Lockout.Also, k):
			kinds = append(kinds, k+": "+d.Findings[i].Summary)
		}
	}
	if at < 0 || len(kinds) > 0 {
		t.Fatalf("want one %s problem (and %v), got %s and %q", want.Lockout.Kind, want.Lockout.Also, map[bool]string{true: "none", false: "one"}[at < 0], kinds)
	}
	f := d.Findings[at]
	var det struct {
		Lockouts []struct {
			Waiter int `json:"waiter"`
			Feeder int `json:"feeder"`
			At     struct {
				Line int `json:"line"`
			} `json:"at"`
		} `json:"lockouts"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatalf("details: %v", err)
	}
	if f.Severity != want.Lockout.Severity || !strings.Contains(f.Summary, "lockout") {
		t.Errorf("severity %s, summary %q: want a%s %s that says lockout", f.Severity, f.Summary, map[bool]string{true: "n"}[want.Lockout.Severity == "error"], want.Lockout.Severity)
	}
	if len(det.Lockouts) != 1 {
		t.Fatalf("lockouts %+v, want one", det.Lockouts)
	}
	l := det.Lockouts[0]
	if w, fd := d.names([]int{l.Waiter}), d.names([]int{l.Feeder}); !slices.Equal(w, []string{want.Lockout.Waiter}) || !slices.Equal(fd, []string{want.Lockout.Feeder}) || l.At.Line == 0 {
		t.Errorf("lockout of %v by %v at line %d, want %s by %s", w, fd, l.At.Line, want.Lockout.Waiter, want.Lockout.Feeder)
	}
	if h := want.Lockout.Holder; h != "" && !strings.Contains(f.Summary, ", which "+h+" holds while it waits for ") {
		t.Errorf("the summary does not name %s, which holds what the feeder waits for: %q", h, f.Summary)
	}
	if want.Lockout.Holder == "" && !strings.Contains(f.Summary, "holds while waiting") && !strings.Contains(f.Summary, "hold while waiting") {
		t.Errorf("the summary does not say the waiter holds what the feeder waits for: %q", f.Summary)
	}
}

// checkStuckPipe: one stuck-io warning, a thread of want.StuckPipe blocked
// writing to a full pipe whose one reader does not read it, holding a lock
// the others wait for (its dependents).
func checkStuckPipe(t *testing.T, d *diagnosis, want expectation) {
	f := d.Findings[d.onlyProblem(t, "stuck-io")]
	var det struct {
		Stuck []struct {
			Thread  int `json:"thread"`
			FD      int `json:"fd"`
			Readers []struct {
				PID     int    `json:"pid"`
				State   string `json:"state"`
				Reading bool   `json:"reading"`
			} `json:"readers"`
			Holds []struct {
				Name *string `json:"name"`
			} `json:"holds"`
		} `json:"stuck_pipes"`
		Dependents []struct {
			Thread int `json:"thread"`
		} `json:"dependents"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil {
		t.Fatal(err)
	}
	if f.Severity != "warning" || len(det.Stuck) != 1 {
		t.Fatalf("%s stuck-io over %d pipe writers, want a warning over one: %s", f.Severity, len(det.Stuck), f.Summary)
	}
	st := det.Stuck[0]
	writer := d.names([]int{st.Thread})
	if len(writer) != 1 || !slices.Contains(want.StuckPipe, writer[0]) || st.FD != 1 || len(st.Holds) != 1 {
		t.Errorf("writer %v on fd %d holding %d lock(s); want one of %v, fd 1, holding the handler's lock", writer, st.FD, len(st.Holds), want.StuckPipe)
	}
	if len(st.Readers) != 1 || st.Readers[0].PID != want.ReaderPID || st.Readers[0].State != want.ReaderState || st.Readers[0].Reading {
		t.Errorf("readers %+v, want process %d, state %s, not reading", st.Readers, want.ReaderPID, want.ReaderState)
	}
	if len(det.Dependents) != want.LockWaiters {
		t.Errorf("%d dependents, want the %d threads waiting for the writer's lock", len(det.Dependents), want.LockWaiters)
	}
	t.Logf("%s", f.Summary)
}
