package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot"
)

// pyhangTimeout bounds one run of the binary; a dump that takes longer is a hang of its own.
const pyhangTimeout = 3 * time.Minute

// result is one run of the pyhang binary.
type result struct {
	args           []string
	stdout, stderr []byte
	code           int
	elapsed        time.Duration
	cpu            time.Duration // user and system time of the process
}

func (r result) String() string {
	return fmt.Sprintf("pyhang %s: exit %d after %v\nstderr: %s", strings.Join(r.args, " "), r.code,
		r.elapsed.Round(time.Millisecond), tail(r.stderr, 2000))
}

// runPyhang runs the binary TestMain built and returns what it did; only a failure to run
// it at all (or a timeout) fails the test here.
func runPyhang(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pyhangTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pyhangBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{args: args, stdout: stdout.Bytes(), stderr: stderr.Bytes(), elapsed: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.code = exit.ExitCode()
	case ctx.Err() != nil:
		t.Fatalf("pyhang %s: still running after %v", strings.Join(args, " "), pyhangTimeout)
	default:
		t.Fatalf("pyhang %s: %v\nstderr: %s", strings.Join(args, " "), err, tail(stderr.Bytes(), 2000))
	}
	return r
}

// dumpJSON runs `pyhang dump ARGS --format json`, requires exit 0 and a pyhang/1 snapshot.
func dumpJSON(t testing.TB, args ...string) (*snapshot.Snapshot, result) {
	t.Helper()
	r := runPyhang(t, append(append([]string{"dump"}, args...), "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	var s snapshot.Snapshot
	dec := json.NewDecoder(bytes.NewReader(r.stdout))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("pyhang %s: stdout is not a snapshot: %v\n%s", strings.Join(r.args, " "), err, tail(r.stdout, 2000))
	}
	if s.Schema != snapshot.Schema {
		t.Errorf("schema = %q, want %q", s.Schema, snapshot.Schema)
	}
	return &s, r
}

// stderrLine requires stderr to be exactly one line and returns it.
func stderrLine(t testing.TB, r result) string {
	t.Helper()
	s := strings.TrimRight(string(r.stderr), "\n")
	if s == "" || strings.Contains(s, "\n") || !strings.HasPrefix(s, "pyhang: ") {
		t.Errorf("pyhang %s: stderr should be one line starting %q, got:\n%s", strings.Join(r.args, " "), "pyhang: ", r.stderr)
	}
	if strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") {
		t.Errorf("pyhang %s panicked:\n%s", strings.Join(r.args, " "), r.stderr)
	}
	return s
}

// ready is the ready file of a testprogs program (see testprogs/_harness.py).
type ready struct {
	PID             int           `json:"pid"`
	Python          string        `json:"python"`
	Error           string        `json:"error"`
	WatcherIdent    uint64        `json:"watcher_ident"`
	WatcherNativeID *int          `json:"watcher_native_id"`
	Threads         []readyThread `json:"threads"`
	Expect          struct {
		Blocking        map[string]string       `json:"blocking"`
		Locals          map[string]readyLocals  `json:"locals"`
		CThreads        []readyCThread          `json:"c_threads"`
		Subinterpreters map[string]readySubpart `json:"subinterpreters"`
		Limits          map[string][3]int       `json:"limits"`
	} `json:"expect"`
}

type readyThread struct {
	Ident    uint64       `json:"ident"`
	NativeID *int         `json:"native_id"`
	Name     *string      `json:"name"`
	Main     bool         `json:"main"`
	Daemon   *bool        `json:"daemon"`
	OSName   *string      `json:"os_name"`
	Frames   []readyFrame `json:"frames"`
}

type readyFrame struct {
	Function string `json:"function"`
	Qualname string `json:"qualname"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	// Positions is co_positions() of the current instruction (3.11+):
	// line, end line, column, end column, each maybe null.
	Positions []*int `json:"positions"`
}

// readyLocals are the locals of a thread's innermost frame, in locals() order.
type readyLocals struct {
	Order []readyLocal `json:"order"`
}

// readyLocal is one local as parked.py describes it: Python's repr, whether it
// is an argument, and pyhang's bounded repr worked out by parked.py under the
// default limits and under LIMITED ([text, cut], null for a type it does not
// bound).
type readyLocal struct {
	Name     string            `json:"name"`
	Repr     string            `json:"repr"`
	Argument bool              `json:"argument"`
	Default  *readyBoundedRepr `json:"default"`
	Limited  *readyBoundedRepr `json:"limited"`
}

// readyBoundedRepr is [text, {"items", "chars", "bytes", "collapsed"}].
type readyBoundedRepr struct {
	Text string
	Cut  snapshot.Cut
}

func (b *readyBoundedRepr) UnmarshalJSON(data []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(data, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("bounded repr %s: want [text, cut]", data)
	}
	if err := json.Unmarshal(pair[0], &b.Text); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &b.Cut)
}

// readyCThread is a thread parked.py started without Python.
type readyCThread struct {
	TID    int    `json:"tid"`
	Ident  uint64 `json:"ident"`
	OSName string `json:"os_name"`
}

// readySubpart is the part of a thread's stack that runs in a subinterpreter,
// as the subinterpreter recorded it.
type readySubpart struct {
	Ident  uint64       `json:"ident"`
	Name   string       `json:"name"`
	Interp int64        `json:"interp"`
	Frames []readyFrame `json:"frames"`
}

// program is a started test program whose threads have all settled.
type program struct {
	*testinterp.Started
	ready ready
	raw   []byte // the ready file as written, for program-specific expectations
}

// quietSyscalls are where the programs' threads sit once parked: futex (locks, events,
// queues, conditions, joins, the GIL), recvfrom, select/pselect6 (select, and time.sleep
// before 3.11), clock_nanosleep/nanosleep (time.sleep), poll/ppoll, accept/accept4
// (servers), epoll_wait/epoll_pwait (an idle asyncio event loop), pause (a C call
// through ctypes, or a C thread), read (a pipe), write (a full pipe), wait4 (a child).
var quietSyscalls = []int{testinterp.SysFutex, 45, 23, 270, 230, 35, 7, 271, 43, 288, 232, 281, 34, 0, 1, 61}

// startProgram runs testprogs/NAME under in and waits until the program is ready, its
// watcher thread is gone and every thread it recorded sleeps in a system call, so that
// nothing in it moves any more.
func startProgram(t testing.TB, in testinterp.Interp, name string, args ...string) *program {
	t.Helper()
	return startProgramAt(t, in, nil, filepath.Join("..", "testprogs", name), args...)
}

// startProgramAt is startProgram for a script at any path, run through wrap
// (see testinterp.StartWrapped).
func startProgramAt(t testing.TB, in testinterp.Interp, wrap []string, script string, args ...string) *program {
	t.Helper()
	name := filepath.Base(script)
	s, b := testinterp.StartWrapped(t, in, wrap, script, args...)
	p := &program{Started: s, raw: b}
	if err := json.Unmarshal(b, &p.ready); err != nil {
		t.Fatalf("%s ready file: %v\n%s", name, err, tail(b, 2000))
	}
	if p.ready.Error != "" {
		t.Fatalf("%s under %s not ready: %s", name, in.Name, p.ready.Error)
	}
	if p.ready.PID != s.PID {
		t.Fatalf("%s: ready file says pid %d, started pid %d", name, p.ready.PID, s.PID)
	}
	if w := p.ready.WatcherNativeID; w != nil {
		waitGone(t, s.PID, *w, 30*time.Second)
	}
	// Threads the program says keep running (a busy loop) never settle in a
	// system call.
	var busy struct {
		Expect struct {
			Running []string `json:"running"`
		} `json:"expect"`
	}
	json.Unmarshal(b, &busy)
	testinterp.WaitThreads(t, s.PID, len(p.ready.Threads)-len(busy.Expect.Running), 60*time.Second, quietSyscalls...)
	return p
}

// waitGone waits until thread tid of pid has exited.
func waitGone(t testing.TB, pid, tid int, timeout time.Duration) {
	t.Helper()
	path := fmt.Sprintf("/proc/%d/task/%d", pid, tid)
	for deadline := time.Now().Add(timeout); ; {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watcher thread %d of pid %d still there after %v", tid, pid, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertNotStopped fails the test when any thread of pid is stopped ('t' traced or 'T'
// job-control stop): a dump of a live process must always let it go.
func assertNotStopped(t testing.TB, pid int) {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Errorf("pid %d after dump: %v", pid, err)
		return
	}
	var stopped []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "stat"))
		if err != nil {
			continue // the thread has just exited
		}
		// "tid (comm) S …": comm may hold ')' so the state follows the last one.
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 {
			if f := strings.Fields(s[i+1:]); len(f) > 0 && (f[0] == "t" || f[0] == "T") {
				stopped = append(stopped, e.Name()+":"+f[0])
			}
		}
	}
	if len(stopped) > 0 {
		t.Errorf("pid %d left stopped after dump: threads %v", pid, stopped)
	}
}

// missingPID is a pid no process has: counting down from pid_max, the first without /proc.
func missingPID(t testing.TB) int {
	t.Helper()
	max := 4194304
	if b, err := os.ReadFile("/proc/sys/kernel/pid_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			max = n
		}
	}
	for pid := max - 1; pid > max-1000 && pid > 1; pid-- {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			return pid
		}
	}
	t.Fatalf("no free pid below pid_max %d", max)
	return 0
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return strings.TrimSpace(string(b))
}

// unreadableChunks lists the 1 MiB chunks (as gdb's gcore reads them, from each mapping's
// start) of pid's readable mappings that /proc/PID/mem cannot read: gcore writes zeros for
// those. [vsyscall] and [vvar*] are left out, they are never in a core's memory anyway.
func unreadableChunks(t testing.TB, pid int) []string {
	t.Helper()
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatalf("reading maps of pid %d: %v", pid, err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		t.Fatalf("opening memory of pid %d: %v", pid, err)
	}
	defer mem.Close()
	const chunk = 1 << 20
	buf := make([]byte, chunk)
	var holes []string
	for _, line := range strings.Split(string(maps), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[1], "r") {
			continue
		}
		if len(f) > 5 && (f[5] == "[vsyscall]" || strings.HasPrefix(f[5], "[vvar")) {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		for a := start; a < end; a += chunk {
			n := min(end-a, chunk)
			if _, err := mem.ReadAt(buf[:n], int64(a)); err != nil {
				holes = append(holes, fmt.Sprintf("%#x", a))
			}
		}
	}
	return holes
}

// eachProgram runs check on each program under each interpreter, as the subtest
// INTERPRETER/PROGRAM; the programs of one interpreter run in parallel.
func eachProgram(t *testing.T, progs []string, check func(t *testing.T, in testinterp.Interp, prog string)) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			for _, prog := range progs {
				t.Run(strings.TrimSuffix(prog, ".py"), func(t *testing.T) {
					t.Parallel()
					check(t, in, prog)
				})
			}
		})
	}
}

// lookable is a running process the tests look at, and how to have the
// kernel core it (which ends it).
type lookable struct {
	pid        int
	kernelCore func(t *testing.T) (string, bool)
	// again, when set, starts a fresh process for each look after the live
	// one: a look that stops the target (pyhang's, gdb's) makes a futex wait
	// with a timeout resume in restart_syscall, whose timeout no later look
	// and no core shows.
	again func(t *testing.T) lookable
}

// lookable is the started program as a process to look at.
func (p *program) lookable() lookable {
	return lookable{pid: p.PID, kernelCore: func(t *testing.T) (string, bool) { return testinterp.KernelCore(t, p.Started) }}
}

// way is one way of looking at a process: what pyhang is given.
type way struct {
	target string // the pid, or the path of a core of the process
	live   bool
	// lossy says the core lost memory. glibc 2.41+ puts a guard inside each
	// thread stack's mapping; gdb zero-fills every 1 MiB chunk it cannot
	// read, so such a core has lost part of the waiters' C stacks: the
	// 3.13.1+ wait entries that name a parked lock, and the Python frames
	// above an entry frame. The waits are then named from the Python
	// frames, and a healthy program's answer may be "incomplete".
	lossy bool
}

// lookEachWay runs check on p live, from a gcore and from the kernel's core,
// as the subtests live, gcore and kernel-core, in that order since the
// kernel core ends the process. A live look must leave every thread running.
func lookEachWay(t *testing.T, p lookable, check func(t *testing.T, w way)) {
	again := func(t *testing.T) lookable {
		if p.again != nil {
			return p.again(t)
		}
		return p
	}
	t.Run("live", func(t *testing.T) {
		check(t, way{target: strconv.Itoa(p.pid), live: true})
		assertNotStopped(t, p.pid)
	})
	t.Run("gcore", func(t *testing.T) {
		core, lossy := gcoreOf(t, again(t).pid)
		check(t, way{target: core, lossy: lossy})
	})
	t.Run("kernel-core", func(t *testing.T) {
		core, ok := again(t).kernelCore(t)
		if !ok {
			t.Skip("the kernel wrote no core file on this machine (reason logged above)")
		}
		check(t, way{target: core})
	})
}

// gcoreOf writes a core of pid with gdb's gcore; lossy says gdb zero-filled
// chunks of it it could not read (see way.lossy).
func gcoreOf(t *testing.T, pid int) (core string, lossy bool) {
	t.Helper()
	holes := unreadableChunks(t, pid)
	if len(holes) > 0 {
		t.Logf("%d unreadable 1 MiB chunks (guard pages): gdb zero-fills them in the core", len(holes))
	}
	return testinterp.Gcore(t, pid), len(holes) > 0
}

// checkSVG requires the file to be an SVG that shows every want string, and
// returns its bytes.
func checkSVG(t *testing.T, path string, want ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s does not parse as SVG: %v", path, err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			text = append(text, string(cd))
		}
	}
	all := strings.Join(text, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s does not show %q", path, w)
		}
	}
	return b
}
