package scenarios

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// The hangs of issue 8 beyond locks: the import lock, an executor that waits
// on itself, a signal handler on the lock the code it interrupted holds,
// waits whose other party died, a fork child's inherited lock, a pipe
// between a parent and its child, a lost multiprocessing task. Each program
// says in its ready file what a diagnosis must find; procCheck reads the
// findings' structured details, not only their words.

// procExpect is a ready file's "expect" for these programs.
type procExpect struct {
	CycleThreads []string `json:"cycle_threads"`
	Locks        []string `json:"locks"`
	// Import lock.
	Module          string `json:"module"`
	ImportLockOwner string `json:"import_lock_owner"`
	ImportWaiter    string `json:"import_waiter"`
	// A cycle whose locks are held through context managers' __enter__.
	// ManagerBases are the bases (space-separated) on which the steps of a
	// deadlock through context managers are held, each at least once.
	ManagerBases []string `json:"manager_bases"`
	// A future's waiter and the worker running its work item, in a cycle.
	FutureWaiter string `json:"future_waiter"`
	FutureRunner string `json:"future_runner"`
	// Executor self-deadlock.
	PoolDeadlock []string `json:"pool_deadlock"`
	MaxWorkers   int      `json:"max_workers"`
	Queued       int      `json:"queued"`
	// Signal handler.
	Signal      string `json:"signal"`
	Handler     string `json:"handler"`
	Interrupted string `json:"interrupted"`
	// HolderFrame is the function of the frame that holds the lock, when
	// it is not the interrupted frame's (further out); Probable says the
	// hold is inferred from a bare acquire() (the deadlock is probable).
	HolderFrame string `json:"holder_frame"`
	Probable    bool   `json:"probable"`
	// Pipe deadlock.
	PipeDeadlock string `json:"pipe_deadlock"`
	ChildPID     int    `json:"child_pid"`
	ChildFD      int    `json:"child_fd"`
	TargetFD     int    `json:"target_fd"`
	// ReadFD is the parent's descriptor it reads, a pipe only the child
	// feeds, instead of waiting for the child to exit (live only).
	ReadFD int      `json:"read_fd"`
	Pipes  []string `json:"pipes"`
	// WriteFD is the parent's descriptor it writes, a full pipe only the
	// child reads (live only); ChildSyscall the child's call ("" : write).
	WriteFD      int    `json:"write_fd"`
	ChildSyscall string `json:"child_syscall"`
	// ChildSide is the same deadlock as a diagnosis of the live child tells
	// it: its thread blocked writing a full pipe only the parent reads
	// (Writer, or a thread whose name begins with WriterPrefix), holding
	// the lock Holds that LockWaiters other threads wait for.
	ChildSide *struct {
		Writer       string `json:"writer"`
		WriterPrefix string `json:"writer_prefix"`
		Holds        string `json:"holds"`
		LockWaiters  int    `json:"lock_waiters"`
	} `json:"child_side"`
	// Queue names the multiprocessing queue whose pipe a child's thread is
	// blocked writing to, while the parent joins the child (live only).
	Queue string `json:"queue"`
	// Fork child.
	ForkOrphan    string   `json:"fork_orphan"`
	Owner         string   `json:"owner"`
	OwnerNativeID int      `json:"owner_native_id"`
	ParentPID     int      `json:"parent_pid"`
	ForkSite      int      `json:"fork_site"`
	Waiters       []string `json:"waiters"`
	// AcquireSite is the line of the parent's bare acquire() of a Lock
	// inherited locked (no owner: Owner is empty).
	AcquireSite int `json:"acquire_site"`
	// UnfinishedJoin names a JoinableQueue whose join() waits for tasks no
	// worker will mark done (Unfinished of them), WorkerPIDs its workers,
	// idle in get() (live only).
	UnfinishedJoin string `json:"unfinished_join"`
	// Abandoned waits.
	Abandoned  string   `json:"abandoned"`
	Object     string   `json:"object"`
	Unfinished int      `json:"unfinished"`
	Parties    int      `json:"parties"`
	Waiting    int      `json:"waiting"`
	Ended      []string `json:"ended"`
	// WaitsFor names, by thread, the object each waits for (its
	// waiting_on's name).
	WaitsFor map[string]string `json:"waits_for"`
	// Sleeper is a thread the wait's others list as only sleeping, in an
	// endless loop.
	Sleeper string `json:"sleeper"`
	// multiprocessing.
	LostTask   string `json:"lost_task"`
	Job        int    `json:"job"`
	Left       int    `json:"left"`
	Processes  int    `json:"processes"`
	WorkerPIDs []int  `json:"workers"`
	DeadWorker string `json:"dead_worker"`
	DeadPID    int    `json:"dead_pid"`
	DeadSignal int    `json:"dead_signal"`
	// Negative controls. A starved writer (starved_writer.py) is healthy in
	// any one snapshot: only looks over time tell starvation.
	Healthy bool   `json:"healthy"`
	Starved string `json:"starved"`
	// GeneratorHolds are the locks held by suspended generators, by name,
	// with the line each generator is suspended at.
	GeneratorHolds map[string]int `json:"generator_holds"`
	// GeneratorRefs say, for the generator-held locks no thread holds, what
	// reaches the generator: "global", or "value-stack" (a for loop's).
	GeneratorRefs map[string]string `json:"generator_refs"`
}

// procDiagnosis is the part of the report these tests read.
type procDiagnosis struct {
	diagnosis
	Threads []struct {
		TID       int    `json:"tid"`
		Name      string `json:"name"`
		WaitingOn *struct {
			Name *string `json:"name"`
		} `json:"waiting_on"`
		Frames []struct {
			Function      string `json:"function"`
			SignalHandler *struct {
				Number int    `json:"number"`
				Name   string `json:"name"`
			} `json:"signal_handler"`
		} `json:"frames"`
	} `json:"threads"`
	Objects map[string]struct {
		Kind   string   `json:"kind"`
		Names  []string `json:"names"`
		Owner  uint64   `json:"owner"`
		Module string   `json:"module"`
		Within []string `json:"within"`
	} `json:"objects"`
}

// deadlockDetails is the JSON of heuristics.DeadlockDetails.
type deadlockDetails struct {
	Cycle []struct {
		Thread   int `json:"thread"`
		Frame    int `json:"frame"`
		WaitsFor struct {
			Kind string  `json:"kind"`
			ID   string  `json:"id"`
			Name *string `json:"name"`
		} `json:"waits_for"`
		HeldBy []struct {
			Thread int  `json:"thread"`
			Runs   bool `json:"runs"`
			Basis  []struct {
				Basis string `json:"basis"`
			} `json:"basis"`
		} `json:"held_by"`
	} `json:"cycle"`
	Pool *struct {
		Workers    []int    `json:"workers"`
		MaxWorkers int      `json:"max_workers"`
		Started    int      `json:"started"`
		Queued     int      `json:"queued"`
		Awaited    []string `json:"awaited"`
	} `json:"pool"`
	Pipe    *pipeDetails `json:"pipe"`
	Handler *struct {
		Thread      int `json:"thread"`
		Frame       int `json:"frame"`
		Interrupted int `json:"interrupted"`
		Holder      int `json:"holder"`
		Signal      struct {
			Name string `json:"name"`
		} `json:"signal"`
	} `json:"signal_handler"`
	Probable bool `json:"probable"`
}

// pipeDetails is the JSON of heuristics.PipeDeadlock.
type pipeDetails struct {
	Thread   int      `json:"thread"`
	Child    int      `json:"child_pid"`
	Proven   bool     `json:"proven"`
	Syscall  string   `json:"child_syscall"`
	ChildFD  *int     `json:"child_fd"`
	Inode    uint64   `json:"pipe_inode"`
	TargetFD *int     `json:"target_fd"`
	Pipes    []string `json:"pipes"`
	ReadFD   *int     `json:"read_fd"`
	WriteFD  *int     `json:"write_fd"`
	// The child's thread blocked on the pipe, and the queue it is.
	ChildThread int `json:"child_thread"`
	Queue       *struct {
		ID   string  `json:"id"`
		Name *string `json:"name"`
	} `json:"queue"`
}

// procPrograms are the programs whose target is the started process itself.
var procPrograms = []string{"import_lock.py", "executor_deadlock.py", "threadpool_deadlock.py", "future_lock_cycle.py", "manager_lock_cycle.py", "exitstack_lock_cycle.py", "signal_deadlock.py", "signal_deadlock_loop.py", "signal_logging.py", "pipe_deadlock.py", "pipe_deadlock.py --child-logs", "pipe_deadlock.py --read-stdout", "pipe_deadlock.py --stdin-open", "pipe_deadlock.py --both-full",
	"mp_queue_join.py", "mp_queue_join.py --start-method spawn", "mp_queue_join.py --start-method forkserver",
	"generator_held_lock.py",
	"queue_join_abandoned.py", "barrier_abandoned.py", "condition_reacquire.py", "last_thread_waits.py", "queue_put_abandoned.py", "mp_joinable_queue.py", "mp_joinable_queue.py --start-method spawn", "mp_joinable_queue.py --task-done", "mp_lost_task.py", "mp_lost_task.py --start-method spawn", "mp_lost_task.py --start-method forkserver", "mp_dead_worker.py",
	// Negative controls: none may report anything.
	"healthy_slow_child.py", "healthy_rw_starved.py", "starved_writer.py", "healthy_timeouts.py", "healthy_mp_pool.py", "mp_queue_join.py --drain"}

// TestProcs runs each program under every interpreter and diagnoses it live,
// from a gcore and from a kernel core.
func TestProcs(t *testing.T) {
	eachProgram(t, procPrograms, func(t *testing.T, in testinterp.Interp, prog string) {
		args := strings.Fields(prog) // a program and its arguments
		p := startProgram(t, in, args[0], args[1:]...)
		want := procExpectOf(t, p.raw)
		target := p.lookable()
		if freshEachLook[prog] {
			target.again = func(t *testing.T) lookable { return startProgram(t, in, prog).lookable() }
		}
		lookEachWay(t, target, func(t *testing.T, w way) {
			procCheck(t, w, want)
		})
	})
}

// freshEachLook are the programs each look of TestProcs runs anew: their
// point is their timeouts (see lookable.again).
var freshEachLook = map[string]bool{"healthy_timeouts.py": true}

func procExpectOf(t *testing.T, raw []byte) procExpect {
	t.Helper()
	var r struct {
		Expect procExpect `json:"expect"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	return r.Expect
}

// procDiagnose runs pyhang diagnose --format json on target.
func procDiagnose(t *testing.T, target string) (*procDiagnosis, result) {
	t.Helper()
	r := runPyhang(t, "diagnose", target, "--format", "json")
	var d procDiagnosis
	if err := json.Unmarshal(r.stdout, &d); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	if err := json.Unmarshal(r.stdout, &d.diagnosis); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	d.checkRefs(t)
	return &d, r
}

func (d *procDiagnosis) nameOf(tid int) string {
	for _, th := range d.Threads {
		if th.TID == tid {
			return th.Name
		}
	}
	return "tid " + strconv.Itoa(tid)
}

func (d *procDiagnosis) namesOf(tids []int) []string {
	var out []string
	for _, tid := range tids {
		out = append(out, d.nameOf(tid))
	}
	sort.Strings(out)
	return out
}

// procCheck diagnoses one look at a program (live: the program's pid;
// else a core of it, which may have lost memory).
func procCheck(t *testing.T, w way, want procExpect) {
	t.Helper()
	live := w.live
	d, r := procDiagnose(t, w.target)
	if want.Starved != "" {
		want.Healthy = true
	}
	if len(want.ManagerBases) > 0 && w.lossy && len(d.Target.Missing) > 0 {
		// The core lost C stacks (see way.lossy), and with them the entry
		// frames through which a Python __enter__ or a generator is reached
		// from its with statement: the answer says what is missing, and
		// claims no error it cannot see.
		for _, f := range d.Findings {
			if f.Severity == "error" && f.Kind != "all-blocked" { // that every thread is blocked for good it sees
				t.Errorf("from a core that lost memory: %s/%s: %s", f.Kind, f.Severity, f.Summary)
			}
		}
		t.Logf("incomplete, as the core lost memory: %q", d.Target.Missing)
		return
	}
	// From a core a lost task proves nothing (the children are not in it);
	// with spawn, the kernel's core also lacks the pool's semaphores (shared
	// mappings of /dev/shm files), and the answer is then "incomplete".
	unproven := !live && (want.LostTask != "" || want.DeadWorker != "" || want.ReadFD > 0 || want.WriteFD > 0 || want.Queue != "" || want.UnfinishedJoin != "")
	d.checkCode(t, r, want.Healthy || unproven, w.lossy || unproven)
	switch {
	case want.Healthy:
		for _, f := range d.Findings {
			t.Errorf("finding on a healthy program: %s/%s: %s", f.Kind, f.Severity, f.Summary)
		}
	case want.Module != "":
		checkImportLock(t, d, want)
	case len(want.PoolDeadlock) > 0:
		checkPoolDeadlock(t, d, want)
	case want.FutureRunner != "":
		checkFutureCycle(t, d, want)
	case len(want.ManagerBases) > 0:
		checkManagerCycle(t, d, want)
	case len(want.GeneratorHolds) > 0:
		checkGeneratorHolds(t, d, r.stdout, want, w.lossy && len(d.Target.Missing) > 0)
	case want.Signal != "":
		checkSignalDeadlock(t, d, want)
	case want.Queue != "":
		checkQueueJoin(t, d, want, live)
	case want.PipeDeadlock != "":
		checkPipeDeadlock(t, d, want, live)
	case want.ForkOrphan != "":
		checkForkOrphan(t, d, want, live)
	case want.Abandoned != "":
		checkAbandoned(t, d, want)
	case (want.LostTask != "" || want.DeadWorker != "" || want.UnfinishedJoin != "") && !live:
		// A core does not show the children: nothing can be proven.
		for _, f := range d.Findings {
			if f.Severity != "info" {
				t.Errorf("from a core: %s/%s: %s", f.Kind, f.Severity, f.Summary)
			}
		}
	case want.UnfinishedJoin != "":
		checkUnfinishedJoin(t, d, want)
	case want.LostTask != "" || want.DeadWorker != "":
		checkMPAbandoned(t, d, want)
	default:
		t.Fatalf("the program's ready file has no expectation this test knows")
	}
}

func deadlockOf(t *testing.T, d *procDiagnosis, want procExpect) (int, deadlockDetails) {
	t.Helper()
	i := d.onlyProblem(t, "deadlock")
	f := d.Findings[i]
	if got, w := d.namesOf(f.Threads), slices.Sorted(slices.Values(want.CycleThreads)); len(w) > 0 && !slices.Equal(got, w) {
		t.Errorf("deadlock threads %v, want %v", got, w)
	}
	var dd deadlockDetails
	if err := json.Unmarshal(f.Details, &dd); err != nil {
		t.Fatalf("deadlock details: %v\n%s", err, f.Details)
	}
	return i, dd
}

func checkImportLock(t *testing.T, d *procDiagnosis, want procExpect) {
	_, dd := deadlockOf(t, d, want)
	found := false
	for _, st := range dd.Cycle {
		if st.WaitsFor.Kind != "module-lock" {
			continue
		}
		found = true
		ob := d.Objects[st.WaitsFor.ID]
		if ob.Module != want.Module {
			t.Errorf("waits for the import lock of %q, want %q", ob.Module, want.Module)
		}
		if d.nameOf(st.Thread) != want.ImportWaiter {
			t.Errorf("%s waits for the import lock, want %s", d.nameOf(st.Thread), want.ImportWaiter)
		}
		if len(st.HeldBy) != 1 || d.nameOf(st.HeldBy[0].Thread) != want.ImportLockOwner {
			t.Errorf("import lock held by %+v, want %s", st.HeldBy, want.ImportLockOwner)
		}
	}
	if !found {
		t.Errorf("no step of the deadlock waits for an import lock: %+v", dd.Cycle)
	}
}

func checkPoolDeadlock(t *testing.T, d *procDiagnosis, want procExpect) {
	i, dd := deadlockOf(t, d, procExpect{CycleThreads: want.PoolDeadlock})
	p := dd.Pool
	if p == nil {
		t.Fatalf("the deadlock has no pool details: %s", d.Findings[i].Details)
	}
	if got := d.namesOf(p.Workers); !slices.Equal(got, want.PoolDeadlock) {
		t.Errorf("pool workers %v, want %v", got, want.PoolDeadlock)
	}
	if p.MaxWorkers != want.MaxWorkers || p.Started != want.MaxWorkers || p.Queued != want.Queued || len(p.Awaited) != want.Queued {
		t.Errorf("pool max_workers %d started %d queued %d awaited %v, want %d, %d, %d", p.MaxWorkers, p.Started, p.Queued, p.Awaited, want.MaxWorkers, want.MaxWorkers, want.Queued)
	}
	for _, st := range dd.Cycle {
		if (st.WaitsFor.Kind != "future" && st.WaitsFor.Kind != "mp-result") || !slices.Contains(p.Awaited, st.WaitsFor.ID) {
			t.Errorf("%s waits for %+v, not one of the queued futures %v", d.nameOf(st.Thread), st.WaitsFor, p.Awaited)
		}
	}
}

// checkFutureCycle checks a deadlock through a future: its waiter's step is
// held by the worker running the work item (runs), the worker's by the
// waiter.
func checkFutureCycle(t *testing.T, d *procDiagnosis, want procExpect) {
	_, dd := deadlockOf(t, d, want)
	var sawFuture, sawLock bool
	for _, st := range dd.Cycle {
		var held []string
		runs := false
		for _, h := range st.HeldBy {
			held = append(held, d.nameOf(h.Thread))
			runs = runs || h.Runs
		}
		switch st.WaitsFor.Kind {
		case "future":
			sawFuture = true
			if d.nameOf(st.Thread) != want.FutureWaiter || !slices.Equal(held, []string{want.FutureRunner}) || !runs {
				t.Errorf("%s waits for future %s held by %v (runs %v), want %s waiting, run by %s",
					d.nameOf(st.Thread), st.WaitsFor.ID, held, runs, want.FutureWaiter, want.FutureRunner)
			}
		case "lock":
			sawLock = true
			if d.nameOf(st.Thread) != want.FutureRunner || !slices.Equal(held, []string{want.FutureWaiter}) || runs {
				t.Errorf("%s waits for lock %s held by %v, want %s held by %s", d.nameOf(st.Thread), st.WaitsFor.ID, held, want.FutureRunner, want.FutureWaiter)
			}
			if st.WaitsFor.Name == nil || !slices.Contains(want.Locks, *st.WaitsFor.Name) {
				t.Errorf("the lock waited for is named %v, want one of %v", st.WaitsFor.Name, want.Locks)
			}
		}
	}
	if !sawFuture || !sawLock {
		t.Errorf("the cycle %+v lacks the future's step or the lock's", dd.Cycle)
	}
}

// checkManagerCycle checks a deadlock whose locks are held through context
// managers: each step's lock is held by the other thread, through the with
// block of a manager whose __enter__ acquires it (with-block,
// enter-acquire), of a @contextmanager whose generator holds it (with-block,
// generator-with), or of an ExitStack that entered it (with-block,
// exit-stack), each of want.ManagerBases at least once.
func checkManagerCycle(t *testing.T, d *procDiagnosis, want procExpect) {
	_, dd := deadlockOf(t, d, want)
	if len(dd.Cycle) != len(want.CycleThreads) {
		t.Fatalf("a cycle of %d steps, want %d: %+v", len(dd.Cycle), len(want.CycleThreads), dd.Cycle)
	}
	seen := map[string]bool{}
	for _, st := range dd.Cycle {
		if (st.WaitsFor.Kind != "lock" && st.WaitsFor.Kind != "rlock") || len(st.HeldBy) != 1 || st.HeldBy[0].Thread == st.Thread {
			t.Errorf("%s waits for %+v held by %+v, want a lock held by the other thread", d.nameOf(st.Thread), st.WaitsFor, st.HeldBy)
			continue
		}
		var bases []string
		for _, b := range st.HeldBy[0].Basis {
			bases = append(bases, b.Basis)
		}
		seen[strings.Join(bases, " ")] = true
		if len(bases) > 0 && (bases[len(bases)-1] == "generator-with" || bases[len(bases)-1] == "exit-stack") && !managerWithin(d, st.WaitsFor.ID) {
			t.Errorf("no context manager lists %s in its within", st.WaitsFor.ID)
		}
	}
	if !maps.Equal(seen, setOf(want.ManagerBases)) {
		t.Errorf("the cycle's locks are held on the bases %v, want each of %v", slices.Sorted(maps.Keys(seen)), want.ManagerBases)
	}
	for _, f := range d.Findings {
		if f.Kind == "orphaned-lock" {
			t.Errorf("a lock held through a context manager called orphaned: %s", f.Summary)
		}
	}
}

// setOf is the set of a list's strings.
func setOf(list []string) map[string]bool {
	out := make(map[string]bool, len(list))
	for _, s := range list {
		out[s] = true
	}
	return out
}

// managerWithin says whether a context manager's objects entry lists lock
// among the objects its with block holds.
func managerWithin(d *procDiagnosis, lock string) bool {
	for _, o := range d.Objects {
		if slices.Contains(o.Within, lock) {
			return true
		}
	}
	return false
}

func checkSignalDeadlock(t *testing.T, d *procDiagnosis, want procExpect) {
	i, dd := deadlockOf(t, d, want)
	h := dd.Handler
	if h == nil {
		t.Fatalf("the deadlock does not say it is in a signal handler: %+v", dd)
	}
	var frames []string
	for _, th := range d.Threads {
		if th.TID == h.Thread {
			for _, f := range th.Frames {
				frames = append(frames, f.Function)
			}
			if h.Frame < 0 || h.Frame >= len(th.Frames) || th.Frames[h.Frame].SignalHandler == nil || th.Frames[h.Frame].SignalHandler.Name != want.Signal {
				t.Errorf("frame %d of %s is not marked as a %s handler", h.Frame, th.Name, want.Signal)
			}
		}
	}
	at := func(i int) string {
		if i >= 0 && i < len(frames) {
			return frames[i]
		}
		return "?"
	}
	holder := cmp.Or(want.HolderFrame, want.Interrupted)
	if h.Signal.Name != want.Signal || at(h.Frame) != want.Handler || at(h.Interrupted) != want.Interrupted || at(h.Holder) != holder {
		t.Errorf("handler %s in %s interrupting %s, holder %s; want %s in %s interrupting %s, holder %s",
			h.Signal.Name, at(h.Frame), at(h.Interrupted), at(h.Holder), want.Signal, want.Handler, want.Interrupted, holder)
	}
	if !strings.Contains(d.Findings[i].Summary, want.Signal+" handler") {
		t.Errorf("summary does not say it is in a %s handler: %s", want.Signal, d.Findings[i].Summary)
	}
	if dd.Probable != want.Probable || strings.HasPrefix(d.Findings[i].Summary, "probable") != want.Probable || d.Findings[i].Severity != "error" {
		t.Errorf("probable %v, %s: %q; want probable %v, an error", dd.Probable, d.Findings[i].Severity, d.Findings[i].Summary, want.Probable)
	}
}

// checkPipeDeadlock: live, a proven deadlock with the child's blocked write
// on the pipe whose read end the parent holds; from a core, where the
// child's state is not recorded, a warning from the Popen's pipes alone.
func checkPipeDeadlock(t *testing.T, d *procDiagnosis, want procExpect, live bool) {
	f, p, ok := pipeDeadlockOf(t, d, live || want.ReadFD == 0 && want.WriteFD == 0)
	if !ok {
		return
	}
	if d.nameOf(p.Thread) != want.PipeDeadlock || p.Child != want.ChildPID || !slices.Equal(p.Pipes, want.Pipes) {
		t.Errorf("%s waits for child %d with pipes %v; want %s, %d, %v", d.nameOf(p.Thread), p.Child, p.Pipes, want.PipeDeadlock, want.ChildPID, want.Pipes)
	}
	if !live {
		if f.Severity != "warning" || p.Proven {
			t.Errorf("from a core: severity %s, proven %v; want an unproven warning", f.Severity, p.Proven)
		}
		return
	}
	call := cmp.Or(want.ChildSyscall, "write")
	if f.Severity != "error" || !p.Proven || p.Syscall != call || p.ChildFD == nil || *p.ChildFD != want.ChildFD ||
		p.TargetFD == nil || *p.TargetFD != want.TargetFD || p.Inode == 0 {
		t.Errorf("live: %s, proven %v, child in %s on fd %v, pipe %d, target fd %v; want a proven error, %s on fd %d, target fd %d",
			f.Severity, p.Proven, p.Syscall, p.ChildFD, p.Inode, p.TargetFD, call, want.ChildFD, want.TargetFD)
	}
	if !strings.Contains(f.Summary, "communicate()") {
		t.Errorf("the summary does not suggest communicate(): %s", f.Summary)
	}
	if got := p.ReadFD; (want.ReadFD > 0) != (got != nil) || got != nil && *got != want.ReadFD {
		t.Errorf("read_fd %v, want %d (0: none)", got, want.ReadFD)
	}
	if got := p.WriteFD; (want.WriteFD > 0) != (got != nil) || got != nil && *got != want.WriteFD {
		t.Errorf("write_fd %v, want %d (0: none)", got, want.WriteFD)
	}
	if want.ChildSide != nil {
		checkParentPipe(t, want)
	}
}

// checkParentPipe: a diagnosis of the live child finds the deadlock from its
// side, its writing thread blocked on a full pipe only the parent reads
// while the parent waits for it to exit, and the lock that thread holds.
func checkParentPipe(t *testing.T, want procExpect) {
	t.Helper()
	d, r := procDiagnose(t, strconv.Itoa(want.ChildPID))
	if r.code != 3 || len(d.Findings) != 1 || d.Findings[0].Kind != "deadlock" {
		var got []string
		for _, f := range d.Findings {
			got = append(got, fmt.Sprintf("%s [%s]: %s", f.Kind, f.Severity, f.Summary))
		}
		t.Fatalf("the child's diagnosis: exit %d, %q; want one deadlock", r.code, got)
	}
	f := d.Findings[0]
	var det struct {
		ParentPipe *struct {
			Thread int    `json:"thread"`
			FD     int    `json:"fd"`
			Parent int    `json:"parent_pid"`
			Waits  string `json:"parent_waits"`
			Holds  []struct {
				Name *string `json:"name"`
			} `json:"holds"`
		} `json:"parent_pipe"`
	}
	if err := json.Unmarshal(f.Details, &det); err != nil || det.ParentPipe == nil {
		t.Fatalf("the child's deadlock has no parent_pipe (%v): %s", err, f.Summary)
	}
	pp, cs := det.ParentPipe, want.ChildSide
	writer := d.nameOf(pp.Thread)
	for _, th := range d.diagnosis.Threads {
		if th.TID == pp.Thread && th.Main {
			writer = "MainThread" // named so whether the program imported threading or not
		}
	}
	if f.Severity != "error" || pp.FD != want.ChildFD || pp.Waits != "wait4" || pp.Parent <= 0 ||
		cs.Writer != "" && writer != cs.Writer || cs.WriterPrefix != "" && !strings.HasPrefix(writer, cs.WriterPrefix) {
		t.Errorf("the child's side: %s, %s writes fd %d, parent %d in %q; want an error, %s%s on fd %d, the parent in wait4",
			f.Severity, writer, pp.FD, pp.Parent, pp.Waits, cs.Writer, cs.WriterPrefix, want.ChildFD)
	}
	var holds []string
	for _, h := range pp.Holds {
		if h.Name != nil {
			holds = append(holds, *h.Name)
		}
	}
	if cs.Holds != "" && !slices.Equal(holds, []string{cs.Holds}) || cs.Holds == "" && len(holds) > 0 {
		t.Errorf("the writer holds %v, want %q", holds, cs.Holds)
	}
	if got := len(f.Threads) - 1; got != cs.LockWaiters {
		t.Errorf("%d threads besides the writer in the finding, want the %d that wait for its lock", got, cs.LockWaiters)
	}
	if !strings.Contains(f.Summary, "communicate()") {
		t.Errorf("the child's summary does not suggest communicate(): %s", f.Summary)
	}
	t.Logf("child: %s", f.Summary)
}

// pipeDeadlockOf is the one deadlock across a parent and its child, with its
// pipe details. Where it cannot be seen (claim false: a core, which shows
// neither the child nor who holds the pipes) no problem may be claimed,
// and it returns false.
func pipeDeadlockOf(t *testing.T, d *procDiagnosis, claim bool) (finding, *pipeDetails, bool) {
	t.Helper()
	if !claim {
		if ps := d.problems(); len(ps) != 0 {
			t.Errorf("from a core: %s, want no problem claimed", d.Findings[ps[0]].Summary)
		}
		return finding{}, nil, false
	}
	f := d.Findings[d.onlyProblem(t, "deadlock")]
	var dd deadlockDetails
	if err := json.Unmarshal(f.Details, &dd); err != nil || dd.Pipe == nil {
		t.Fatalf("deadlock details without a pipe: %v\n%s", err, f.Details)
	}
	return f, dd.Pipe, true
}

// refName is a waiting_on's name, "none" for none.
func refName(w *struct {
	Name *string `json:"name"`
}) string {
	if w == nil || w.Name == nil {
		return "none"
	}
	return *w.Name
}

// checkQueueJoin: a parent joins a child whose queue feeder thread is
// blocked writing to the queue's full pipe, which only the parent reads.
func checkQueueJoin(t *testing.T, d *procDiagnosis, want procExpect, live bool) {
	f, p, ok := pipeDeadlockOf(t, d, live)
	if !ok {
		return
	}
	if f.Severity != "error" || !p.Proven || d.nameOf(p.Thread) != want.PipeDeadlock || p.Child != want.ChildPID || p.Syscall != "write" ||
		p.TargetFD == nil || *p.TargetFD != want.TargetFD || p.ChildThread == 0 || p.ChildThread == want.ChildPID {
		t.Errorf("%s %s, proven %v: %s waits for child %d, whose thread %d is in %s, target fd %v; want a proven error: %s, child %d, a thread of its own in write, target fd %d",
			f.Kind, f.Severity, p.Proven, d.nameOf(p.Thread), p.Child, p.ChildThread, p.Syscall, p.TargetFD, want.PipeDeadlock, want.ChildPID, want.TargetFD)
	}
	if want.ChildFD > 0 && (p.ChildFD == nil || *p.ChildFD != want.ChildFD) {
		t.Errorf("the child writes to fd %v, want %d (inherited over fork)", p.ChildFD, want.ChildFD)
	}
	if p.Queue == nil || p.Queue.Name == nil || *p.Queue.Name != want.Queue || !slices.Contains(f.Objects, p.Queue.ID) {
		t.Errorf("queue %+v (finding's objects %v), want %s among them", p.Queue, f.Objects, want.Queue)
	}
	if !strings.Contains(f.Summary, "get()") {
		t.Errorf("the summary does not advise get() before the join: %s", f.Summary)
	}
}

// forkPrograms are the programs whose target is a process they fork: its
// pid is the ready file's.
var forkPrograms = []string{"fork_child.py", "fork_child.py --bare"}

// TestProcsForked diagnoses a process the program forked, live and from
// its cores.
func TestProcsForked(t *testing.T) {
	eachProgram(t, forkPrograms, func(t *testing.T, in testinterp.Interp, prog string) {
		args := strings.Fields(prog) // a program and its arguments
		s, raw := testinterp.Start(t, in, filepath.Join("..", "testprogs", args[0]), args[1:]...)
		var rd ready
		if err := json.Unmarshal(raw, &rd); err != nil || rd.Error != "" {
			t.Fatalf("%s ready file: %v %s\n%s", prog, err, rd.Error, tail(raw, 2000))
		}
		if ppid := parentOf(t, rd.PID); ppid != s.PID {
			t.Fatalf("the ready file's pid %d is not a child of the program (%d): its parent is %d", rd.PID, s.PID, ppid)
		}
		if w := rd.WatcherNativeID; w != nil {
			waitGone(t, rd.PID, *w, 30*time.Second)
		}
		testinterp.WaitThreads(t, rd.PID, len(rd.Threads), 60*time.Second, quietSyscalls...)
		want := procExpectOf(t, raw)
		child := lookable{pid: rd.PID, kernelCore: func(t *testing.T) (string, bool) { return testinterp.KernelCoreOf(t, s, rd.PID) }}
		lookEachWay(t, child, func(t *testing.T, w way) {
			procCheck(t, w, want)
		})
	})
}

// parentOf reads a process's parent pid.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		t.Fatalf("pid %d: malformed stat %q", pid, s)
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// orphanDetails is the JSON of heuristics.OrphanedLockDetails.
type orphanDetails struct {
	Lock struct {
		ID string `json:"id"`
	} `json:"lock"`
	Cause   string `json:"cause"`
	Waiters []struct {
		Thread int `json:"thread"`
	} `json:"waiters"`
	Fork *struct {
		Fork *struct {
			Site struct {
				Line int `json:"line"`
			} `json:"site"`
		} `json:"fork"`
		ParentPID int `json:"parent_pid"`
		Owner     *struct {
			Name     string `json:"name"`
			NativeID int    `json:"native_id"`
		} `json:"owner_thread"`
		OwnerInParent bool `json:"owner_in_parent"`
		Threads       int  `json:"threads"`
		Acquires      []struct {
			Line int `json:"line"`
		} `json:"acquire_sites"`
	} `json:"fork"`
}

// checkForkOrphan: an orphaned lock inherited over fork, owned by the
// parent's thread; live, the kernel shows that thread in the parent.
func checkForkOrphan(t *testing.T, d *procDiagnosis, want procExpect, live bool) {
	i := d.onlyProblem(t, "orphaned-lock")
	f := d.Findings[i]
	var od orphanDetails
	if err := json.Unmarshal(f.Details, &od); err != nil {
		t.Fatalf("orphaned-lock details: %v\n%s", err, f.Details)
	}
	if !slices.Contains(d.Objects[od.Lock.ID].Names, want.ForkOrphan) || od.Cause != "inherited-over-fork" || od.Fork == nil {
		t.Fatalf("orphaned %s (names %v), cause %q, fork %v; want %s inherited over fork", od.Lock.ID, d.Objects[od.Lock.ID].Names, od.Cause, od.Fork, want.ForkOrphan)
	}
	o := od.Fork
	if o.Fork == nil || o.Fork.Site.Line != want.ForkSite {
		t.Errorf("fork call %+v, want the os.fork() at line %d", o.Fork, want.ForkSite)
	}
	switch {
	case want.Owner == "":
		// A Lock: no owner; the parent's bare acquire() tells it.
		if o.Owner != nil || len(o.Acquires) != 1 || o.Acquires[0].Line != want.AcquireSite {
			t.Errorf("owner %+v, acquire sites %+v; want no owner and the acquire() at line %d", o.Owner, o.Acquires, want.AcquireSite)
		}
	case o.Owner == nil || o.Owner.Name != want.Owner || o.Owner.NativeID != want.OwnerNativeID:
		t.Errorf("owner %+v, want %s (tid %d)", o.Owner, want.Owner, want.OwnerNativeID)
	}
	if o.Threads != 1 {
		t.Errorf("the child has %d threads, want 1", o.Threads)
	}
	var waiters []int
	for _, w := range od.Waiters {
		waiters = append(waiters, w.Thread)
	}
	if got := d.namesOf(waiters); !slices.Equal(got, want.Waiters) {
		t.Errorf("waiters %v, want %v", got, want.Waiters)
	}
	if live && ((want.Owner != "" && !o.OwnerInParent) || o.ParentPID != want.ParentPID) {
		t.Errorf("live: owner in parent %v, parent %d; want the kernel to show the owner in parent %d", o.OwnerInParent, o.ParentPID, want.ParentPID)
	}
	if !strings.Contains(f.Summary, "inherited over fork") {
		t.Errorf("the summary does not say the lock was inherited over fork: %s", f.Summary)
	}
}

// abandonedDetails is the JSON of heuristics.AbandonedWaitDetails.
type abandonedDetails struct {
	What   string `json:"what"`
	Object struct {
		ID   string  `json:"id"`
		Name *string `json:"name"`
	} `json:"object"`
	Waiters []struct {
		Thread int `json:"thread"`
	} `json:"waiters"`
	Unfinished *int   `json:"unfinished_tasks"`
	Queued     *int   `json:"queued"`
	Maxsize    *int   `json:"maxsize"`
	Parties    int    `json:"parties"`
	Waiting    int    `json:"waiting"`
	Missing    int    `json:"missing"`
	Reason     string `json:"reason"`
	Others     []struct {
		Thread int `json:"thread"`
		Sleeps *struct {
			Line int `json:"line"`
		} `json:"sleeps_in"`
	} `json:"others"`
	Ended []struct {
		Name string `json:"name"`
	} `json:"ended"`
	Task *struct {
		Job       int  `json:"job"`
		Left      *int `json:"left"`
		Processes int  `json:"processes"`
	} `json:"task"`
	Processes []struct {
		PID    int    `json:"pid"`
		Name   string `json:"name"`
		State  string `json:"state"`
		Signal int    `json:"signal"`
	} `json:"processes"`
}

// checkAbandoned: an abandoned wait that says what is missing and which
// threads that could have ended it are gone.
func checkAbandoned(t *testing.T, d *procDiagnosis, want procExpect) {
	for name, obj := range want.WaitsFor {
		if len(d.Target.Missing) > 0 {
			// A core that lost the kernel's evidence (gcore of 3.14 loses
			// part of each worker's stack) names the wait by frames alone.
			t.Logf("the core lost memory (%q): %s's wait not checked", d.Target.Missing, name)
			break
		}
		for _, th := range d.Threads {
			if th.Name != name {
				continue
			}
			if got := th.WaitingOn; got == nil || got.Name == nil || *got.Name != obj {
				t.Errorf("%s waits for %v, want %s", name, refName(got), obj)
			}
		}
	}
	i := d.onlyProblem(t, "abandoned-wait")
	f := d.Findings[i]
	var ad abandonedDetails
	if err := json.Unmarshal(f.Details, &ad); err != nil {
		t.Fatalf("abandoned-wait details: %v\n%s", err, f.Details)
	}
	if ad.What != want.Abandoned || !slices.Contains(d.Objects[ad.Object.ID].Names, want.Object) {
		t.Errorf("abandoned %s on %s (names %v), want %s on %s", ad.What, ad.Object.ID, d.Objects[ad.Object.ID].Names, want.Abandoned, want.Object)
	}
	var waiters []int
	for _, w := range ad.Waiters {
		waiters = append(waiters, w.Thread)
	}
	if got := d.namesOf(waiters); !slices.Equal(got, want.Waiters) {
		t.Errorf("waiters %v, want %v", got, want.Waiters)
	}
	var ended []string
	for _, e := range ad.Ended {
		ended = append(ended, e.Name)
	}
	sort.Strings(ended)
	if !slices.Equal(ended, want.Ended) {
		t.Errorf("ended threads %v, want %v", ended, want.Ended)
	}
	switch want.Abandoned {
	case "queue-join":
		if ad.Unfinished == nil || *ad.Unfinished != want.Unfinished || ad.Queued == nil || *ad.Queued != want.Queued {
			t.Errorf("unfinished %v, queued %v; want %d, %d", ad.Unfinished, ad.Queued, want.Unfinished, want.Queued)
		}
	case "queue-put":
		if ad.Queued == nil || *ad.Queued != want.Queued || ad.Maxsize == nil || *ad.Maxsize != want.Queued {
			t.Errorf("queued %v, maxsize %v; want a full queue of %d", ad.Queued, ad.Maxsize, want.Queued)
		}
	case "barrier":
		if ad.Parties != want.Parties || ad.Waiting != want.Waiting || ad.Missing != want.Parties-want.Waiting {
			t.Errorf("parties %d, waiting %d, missing %d; want %d, %d", ad.Parties, ad.Waiting, ad.Missing, want.Parties, want.Waiting)
		}
	}
	if ad.Reason == "no-reference" || f.Severity != "error" {
		t.Errorf("reason %s, severity %s: want a proven error", ad.Reason, f.Severity)
	}
	var sleepers []int
	for _, o := range ad.Others {
		if o.Sleeps != nil && o.Sleeps.Line > 0 {
			sleepers = append(sleepers, o.Thread)
		}
	}
	if got := d.namesOf(sleepers); (want.Sleeper == "") != (len(got) == 0) || want.Sleeper != "" && !slices.Equal(got, []string{want.Sleeper}) {
		t.Errorf("threads that only sleep %v, want %q", got, want.Sleeper)
	}
}

// checkMPAbandoned: live, a lost Pool task with every worker idle, or a
// multiprocessing queue whose producers are dead, the killed one named.
// checkUnfinishedJoin: live, an abandoned wait of MainThread in join() on
// the JoinableQueue, counting the tasks never marked done, with every
// worker idle.
func checkUnfinishedJoin(t *testing.T, d *procDiagnosis, want procExpect) {
	f := d.Findings[d.onlyProblem(t, "abandoned-wait")]
	var ad abandonedDetails
	if err := json.Unmarshal(f.Details, &ad); err != nil {
		t.Fatalf("abandoned-wait details: %v\n%s", err, f.Details)
	}
	var waiters, idle []int
	for _, w := range ad.Waiters {
		waiters = append(waiters, w.Thread)
	}
	for _, p := range ad.Processes {
		if p.State == "idle" {
			idle = append(idle, p.PID)
		}
	}
	sort.Ints(idle)
	if ad.What != "mp-queue-join" || f.Severity != "error" || !slices.Contains(d.Objects[ad.Object.ID].Names, want.UnfinishedJoin) ||
		ad.Unfinished == nil || *ad.Unfinished != want.Unfinished || !slices.Equal(d.namesOf(waiters), []string{"MainThread"}) {
		t.Errorf("%s %s on %s, unfinished %v, waiters %v; want an error mp-queue-join on %s, %d unfinished, MainThread",
			f.Severity, ad.What, ad.Object.ID, ad.Unfinished, d.namesOf(waiters), want.UnfinishedJoin, want.Unfinished)
	}
	if !slices.Equal(idle, want.WorkerPIDs) {
		t.Errorf("idle workers %v, want %v", idle, want.WorkerPIDs)
	}
	if !strings.Contains(f.Summary, "task_done()") {
		t.Errorf("the summary does not name task_done(): %s", f.Summary)
	}
}

func checkMPAbandoned(t *testing.T, d *procDiagnosis, want procExpect) {
	i := d.onlyProblem(t, "abandoned-wait")
	f := d.Findings[i]
	var ad abandonedDetails
	if err := json.Unmarshal(f.Details, &ad); err != nil {
		t.Fatalf("abandoned-wait details: %v\n%s", err, f.Details)
	}
	var waiters []int
	for _, w := range ad.Waiters {
		waiters = append(waiters, w.Thread)
	}
	if got := d.namesOf(waiters); !slices.Equal(got, []string{"MainThread"}) {
		t.Errorf("waiters %v, want [MainThread]", got)
	}
	if want.LostTask != "" {
		if ad.What != "lost-task" || ad.Task == nil || ad.Task.Job != want.Job || ad.Task.Left == nil || *ad.Task.Left != want.Left || ad.Task.Processes != want.Processes {
			t.Fatalf("what %s, task %+v; want a lost task of job %d with %d left, pool of %d", ad.What, ad.Task, want.Job, want.Left, want.Processes)
		}
		var idle []int
		for _, p := range ad.Processes {
			if p.State == "idle" {
				idle = append(idle, p.PID)
			}
		}
		sort.Ints(idle)
		if !slices.Equal(idle, want.WorkerPIDs) {
			t.Errorf("idle workers %v, want %v", idle, want.WorkerPIDs)
		}
		return
	}
	if ad.What != "mp-queue" || !slices.Contains(d.Objects[ad.Object.ID].Names, want.Object) {
		t.Errorf("what %s on %s (names %v), want mp-queue on %s", ad.What, ad.Object.ID, d.Objects[ad.Object.ID].Names, want.Object)
	}
	found := false
	for _, p := range ad.Processes {
		if p.PID == want.DeadPID {
			found = true
			if p.Name != want.DeadWorker || p.State != "dead" || p.Signal != want.DeadSignal {
				t.Errorf("dead worker %+v, want %s killed by signal %d", p, want.DeadWorker, want.DeadSignal)
			}
		}
	}
	if !found {
		t.Errorf("the processes %+v do not name the dead worker %d", ad.Processes, want.DeadPID)
	}
	if !strings.Contains(f.Summary, want.DeadWorker) || !strings.Contains(f.Summary, "SIGKILL") {
		t.Errorf("the summary does not name %s and SIGKILL: %s", want.DeadWorker, f.Summary)
	}
}
