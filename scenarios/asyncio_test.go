package scenarios

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// asyncioPrograms hang (or do not) in asyncio: each writes its tasks' await
// chains, as the tasks themselves see them, into its ready file.
var asyncioPrograms = []string{
	"asyncio_lock_order.py", "asyncio_lock_order.py --bare", "asyncio_lock_reentered.py", "asyncio_semaphore_order.py", "asyncio_condition_order.py", "asyncio_await_cycle.py", "asyncio_event_stall.py", "asyncio_event_stall.py --wait-for-none", "asyncio_queue_starved.py", "asyncio_queue_starved.py --full", "asyncio_queue_join.py", "asyncio_semaphore_leaked.py", "asyncio_lock_orphaned.py", "asyncio_lock_orphaned.py --holder", "asyncio_call_soon_thread.py", "asyncio_call_soon_thread.py --worker-lives", "asyncio_cycle_and_stall.py", "asyncio_thread_lock.py", "asyncio_executor_lock.py",
	"asyncio_blocking_call.py", "asyncio_blocking_event.py", "asyncio_threadsafe_result.py", "asyncio_threadsafe_result.py --two-loops", "asyncio_threadsafe_result.py --from-main", "healthy_asyncio.py", "healthy_asyncio_io.py", "healthy_asyncio_signal.py",
}

// aioExpect is an asyncio program's expectation.
type aioExpect struct {
	Tasks        []aioTruth `json:"tasks"`
	MovingTasks  []string   `json:"moving_tasks"`
	CycleTasks   []string   `json:"cycle_tasks"`
	CycleThreads []string   `json:"cycle_threads"`
	Locks        []string   `json:"locks"`
	// Probable says the cycle's locks are taken by bare await acquire()
	// calls: the deadlock is probable, an error, each step naming the task
	// that probably holds its lock (the next task of the cycle).
	Probable bool `json:"probable"`
	// HoldLine is the line of the async with statement the cycle's hold
	// is placed at (the outer of two of one lock).
	HoldLine  int      `json:"hold_line"`
	LoopStall []string `json:"loop_stall"`
	Events    []string `json:"events"`
	// Advice is what the stalled loop's summary must say of its fix.
	Advice      string `json:"advice"`
	BlockedLoop *struct {
		Thread  string `json:"thread"`
		Task    string `json:"task"`
		Coro    string `json:"coro"`
		Starved int    `json:"starved"`
	} `json:"blocked_loop"`
	// LoopFutureCycle are the loop threads of a deadlock in which each
	// waits on the result() of a coroutine handed to the next one's loop
	// (its own, alone) with run_coroutine_threadsafe().
	LoopFutureCycle []string `json:"loop_future_cycle"`
	// OwnLoopEvent is the threading.Event a loop's thread waits on that
	// only a suspended task of that loop would set: an abandoned wait
	// naming that task's set(), beside a blocked event loop.
	OwnLoopEvent string `json:"own_loop_event"`
	// Orphaned is an asyncio.Lock a task that ended took by a bare await
	// acquire() and never released: an orphaned lock, alone, naming the
	// tasks that wait for it and that acquire().
	Orphaned *struct {
		Lock        string   `json:"lock"`
		Waiters     []string `json:"waiters"`
		AcquireLine int      `json:"acquire_line"`
	} `json:"orphaned"`
	// LoopAsleep is a loop asleep in select() with callbacks ready (named
	// Ready) that nothing, or only a thread that may run, would wake
	// (Error): one abandoned wait, over the tasks Tasks.
	LoopAsleep *struct {
		Error bool     `json:"error"`
		Ready []string `json:"ready"`
		Tasks []string `json:"tasks"`
	} `json:"loop_asleep"`
	Healthy bool `json:"healthy"`
}

// aioTruth is a task as the program saw it.
type aioTruth struct {
	Name       string       `json:"name"`
	LoopThread string       `json:"loop_thread"`
	Running    bool         `json:"running"`
	Frames     []readyFrame `json:"frames"`
}

// aioReport is the part of a diagnosis these tests read.
type aioReport struct {
	Threads []struct {
		TID       int    `json:"tid"`
		Name      string `json:"name"`
		WaitingOn *struct {
			ID string `json:"id"`
		} `json:"waiting_on"`
		Holds []struct {
			ID string `json:"id"`
		} `json:"holds"`
	} `json:"threads"`
	Loops []struct {
		ID      string `json:"id"`
		Thread  int    `json:"thread"`
		Current string `json:"current_task"`
	} `json:"loops"`
	Tasks []struct {
		ID        string          `json:"id"`
		Name      string          `json:"name"`
		Loop      string          `json:"loop"`
		Done      bool            `json:"done"`
		Running   bool            `json:"running"`
		Coro      string          `json:"coro"`
		Frames    []readyFrame    `json:"frames"`
		Awaits    string          `json:"awaits"`
		WaitingOn *aioReportWait  `json:"waiting_on"`
		Holds     []aioReportWait `json:"holds"`
	} `json:"tasks"`
	Objects  map[string]struct{ Names []string } `json:"objects"`
	Findings []struct {
		Kind     string          `json:"kind"`
		Severity string          `json:"severity"`
		Summary  string          `json:"summary"`
		Threads  []int           `json:"threads"`
		Tasks    []string        `json:"tasks"`
		Objects  []string        `json:"objects"`
		Evidence []string        `json:"evidence"`
		Details  json.RawMessage `json:"details"`
	} `json:"findings"`
}

type aioReportWait struct {
	Kind    string   `json:"kind"`
	ID      string   `json:"id"`
	OnTasks []string `json:"on_tasks"`
}

// TestAsyncio runs each asyncio program under every interpreter and
// diagnoses it live, from a gcore and from a kernel core: the tasks must be
// exactly those the program saw, with the same await chains, and the
// findings exactly the expected ones.
func TestAsyncio(t *testing.T) {
	eachProgram(t, asyncioPrograms, func(t *testing.T, in testinterp.Interp, prog string) {
		args := strings.Fields(prog) // a program and its arguments
		p := startProgram(t, in, args[0], args[1:]...)
		var want struct {
			Expect aioExpect `json:"expect"`
		}
		if err := json.Unmarshal(p.raw, &want); err != nil {
			t.Fatal(err)
		}
		lookEachWay(t, p.lookable(), func(t *testing.T, w way) {
			checkAsyncio(t, w.target, want.Expect, w.lossy)
		})
	})
}

// checkAsyncio diagnoses target; holed says its memory lacks chunks gdb
// could not read, so that a healthy answer may be "incomplete".
func checkAsyncio(t *testing.T, target string, want aioExpect, holed bool) {
	t.Helper()
	r := runPyhang(t, "diagnose", target, "--format", "json")
	var d aioReport
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	d.checkRefs(t)
	d.checkTasks(t, want)
	wantCode := 3
	if want.Healthy {
		wantCode = 0
	}
	if r.code != wantCode && !(holed && want.Healthy && r.code == 4) {
		t.Errorf("exit %d, want %d\n%v", r.code, wantCode, r)
	}
	var problems []int
	for i, f := range d.Findings {
		if f.Severity != "info" {
			problems = append(problems, i)
		}
	}
	one := func(kind string) int {
		t.Helper()
		if len(problems) != 1 || d.Findings[problems[0]].Kind != kind {
			t.Fatalf("want exactly one %s, got %s", kind, d.findingList())
		}
		t.Logf("%s", d.Findings[problems[0]].Summary)
		return problems[0]
	}
	switch {
	case want.Healthy:
		if len(d.Findings) != 0 {
			t.Errorf("findings on a healthy program: %s", d.findingList())
		}
	case len(want.CycleTasks) > 0 || len(want.LoopStall) > 0:
		d.checkDeadlocks(t, want, problems)
	case want.OwnLoopEvent != "":
		kinds := map[string]int{}
		for _, i := range problems {
			kinds[d.Findings[i].Kind]++
		}
		if len(problems) != 2 || kinds["abandoned-wait"] != 1 || kinds["blocked-event-loop"] != 1 {
			t.Fatalf("want an abandoned wait and a blocked event loop, got %s", d.findingList())
		}
		for _, i := range problems {
			f := d.Findings[i]
			if f.Kind != "abandoned-wait" {
				continue
			}
			var det struct {
				OwnLoop []struct {
					Function string `json:"function"`
				} `json:"own_loop_enders"`
			}
			if err := json.Unmarshal(f.Details, &det); err != nil {
				t.Fatal(err)
			}
			if f.Severity != "error" || len(det.OwnLoop) != 1 || det.OwnLoop[0].Function != "flush" {
				t.Errorf("abandoned wait %s, own loop's enders %+v; want an error naming flush", f.Severity, det.OwnLoop)
			}
			d.checkNames(t, f.Objects, []string{want.OwnLoopEvent})
			t.Logf("%s", f.Summary)
		}
	case len(want.LoopFutureCycle) > 0:
		f := d.Findings[one("deadlock")]
		var det struct {
			Cycle []struct {
				WaitsFor struct {
					Kind string `json:"kind"`
				} `json:"waits_for"`
				HeldBy []struct {
					Thread   int  `json:"thread"`
					RunsLoop bool `json:"runs_loop"`
				} `json:"held_by"`
			} `json:"cycle"`
		}
		if err := json.Unmarshal(f.Details, &det); err != nil {
			t.Fatal(err)
		}
		if f.Severity != "error" || !slices.Equal(d.threadNames(f.Threads), sorted(want.LoopFutureCycle)) || len(det.Cycle) != len(want.LoopFutureCycle) {
			t.Errorf("%s deadlock of %v in %d steps, want an error of %v", f.Severity, d.threadNames(f.Threads), len(det.Cycle), want.LoopFutureCycle)
		}
		for _, st := range det.Cycle {
			if st.WaitsFor.Kind != "future" || len(st.HeldBy) != 1 || !st.HeldBy[0].RunsLoop {
				t.Errorf("a step waits for a %s held by %+v, want a future whose loop's thread alone sets it", st.WaitsFor.Kind, st.HeldBy)
			}
		}
		if !strings.Contains(f.Summary, "asyncio.wrap_future") {
			t.Errorf("the summary does not advise asyncio.wrap_future(): %s", f.Summary)
		}
	case want.Orphaned != nil:
		f := d.Findings[one("orphaned-lock")]
		var det struct {
			Cause    string `json:"cause"`
			Acquires []struct {
				Line int `json:"line"`
			} `json:"acquire_sites"`
			Waiters []struct {
				Task string `json:"task"`
			} `json:"waiters"`
		}
		if err := json.Unmarshal(f.Details, &det); err != nil {
			t.Fatal(err)
		}
		var waiting []string
		for _, w := range det.Waiters {
			waiting = append(waiting, w.Task)
		}
		if f.Severity != "error" || det.Cause != "bare-acquire" || !slices.Equal(d.taskNames(f.Tasks), sorted(want.Orphaned.Waiters)) ||
			!slices.Equal(d.taskNames(waiting), sorted(want.Orphaned.Waiters)) {
			t.Errorf("%s orphaned lock (%s) waited for by tasks %v (details %v), want an error, bare-acquire, of %v",
				f.Severity, det.Cause, d.taskNames(f.Tasks), d.taskNames(waiting), want.Orphaned.Waiters)
		}
		if len(det.Acquires) != 1 || det.Acquires[0].Line != want.Orphaned.AcquireLine {
			t.Errorf("acquire sites %+v, want the one at line %d", det.Acquires, want.Orphaned.AcquireLine)
		}
		d.checkNames(t, f.Objects, []string{want.Orphaned.Lock})
	case want.LoopAsleep != nil:
		f := d.Findings[one("abandoned-wait")]
		var det struct {
			What  string   `json:"what"`
			Ready []string `json:"ready_callbacks"`
		}
		if err := json.Unmarshal(f.Details, &det); err != nil {
			t.Fatal(err)
		}
		sev := "warning"
		if want.LoopAsleep.Error {
			sev = "error"
		}
		if f.Severity != sev || det.What != "loop-asleep" || !slices.Equal(det.Ready, want.LoopAsleep.Ready) ||
			!slices.Equal(d.taskNames(f.Tasks), sorted(want.LoopAsleep.Tasks)) {
			t.Errorf("%s %s, ready %v, tasks %v; want a %s loop-asleep, ready %v, tasks %v",
				f.Severity, det.What, det.Ready, d.taskNames(f.Tasks), sev, want.LoopAsleep.Ready, want.LoopAsleep.Tasks)
		}
		if !strings.Contains(f.Summary, "call_soon_threadsafe()") {
			t.Errorf("the summary does not advise call_soon_threadsafe(): %s", f.Summary)
		}
	case want.BlockedLoop != nil:
		f := d.Findings[one("blocked-event-loop")]
		var det struct {
			Coro    string `json:"coro"`
			Starved int    `json:"starved_tasks"`
		}
		if err := json.Unmarshal(f.Details, &det); err != nil {
			t.Fatal(err)
		}
		if got := d.threadNames(f.Threads); !slices.Equal(got, []string{want.BlockedLoop.Thread}) {
			t.Errorf("blocked loop thread %v, want %s", got, want.BlockedLoop.Thread)
		}
		if got := d.taskNames(f.Tasks); !slices.Equal(got, []string{want.BlockedLoop.Task}) {
			t.Errorf("blocked loop task %v, want %s", got, want.BlockedLoop.Task)
		}
		if det.Coro != want.BlockedLoop.Coro || det.Starved != want.BlockedLoop.Starved {
			t.Errorf("coroutine %q with %d starved tasks, want %q with %d", det.Coro, det.Starved, want.BlockedLoop.Coro, want.BlockedLoop.Starved)
		}
	default:
		t.Fatalf("the program's ready file has no expectation this test knows")
	}
}

// checkDeadlocks: the problems are exactly the deadlocks want expects: a
// cycle of tasks (CycleTasks), a stalled event loop (LoopStall), or both,
// the stall then naming the cycle's tasks as in a deadlock above.
func (d *aioReport) checkDeadlocks(t *testing.T, want aioExpect, problems []int) {
	t.Helper()
	var cycles, stalls []int
	for _, i := range problems {
		var det struct {
			Loop *struct {
				InDeadlock []string `json:"in_deadlock"`
			} `json:"loop"`
		}
		if err := json.Unmarshal(d.Findings[i].Details, &det); err != nil {
			t.Fatalf("%s details: %v", d.Findings[i].Kind, err)
		}
		switch {
		case d.Findings[i].Kind != "deadlock":
			t.Errorf("%s, want only deadlocks: %s", d.Findings[i].Kind, d.Findings[i].Summary)
		case det.Loop != nil:
			stalls = append(stalls, i)
			if got := d.taskNames(det.Loop.InDeadlock); !slices.Equal(got, sorted(want.CycleTasks)) {
				t.Errorf("the stalled loop names the tasks %v as in a deadlock, want %v", got, sorted(want.CycleTasks))
			}
		default:
			cycles = append(cycles, i)
		}
	}
	if len(cycles) != min(len(want.CycleTasks), 1) || len(stalls) != min(len(want.LoopStall), 1) {
		t.Fatalf("%d task cycles and %d stalled loops, want %d and %d: %s",
			len(cycles), len(stalls), min(len(want.CycleTasks), 1), min(len(want.LoopStall), 1), d.findingList())
	}
	for _, i := range cycles {
		f := d.Findings[i]
		t.Logf("%s", f.Summary)
		if got := d.taskNames(f.Tasks); !slices.Equal(got, sorted(want.CycleTasks)) {
			t.Errorf("deadlock tasks %v, want %v", got, sorted(want.CycleTasks))
		}
		if got := d.threadNames(f.Threads); !slices.Equal(got, sorted(want.CycleThreads)) {
			t.Errorf("deadlock threads %v, want %v", got, sorted(want.CycleThreads))
		}
		d.checkNames(t, f.Objects, want.Locks)
		checkProbableTasks(t, f.Summary, f.Severity, f.Details, want.Probable)
		if want.HoldLine != 0 && !regexp.MustCompile(fmt.Sprintf(`with block at \S+:%d\)`, want.HoldLine)).MatchString(strings.Join(f.Evidence, "\n")) {
			t.Errorf("the cycle's hold is not placed at the with statement at line %d: %q", want.HoldLine, f.Evidence)
		}
	}
	for _, i := range stalls {
		f := d.Findings[i]
		t.Logf("%s", f.Summary)
		if got := d.taskNames(f.Tasks); !slices.Equal(got, sorted(want.LoopStall)) {
			t.Errorf("stalled loop's tasks %v, want %v", got, sorted(want.LoopStall))
		}
		d.checkNames(t, f.Objects, want.Events)
		if !strings.Contains(f.Summary, want.Advice) {
			t.Errorf("stalled loop's summary does not say %q", want.Advice)
		}
	}
}

// checkProbableTasks: a task cycle is probable exactly when the program
// takes its locks by bare acquire() calls; each step of a probable one is
// then held, probably, by the next task of the cycle, and it is an error
// that says it is probable.
func checkProbableTasks(t *testing.T, summary, severity string, details json.RawMessage, probable bool) {
	t.Helper()
	var det struct {
		Probable bool `json:"probable"`
		Cycle    []struct {
			Task   string `json:"task"`
			HeldBy []struct {
				Task     string `json:"task"`
				Probable bool   `json:"probable"`
			} `json:"held_by"`
		} `json:"cycle"`
	}
	if err := json.Unmarshal(details, &det); err != nil {
		t.Fatalf("deadlock details: %v", err)
	}
	if det.Probable != probable {
		t.Fatalf("deadlock probable %v, want %v: %s", det.Probable, probable, summary)
	}
	for i, st := range det.Cycle {
		next := det.Cycle[(i+1)%len(det.Cycle)].Task
		if len(st.HeldBy) != 1 || st.HeldBy[0].Task != next || st.HeldBy[0].Probable != probable {
			t.Errorf("task %s's lock held by %+v, want task %s alone (probable %v)", st.Task, st.HeldBy, next, probable)
		}
	}
	if probable && (severity != "error" || !strings.HasPrefix(summary, "probable deadlock")) {
		t.Errorf("a probable deadlock of tasks: %s, %q; want an error that says it is probable", severity, summary)
	}
}

// checkTasks: the pending tasks are exactly the program's, each with the
// same await chain, on the loop of the same thread.
func (d *aioReport) checkTasks(t *testing.T, want aioExpect) {
	t.Helper()
	threadName := map[int]string{}
	for _, th := range d.Threads {
		threadName[th.TID] = th.Name
	}
	loopThread := map[string]string{}
	for _, lp := range d.Loops {
		loopThread[lp.ID] = threadName[lp.Thread]
	}
	got := map[string]int{}
	for i, tk := range d.Tasks {
		if !tk.Done {
			if _, dup := got[tk.Name]; dup {
				t.Errorf("task %q appears twice", tk.Name)
			}
			got[tk.Name] = i
		}
	}
	frames := 0
	for _, w := range want.Tasks {
		i, ok := got[w.Name]
		if !ok {
			t.Errorf("task %q (on %s) is missing from the report", w.Name, w.LoopThread)
			continue
		}
		delete(got, w.Name)
		tk := d.Tasks[i]
		if lt := loopThread[tk.Loop]; lt != w.LoopThread {
			t.Errorf("task %q: its loop is run by %q, want %q", w.Name, lt, w.LoopThread)
		}
		if slices.Contains(want.MovingTasks, w.Name) {
			continue // its frames move: only its presence is checked
		}
		if tk.Running != w.Running {
			t.Errorf("task %q: running %v, want %v", w.Name, tk.Running, w.Running)
		}
		if diff := aioFrameDiff(tk.Frames, w.Frames); diff != "" {
			t.Errorf("task %q: await chain differs (got | want, innermost first):\n%s", w.Name, diff)
			continue
		}
		frames += len(w.Frames)
	}
	for name := range got {
		t.Errorf("task %q is in the report but not among the program's tasks", name)
	}
	t.Logf("%d tasks, %d await-chain frames matched", len(want.Tasks), frames)
}

func aioFrameDiff(got, want []readyFrame) string {
	var rows []string
	bad := len(got) != len(want)
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = fmt.Sprintf("%s [%s] %s:%d", got[i].Function, got[i].Qualname, got[i].File, got[i].Line)
		}
		if i < len(want) {
			w = fmt.Sprintf("%s [%s] %s:%d", want[i].Function, want[i].Qualname, want[i].File, want[i].Line)
		}
		bad = bad || g != w
		rows = append(rows, fmt.Sprintf("  %2d %s | %s", i, g, w))
	}
	if !bad {
		return ""
	}
	return strings.Join(rows, "\n")
}

// checkRefs: every id the report refers to names an entry of its objects.
func (d *aioReport) checkRefs(t *testing.T) {
	t.Helper()
	check := func(where, id string) {
		if _, ok := d.Objects[id]; !ok && id != "" {
			t.Errorf("%s refers to %q, which is not among the report's objects", where, id)
		}
	}
	for _, th := range d.Threads {
		if th.WaitingOn != nil {
			check(fmt.Sprintf("thread %d's waiting_on", th.TID), th.WaitingOn.ID)
		}
		for _, h := range th.Holds {
			check(fmt.Sprintf("thread %d's holds", th.TID), h.ID)
		}
	}
	for _, lp := range d.Loops {
		check("loop", lp.ID)
		check("loop current_task", lp.Current)
	}
	for _, tk := range d.Tasks {
		check("task id", tk.ID)
		check(fmt.Sprintf("task %q's loop", tk.Name), tk.Loop)
		check(fmt.Sprintf("task %q's awaits", tk.Name), tk.Awaits)
		if tk.WaitingOn != nil {
			check(fmt.Sprintf("task %q's waiting_on", tk.Name), tk.WaitingOn.ID)
			for _, on := range tk.WaitingOn.OnTasks {
				check(fmt.Sprintf("task %q's on_tasks", tk.Name), on)
			}
		}
		for _, h := range tk.Holds {
			check(fmt.Sprintf("task %q's holds", tk.Name), h.ID)
		}
	}
	for _, f := range d.Findings {
		for _, id := range f.Objects {
			check(f.Kind+" finding", id)
		}
		for _, id := range f.Tasks {
			check(f.Kind+" finding's tasks", id)
		}
	}
}

// checkNames: each name is one of the objects' names.
func (d *aioReport) checkNames(t *testing.T, ids, names []string) {
	t.Helper()
	var have []string
	for _, id := range ids {
		have = append(have, d.Objects[id].Names...)
	}
	for _, n := range names {
		if !slices.Contains(have, n) {
			t.Errorf("finding objects %v (names %v) do not include %s", ids, have, n)
		}
	}
}

func (d *aioReport) taskNames(ids []string) []string {
	out := []string{}
	for _, id := range ids {
		for _, tk := range d.Tasks {
			if tk.ID == id {
				out = append(out, tk.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (d *aioReport) threadNames(tids []int) []string {
	out := []string{}
	for _, tid := range tids {
		for _, th := range d.Threads {
			if th.TID == tid {
				out = append(out, th.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (d *aioReport) findingList() string {
	var out []string
	for _, f := range d.Findings {
		out = append(out, fmt.Sprintf("%s [%s]: %s", f.Kind, f.Severity, f.Summary))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}
