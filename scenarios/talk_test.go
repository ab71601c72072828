package scenarios

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// talkExample is one of the four hangs of the gdb debugging talk, by the
// talk's name.
type talkExample struct {
	name, prog string
	crash      bool // it crashes instead of hanging
	check      func(t *testing.T, r *talkReport, want talkExpect, mode string)
}

var talkExamples = []talkExample{
	{name: "job-queue", prog: "talk_job_queue.py", check: checkJobQueue},
	{name: "http-pool", prog: "talk_http_pool.py", check: checkHTTPPool},
	{name: "readers-writers", prog: "talk_readers_writers.py"},
	{name: "ctypes-crash", prog: "talk_ctypes_crash.py", crash: true, check: checkCrash},
}

// talkModes are the ways each example is diagnosed, in the order they run
// (the kernel core ends the process).
var talkModes = []string{"live", "gcore", "kernel-core"}

// TestTalkExamples runs each talk example under every interpreter until it
// has hung (or crashed), diagnoses it live, from a gcore and from a kernel
// core, and checks the findings against what the program recorded about
// itself. A table of every example x interpreter x mode ends the test.
func TestTalkExamples(t *testing.T) {
	ins := testinterp.All(t)
	tbl := newTalkTable()
	t.Cleanup(func() { t.Logf("talk examples:\n%s", tbl.String(ins)) })
	for _, ex := range talkExamples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			for _, in := range ins {
				t.Run(in.Name, func(t *testing.T) {
					t.Parallel()
					runTalkExample(t, tbl, ex, in)
				})
			}
		})
	}
}

func runTalkExample(t *testing.T, tbl *talkTable, ex talkExample, in testinterp.Interp) {
	t.Cleanup(func() {
		if t.Failed() {
			tbl.failUnset(ex.name, in.Name, "FAIL (did not reach its hang)")
		}
	})
	if ex.crash {
		s, raw := testinterp.Start(t, in, filepath.Join("..", "testprogs", ex.prog))
		want := parseTalkExpect(t, raw)
		mode(t, tbl, ex, in, "live", func(t *testing.T) {
			tbl.skip(t, "not applicable: a crashed process is gone; its crash is diagnosed from the core")
		})
		mode(t, tbl, ex, in, "gcore", func(t *testing.T) {
			tbl.skip(t, "not applicable: gcore needs a live process; the crash leaves the kernel's core")
		})
		mode(t, tbl, ex, in, "kernel-core", func(t *testing.T) {
			core, sig, ok := testinterp.CrashCore(t, s)
			if sig != syscall.SIGSEGV {
				t.Errorf("the program died of %v, want SIGSEGV", sig)
			}
			if !ok {
				tbl.skip(t, "the kernel wrote no core file on this machine (reason logged above)")
			}
			checkTalk(t, ex, core, "kernel-core", want)
		})
		return
	}
	p := startProgram(t, in, ex.prog)
	want := parseTalkExpect(t, p.raw)
	pid := strconv.Itoa(p.PID)
	mode(t, tbl, ex, in, "live", func(t *testing.T) {
		checkTalk(t, ex, pid, "live", want)
		assertNotStopped(t, p.PID)
	})
	mode(t, tbl, ex, in, "gcore", func(t *testing.T) {
		// A lossy core (see way.lossy) names the waits from the Python
		// frames; what it cannot show, checkTalk reports as partial.
		core, _ := gcoreOf(t, p.PID)
		if partial := checkTalk(t, ex, core, "gcore", want); partial != "" {
			tbl.skip(t, "partial: "+partial)
		}
	})
	mode(t, tbl, ex, in, "kernel-core", func(t *testing.T) {
		core, ok := testinterp.KernelCore(t, p.Started)
		if !ok {
			tbl.skip(t, "the kernel wrote no core file on this machine (reason logged above)")
		}
		checkNoCrash(t, core)
		checkTalk(t, ex, core, "kernel-core", want)
	})
}

// checkNoCrash: the core of a process the test killed with SIGABRT (kill(),
// si_code SI_USER, from the test's own pid) records the signal, and no
// crash: no crash finding, no crashed thread.
func checkNoCrash(t *testing.T, core string) {
	t.Helper()
	r := runPyhang(t, "diagnose", core, "--format", "json")
	var rep struct {
		Target struct {
			Signal *struct {
				Name   string `json:"name"`
				Code   int    `json:"code"`
				Sender int    `json:"sender_pid"`
			} `json:"signal"`
		} `json:"target"`
		Threads []struct {
			State string `json:"state"`
		} `json:"threads"`
		Findings []struct {
			Kind string `json:"kind"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	if s := rep.Target.Signal; s == nil || s.Name != "SIGABRT" || s.Code != 0 || s.Sender != os.Getpid() {
		t.Errorf("the core's signal is %+v, want SIGABRT, si_code 0 (SI_USER), from pid %d", s, os.Getpid())
	}
	for _, f := range rep.Findings {
		if f.Kind == "crash" {
			t.Errorf("a crash finding on the core of a process killed from outside: %s", r.stdout)
		}
	}
	for _, th := range rep.Threads {
		if th.State == "crashed" {
			t.Errorf("a crashed thread in the core of a process killed from outside")
		}
	}
}

// mode runs one mode's subtest and records its outcome in the table.
func mode(t *testing.T, tbl *talkTable, ex talkExample, in testinterp.Interp, name string, f func(t *testing.T)) {
	t.Run(name, func(t *testing.T) {
		t.Cleanup(func() { tbl.record(t, ex.name, in.Name, name) })
		f(t)
	})
}

// talkExpect is the expect object of the talk examples' ready files.
type talkExpect struct {
	expectation // readers-writers, read by checkDiagnosis
	// job-queue (and Starved, Queue)
	QueueLength *int `json:"queue_length"`
	// http-pool
	StuckIO     []string `json:"stuck_io"`
	Peer        string   `json:"peer"`
	URLs        []string `json:"urls"`
	PoolWaiting *int     `json:"pool_waiting"`
	Dependents  []string `json:"dependents"`
	// ctypes-crash
	Signal            string `json:"signal"`
	NativeFunction    string `json:"native_function"`
	Library           string `json:"library"`
	FaultAddressBelow uint64 `json:"fault_address_below"`
	PythonQualname    string `json:"python_qualname"`
	PythonLine        int    `json:"python_line"`
	// crashStack is the crashing thread's Python stack, from the ready file.
	crashStack []readyFrame
}

func parseTalkExpect(t *testing.T, raw []byte) talkExpect {
	t.Helper()
	var r struct {
		Expect  talkExpect    `json:"expect"`
		Threads []readyThread `json:"threads"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("ready file: %v", err)
	}
	if len(r.Threads) == 1 { // the crash example: one thread, its stack at the crash
		r.Expect.crashStack = r.Threads[0].Frames
	}
	return r.Expect
}

// talkReport is the part of the pyhang/1 report the talk checks read: the
// diagnosis plus each finding's structured details.
type talkReport struct {
	diagnosis
	Target struct {
		Signal *struct {
			Name string `json:"name"`
			Addr string `json:"addr"`
			TID  int    `json:"tid"`
		} `json:"signal"`
		Missing []string `json:"missing"`
	} `json:"target"`
	// partial says what a check could not check because the core lacks it.
	partial string
	Details []json.RawMessage
	Frames  map[int][]readyFrame // by tid
	State   map[int]string
}

// checkTalk diagnoses target and checks it; it returns what could not be
// checked because the core lacks it ("" when everything was).
func checkTalk(t *testing.T, ex talkExample, target, mode string, want talkExpect) string {
	t.Helper()
	if ex.check == nil {
		// readers-writers: the orphaned lock, as TestDiagnose checks it.
		checkDiagnosis(t, target, want.expectation, false)
		return ""
	}
	r := runPyhang(t, "diagnose", target, "--format", "json")
	if r.code != 0 && r.code != 3 {
		t.Fatalf("%v", r)
	}
	var rep talkReport
	if err := json.Unmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	var extra struct {
		Findings []struct {
			Details json.RawMessage `json:"details"`
		} `json:"findings"`
		Threads []struct {
			TID    int          `json:"tid"`
			State  string       `json:"state"`
			Frames []readyFrame `json:"frames"`
		} `json:"threads"`
	}
	if err := json.Unmarshal(r.stdout, &extra); err != nil {
		t.Fatal(err)
	}
	for _, f := range extra.Findings {
		rep.Details = append(rep.Details, f.Details)
	}
	rep.Frames, rep.State = map[int][]readyFrame{}, map[int]string{}
	for _, th := range extra.Threads {
		rep.Frames[th.TID], rep.State[th.TID] = th.Frames, th.State
	}
	rep.checkRefs(t)
	if len(rep.problems()) > 0 && r.code != 3 {
		t.Errorf("exit %d with problems found, want 3", r.code)
	}
	ex.check(t, &rep, want, mode)
	return rep.partial
}

func checkJobQueue(t *testing.T, r *talkReport, want talkExpect, mode string) {
	i := r.onlyProblem(t, "starved-consumers")
	if r.Findings[i].Severity != "error" {
		t.Errorf("severity %s, want error", r.Findings[i].Severity)
	}
	var d struct {
		Queue struct {
			Kind string  `json:"kind"`
			ID   string  `json:"id"`
			Name *string `json:"name"`
		} `json:"queue"`
		Length     *int `json:"length"`
		Unfinished *int `json:"unfinished_tasks"`
		Consumers  []struct {
			Thread int `json:"thread"`
		} `json:"consumers"`
		Reason string `json:"reason"`
		Others []struct {
			Thread   int `json:"thread"`
			PutSites []struct {
				Line int `json:"line"`
			} `json:"put_sites"`
			PastPuts bool `json:"past_puts"`
			Waits    *struct {
				WaitsFor struct {
					Kind string `json:"kind"`
				} `json:"waits_for"`
			} `json:"waits"`
		} `json:"others"`
	}
	if err := json.Unmarshal(r.Details[i], &d); err != nil {
		t.Fatalf("details: %v", err)
	}
	if d.Queue.Kind != "queue" || d.Queue.Name == nil || *d.Queue.Name != want.Queue {
		t.Errorf("queue %+v, want queue %s", d.Queue, want.Queue)
	}
	if d.Length == nil || want.QueueLength == nil || *d.Length != *want.QueueLength {
		t.Errorf("queue length %v, want %v", d.Length, want.QueueLength)
	}
	if d.Unfinished == nil || *d.Unfinished == 0 {
		t.Errorf("unfinished tasks %v: every job was put and none marked done", d.Unfinished)
	}
	var consumers []int
	for _, c := range d.Consumers {
		consumers = append(consumers, c.Thread)
	}
	if got := r.names(consumers); !slices.Equal(got, slices.Sorted(slices.Values(want.Starved))) {
		t.Errorf("consumers %v, want %v", got, want.Starved)
	}
	if d.Reason != "others-blocked" || len(d.Others) != 1 {
		t.Fatalf("reason %q, others %+v: want the main thread, blocked", d.Reason, d.Others)
	}
	o := d.Others[0]
	if o.Thread != r.tidNamed("MainThread") || o.Waits == nil || o.Waits.WaitsFor.Kind != "thread" {
		t.Errorf("the other thread %+v should be MainThread, joining", o)
	}
	if len(o.PutSites) == 0 || !o.PastPuts {
		t.Errorf("MainThread should be past its put()s: %+v", o)
	}
	// The whole process is blocked as a consequence, and says so.
	found := false
	for _, f := range r.Findings {
		found = found || (f.Kind == "all-blocked" && f.Severity == "info")
	}
	if !found {
		t.Errorf("no all-blocked note beside the starved consumers: %+v", r.Findings)
	}
}

func checkHTTPPool(t *testing.T, r *talkReport, want talkExpect, mode string) {
	i := r.onlyProblem(t, "stuck-io")
	var d struct {
		Stuck []struct {
			Thread   int `json:"thread"`
			WaitsFor struct {
				Kind string `json:"kind"`
			} `json:"waits_for"`
			Op      string  `json:"op"`
			FD      int     `json:"fd"`
			Timeout float64 `json:"timeout"`
			Peer    string  `json:"peer"`
			State   string  `json:"state"`
			URL     string  `json:"url"`
		} `json:"stuck"`
		Pools []struct {
			Workers []int `json:"workers"`
			Stuck   int   `json:"stuck"`
			Waiting *int  `json:"waiting"`
		} `json:"pools"`
		Dependents []struct {
			Thread int `json:"thread"`
		} `json:"dependents"`
	}
	if err := json.Unmarshal(r.Details[i], &d); err != nil {
		t.Fatalf("details: %v", err)
	}
	var tids []int
	var urls []string
	for _, s := range d.Stuck {
		tids = append(tids, s.Thread)
		urls = append(urls, s.URL)
		if s.WaitsFor.Kind != "socket" || s.Op != "read" || s.FD <= 2 || s.Timeout >= 0 {
			t.Errorf("stuck thread %d: %+v, want a read of a socket with no timeout", s.Thread, s)
		}
		switch mode {
		case "live":
			if s.Peer != want.Peer || s.State != "ESTABLISHED" {
				t.Errorf("thread %d: peer %q (%s), want %s (ESTABLISHED)", s.Thread, s.Peer, s.State, want.Peer)
			}
		default:
			if s.Peer != "" {
				t.Errorf("thread %d: a core has no peer, got %q", s.Thread, s.Peer)
			}
		}
	}
	if got := r.names(tids); !slices.Equal(got, slices.Sorted(slices.Values(want.StuckIO))) {
		t.Errorf("stuck threads %v, want %v", got, want.StuckIO)
	}
	if mode == "gcore" && len(r.Target.Missing) > 0 {
		// The gcore lost the workers' C stacks, and with them their Python
		// frames beyond SocketIO.readinto (which the C BufferedReader calls):
		// the URL, the work item and the executor are in those frames.
		r.partial = "the gcore lost the pool workers' Python frames beyond SocketIO.readinto (zero-filled C stacks " +
			"behind glibc 2.41+'s guard pages), which hold the URLs, the pool and the futures the main thread waits " +
			"for; the stuck-io finding and its threads were checked"
		return
	}
	sort.Strings(urls)
	if wantURLs := slices.Sorted(slices.Values(want.URLs)); !slices.Equal(urls, wantURLs) {
		t.Errorf("URLs %v, want %v", urls, wantURLs)
	}
	if len(d.Pools) != 1 || d.Pools[0].Stuck != len(want.StuckIO) || len(d.Pools[0].Workers) != len(want.StuckIO) ||
		d.Pools[0].Waiting == nil || want.PoolWaiting == nil || *d.Pools[0].Waiting != *want.PoolWaiting {
		t.Errorf("pools %+v, want one of %d workers, all stuck, %v items waiting", d.Pools, len(want.StuckIO), want.PoolWaiting)
	}
	var deps []int
	for _, dp := range d.Dependents {
		deps = append(deps, dp.Thread)
	}
	if got := r.names(deps); !slices.Equal(got, want.Dependents) {
		t.Errorf("dependents %v, want %v (waiting on the workers' futures)", got, want.Dependents)
	}
}

func checkCrash(t *testing.T, r *talkReport, want talkExpect, mode string) {
	sig := r.Target.Signal
	if sig == nil || sig.Name != want.Signal {
		t.Fatalf("target signal %+v, want %s", sig, want.Signal)
	}
	addr, err := strconv.ParseUint(strings.TrimPrefix(sig.Addr, "0x"), 16, 64)
	if err != nil || addr >= want.FaultAddressBelow {
		t.Errorf("fault address %q, want one below %#x (a NULL pointer dereference)", sig.Addr, want.FaultAddressBelow)
	}
	if r.State[sig.TID] != "crashed" {
		t.Errorf("the faulting thread %d is %q, want crashed", sig.TID, r.State[sig.TID])
	}
	// The Python stack at the crash is the one the program recorded just
	// before its fatal call (qualified names from 3.11 on).
	frames := r.Frames[sig.TID]
	if len(frames) == 0 || frames[0].Line != want.PythonLine || !strings.HasSuffix(want.PythonQualname, frames[0].Qualname) {
		t.Errorf("the faulting thread's innermost Python frame is %+v, want %s at line %d", frames, want.PythonQualname, want.PythonLine)
	}
	if len(want.crashStack) > 0 && !slices.EqualFunc(frames, want.crashStack, sameFrame) {
		t.Errorf("the faulting thread's Python stack is\n%+v\nthe program recorded\n%+v", frames, want.crashStack)
	}
	checkCrashFindings(t, r, want)
}

// checkCrashFindings: the crash core's one finding is the crash: SIGSEGV, a
// NULL pointer dereference near 0, in RSA_size of libcrypto, called
// through ctypes from the Python frame that made the call.
func checkCrashFindings(t *testing.T, r *talkReport, want talkExpect) {
	i := r.onlyProblem(t, "crash")
	if len(r.Findings) != 1 {
		t.Errorf("findings besides the crash: %+v", r.Findings)
	}
	var c crashFinding
	if err := json.Unmarshal(r.Details[i], &c); err != nil {
		t.Fatalf("details: %v", err)
	}
	if c.Signal != want.Signal || c.Cause != "fault" || c.CodeName != "SEGV_MAPERR" {
		t.Errorf("crash %s (%s), cause %s; want %s, SEGV_MAPERR, fault", c.Signal, c.CodeName, c.Cause, want.Signal)
	}
	addr := uint64(1) << 63
	if c.Addr != nil {
		addr, _ = strconv.ParseUint(strings.TrimPrefix(*c.Addr, "0x"), 16, 64)
	}
	if !c.NullPointer || addr >= want.FaultAddressBelow {
		t.Errorf("null pointer %v at %v, want a NULL pointer dereference below %#x", c.NullPointer, c.Addr, want.FaultAddressBelow)
	}
	if c.Thread != r.Target.Signal.TID || !c.Python {
		t.Errorf("the crash names thread %d, the core's signal %d", c.Thread, r.Target.Signal.TID)
	}
	if c.Function == nil || c.Function.Symbol != want.NativeFunction || !strings.HasPrefix(c.Function.Module, want.Library) || c.Module != "library" {
		t.Errorf("the faulting function is %+v (%s), want %s in %s, a library", c.Function, c.Module, want.NativeFunction, want.Library)
	}
	if c.Via != "ctypes" {
		t.Errorf("via %q, want ctypes", c.Via)
	}
	frames := r.Frames[c.Thread]
	if c.Frame == nil || *c.Frame != 0 || len(frames) == 0 || frames[0].Line != want.PythonLine {
		t.Errorf("the crash's Python frame is %v of %+v, want the call at line %d", c.Frame, frames, want.PythonLine)
	}
}

// talkTable collects each example x interpreter x mode's outcome.
type talkTable struct {
	mu   sync.Mutex
	cell map[[3]string]string
	why  map[string]string // a test's skip reason, by test name
}

func newTalkTable() *talkTable {
	return &talkTable{cell: map[[3]string]string{}, why: map[string]string{}}
}

// skip records the reason and skips the test.
func (tb *talkTable) skip(t *testing.T, reason string) {
	t.Helper()
	tb.mu.Lock()
	tb.why[t.Name()] = reason
	tb.mu.Unlock()
	t.Skip("SKIP (" + reason + ")")
}

func (tb *talkTable) record(t *testing.T, ex, in, mode string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	switch {
	case t.Failed():
		tb.cell[[3]string{ex, in, mode}] = "FAIL"
	case t.Skipped():
		tb.cell[[3]string{ex, in, mode}] = "skip: " + tb.why[t.Name()]
	default:
		tb.cell[[3]string{ex, in, mode}] = "pass"
	}
}

func (tb *talkTable) failUnset(ex, in, what string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range talkModes {
		if _, ok := tb.cell[[3]string{ex, in, m}]; !ok {
			tb.cell[[3]string{ex, in, m}] = what
		}
	}
}

func (tb *talkTable) String(ins []testinterp.Interp) string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %-16s", "example", "interpreter")
	for _, m := range talkModes {
		fmt.Fprintf(&b, " %-12s", m)
	}
	b.WriteString("\n")
	var notes []string
	for _, ex := range talkExamples {
		for _, in := range ins {
			ran := false
			for _, m := range talkModes {
				_, ok := tb.cell[[3]string{ex.name, in.Name, m}]
				ran = ran || ok
			}
			if !ran {
				continue // left out by -run
			}
			fmt.Fprintf(&b, "%-16s %-16s", ex.name, in.Name)
			for _, m := range talkModes {
				c, ok := tb.cell[[3]string{ex.name, in.Name, m}]
				if !ok {
					c = "not run"
				}
				if reason, isSkip := strings.CutPrefix(c, "skip: "); isSkip {
					n := slices.Index(notes, reason)
					if n < 0 {
						notes = append(notes, reason)
						n = len(notes) - 1
					}
					c = fmt.Sprintf("skip [%d]", n+1)
				}
				fmt.Fprintf(&b, " %-12s", c)
			}
			b.WriteString("\n")
		}
	}
	for i, n := range notes {
		fmt.Fprintf(&b, "[%d] %s\n", i+1, n)
	}
	return b.String()
}
