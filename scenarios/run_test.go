package scenarios

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// runUnder runs `pyhang run FLAGS -- INTERPRETER testprogs/PROG ARGS` in a temp
// directory (with the interpreter's environment, and a stdin that stays open and
// silent) and returns what it did.
func runUnder(t *testing.T, in testinterp.Interp, flags []string, prog string, args ...string) result {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "testprogs", prog))
	if err != nil {
		t.Fatal(err)
	}
	py := in.Command(context.Background(), script, args...)
	argv := append(append(append([]string{"run"}, flags...), "--"), py.Args...)
	argv[len(flags)+2] = py.Path
	return runPyhangIn(t, t.TempDir(), py.Env, argv...)
}

// runPyhangIn runs the pyhang binary in dir with env; stdin is a pipe that stays
// open and never yields a byte.
func runPyhangIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pyhangTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, pyhangBin, args...)
	cmd.Dir, cmd.Env = dir, env
	// Out of time, pyhang goes with the programs it runs (its process
	// group), which would otherwise outlive the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	cmd.Stdin = pr
	// Files, not pipes: a program left running (--keep) keeps its standard
	// output open after pyhang has exited.
	outf, err1 := os.Create(filepath.Join(dir, ".pyhang.stdout"))
	errf, err2 := os.Create(filepath.Join(dir, ".pyhang.stderr"))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	defer outf.Close()
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = outf, errf
	start := time.Now()
	err = cmd.Run()
	stdout, _ := os.ReadFile(outf.Name())
	stderr, _ := os.ReadFile(errf.Name())
	r := result{args: args, stdout: stdout, stderr: stderr, elapsed: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.Exited():
		r.code = exit.ExitCode()
	case ctx.Err() != nil:
		t.Fatalf("pyhang %s: still running after %v\nstderr: %s", strings.Join(args, " "), pyhangTimeout, tail(stderr, 3000))
	default:
		t.Fatalf("pyhang %s: %v\nstderr: %s", strings.Join(args, " "), err, tail(stderr, 3000))
	}
	return r
}

var (
	hungLine  = regexp.MustCompile(`pyhang (?:run|watch): process (\d+) is hung \(([^;]*); watched ([0-9.]+) s\)`)
	readyLine = regexp.MustCompile(`ready: pid (\d+) `)
)

// hung finds the report's headline: the pid, why it is hung and after how long.
func hung(t *testing.T, r result, out []byte) (pid int, reason string, watched float64) {
	t.Helper()
	m := hungLine.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no \"is hung\" line in the report\n%v\n%s", r, tail(out, 4000))
	}
	pid, _ = strconv.Atoi(string(m[1]))
	watched, _ = strconv.ParseFloat(string(m[3]), 64)
	return pid, string(m[2]), watched
}

// gone waits until pid has disappeared (pyhang run ends what it hung).
func gone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
	}
	t.Errorf("process %d still runs after pyhang ended it", pid)
}

// TestRunHang runs programs that hang under pyhang run, under every interpreter:
// the diagnosis proves the problem at the first look that sees it (long before
// --hang-after), pyhang prints it, ends the program and exits 3.
func TestRunHang(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			for _, c := range []struct{ prog, kind string }{{"deadlock.py", "DEADLOCK"}, {"orphaned_lock.py", "ORPHANED-LOCK"}} {
				t.Run(strings.TrimSuffix(c.prog, ".py"), func(t *testing.T) {
					t.Parallel()
					r := runUnder(t, in, []string{"--hang-after", "2m", "--interval", "250ms"}, c.prog)
					if r.code != 3 {
						t.Fatalf("exit %d, want 3\n%v", r.code, r)
					}
					pid, reason, watched := hung(t, r, r.stderr)
					if reason != "a diagnosis proved a problem" {
						t.Errorf("hung because %q, want the proof", reason)
					}
					report := string(r.stderr)
					for _, want := range []string{c.kind + " [error]", "sending SIGTERM to " + strconv.Itoa(pid)} {
						if !strings.Contains(report, want) {
							t.Errorf("the report lacks %q\n%s", want, tail(r.stderr, 4000))
						}
					}
					gone(t, pid)
					t.Logf("time to notice: %.2f s watched before the report, %.2f s in all (interval 0.25 s)", watched, r.elapsed.Seconds())
				})
			}
		})
	}
}

// TestRunReportsUnread runs a program that deadlocks under pyhang run, its
// reports going to a pipe nobody reads any more (`pyhang run … 2>&1 | head`
// after head has exited): pyhang must still end the program, and exit 3,
// rather than die of SIGPIPE at its first write and leave it running.
func TestRunReportsUnread(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ready := filepath.Join(dir, "ready.json")
			script, err := filepath.Abs(filepath.Join("..", "testprogs", "deadlock.py"))
			if err != nil {
				t.Fatal(err)
			}
			py := in.Command(context.Background(), script, "--ready", ready)
			args := append([]string{"run", "--hang-after", "2m", "--interval", "250ms", "--", py.Path}, py.Args[1:]...)
			ctx, cancel := context.WithTimeout(context.Background(), pyhangTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, pyhangBin, args...)
			cmd.Dir, cmd.Env = dir, py.Env
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			pr.Close() // the reader is gone before the first report
			cmd.Stderr = pw
			out, err := os.Create(filepath.Join(dir, "stdout"))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			cmd.Stdout = out
			err = cmd.Run()
			pw.Close()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 3 {
				t.Fatalf("pyhang run with its reports unread: %v, want exit status 3", err)
			}
			b, err := os.ReadFile(ready)
			var r struct {
				PID int `json:"pid"`
			}
			if err != nil || json.Unmarshal(b, &r) != nil || r.PID <= 0 {
				t.Fatalf("the program's ready file: %v %q", err, b)
			}
			gone(t, r.PID)
		})
	}
}

// TestRunCrash runs a program that dies of SIGSEGV under pyhang run, under every
// interpreter: pyhang reports the signal, the fault address and the Python frame
// at the signal's delivery, writes a core that diagnoses the same (its crash
// finding), lets the signal kill the program and exits 139 as a shell would.
func TestRunCrash(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			cores := t.TempDir()
			r := runUnder(t, in, []string{"--hang-after", "2m", "--core-dir", cores}, "crash_later.py", "--after", "0.3")
			if r.code != 139 {
				t.Fatalf("exit %d, want 139\n%v", r.code, r)
			}
			report := string(r.stderr)
			m := regexp.MustCompile(`process (\d+) \(.*\) is about to die of SIGSEGV in thread (\d+), fault address (0x[0-9a-f]+)`).FindStringSubmatch(report)
			if m == nil {
				t.Fatalf("no crash headline in the report\n%s", tail(r.stderr, 4000))
			}
			if a, _ := strconv.ParseUint(m[3], 0, 64); a >= 4096 {
				t.Errorf("fault address %s, want near 0", m[3])
			}
			if !regexp.MustCompile(`crash_later\.py", line \d+, in crash\n\s+return ctypes\.string_at\(0\)`).MatchString(report) {
				t.Errorf("the report does not show the Python frame that crashed\n%s", tail(r.stderr, 4000))
			}
			core := filepath.Join(cores, "core."+m[1])
			_, dr := diagnoseJSON(t, core)
			if dr.code != 3 {
				t.Errorf("diagnose of the crash core: exit %d, want 3 (the crash)\n%v", dr.code, dr)
			}
			var sig struct {
				Target struct {
					Signal *struct {
						Name string `json:"name"`
						TID  int    `json:"tid"`
					} `json:"signal"`
				} `json:"target"`
				Threads []struct {
					TID    int    `json:"tid"`
					State  string `json:"state"`
					Frames []struct {
						Function string `json:"function"`
					} `json:"frames"`
				} `json:"threads"`
				Findings []struct {
					Kind    string `json:"kind"`
					Details struct {
						Thread      int    `json:"thread"`
						NullPointer bool   `json:"null_pointer"`
						Via         string `json:"via"`
					} `json:"details"`
				} `json:"findings"`
			}
			json.Unmarshal(dr.stdout, &sig)
			if f := sig.Findings; len(f) != 1 || f[0].Kind != "crash" || strconv.Itoa(f[0].Details.Thread) != m[2] ||
				!f[0].Details.NullPointer || f[0].Details.Via != "ctypes" {
				t.Errorf("the core's findings are %+v, want one crash: a NULL pointer dereference through ctypes in thread %s", f, m[2])
			}
			if s := sig.Target.Signal; s == nil || s.Name != "SIGSEGV" || strconv.Itoa(s.TID) != m[2] {
				t.Errorf("the core's signal is %+v, want SIGSEGV in thread %s", s, m[2])
			}
			for _, th := range sig.Threads {
				if strconv.Itoa(th.TID) != m[2] {
					continue
				}
				// ctypes.string_at is Python code calling the C function.
				if th.State != "crashed" || len(th.Frames) < 2 || th.Frames[0].Function != "string_at" || th.Frames[1].Function != "crash" {
					t.Errorf("the crashed thread in the core: %+v", th)
				}
			}
			t.Logf("crash reported and the program dead after %.2f s", r.elapsed.Seconds())
		})
	}
}

// TestRunStackOverflow runs crash_in_process.py --how stack-overflow under
// pyhang run on a few interpreters: the report at the signal's delivery
// names a stack overflow and unwinds the crashed thread's native stack, the
// Python frames placed on it, though its stack pointer may lie below the
// stack's mapping.
func TestRunStackOverflow(t *testing.T) {
	for _, in := range pickInterps(t, "3.8", "3.12", "unstable-3.14") {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			ready := filepath.Join(t.TempDir(), "ready.json")
			r := runUnder(t, in, []string{"--hang-after", "2m"}, "crash_in_process.py", "--how", "stack-overflow", "--ready", ready)
			var rf struct {
				Expect struct {
					Skip string `json:"skip"`
				} `json:"expect"`
			}
			if raw, err := os.ReadFile(ready); err == nil {
				json.Unmarshal(raw, &rf)
			}
			if rf.Expect.Skip != "" {
				t.Skip(rf.Expect.Skip)
			}
			if r.code != 139 {
				t.Fatalf("exit %d, want 139\n%v", r.code, r)
			}
			report := string(r.stderr)
			if !strings.Contains(report, "a stack overflow") {
				t.Errorf("the report does not name a stack overflow\n%s", tail(r.stderr, 4000))
			}
			if strings.Contains(report, "Python frames not placed on the native stack") ||
				!regexp.MustCompile(`#1 .*\n(.*\n)*?\s+File ".*crash_in_process\.py", line \d+, in descend`).MatchString(report) {
				t.Errorf("the crashed thread's native stack was not unwound with its Python frames\n%s", tail(r.stderr, 4000))
			}
		})
	}
}

// TestRunFaulthandler runs crash_in_process.py's faulthandler ways under
// pyhang run on a few interpreters: faulthandler catches the fault on its
// alternate signal stack and raises it again. The report at the second
// signal's delivery unwinds the crashed thread through the signal frame into
// the stack the fault interrupted (copied from the stack pointer the frame
// saved, not the handler's), through ctypes to the Python frames, and names
// the fault the frame saved (a NULL pointer), not a signal the program sent
// itself; the core pyhang writes there diagnoses the same.
func TestRunFaulthandler(t *testing.T) {
	for _, how := range []string{"faulthandler-segv", "faulthandler-null-call"} {
		t.Run(how, func(t *testing.T) {
			for _, in := range pickInterps(t, "3.8", "3.12", "3.13", "unstable-3.14") {
				t.Run(in.Name, func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					ready := filepath.Join(dir, "ready.json")
					r := runUnder(t, in, []string{"--hang-after", "2m", "--core-dir", dir}, "crash_in_process.py", "--how", how, "--ready", ready)
					if r.code != 139 {
						t.Fatalf("exit %d, want 139\n%v", r.code, r)
					}
					report := string(r.stderr)
					for _, bad := range []string{"native stack ends here", "Python frames not placed on the native stack",
						"raised itself", "the stack memory is zeroed"} {
						if strings.Contains(report, bad) {
							t.Errorf("the report says %q\n%s", bad, tail(r.stderr, 6000))
						}
					}
					if !regexp.MustCompile(`crash: SIGSEGV, a NULL pointer dereference \(address 0x0\) .*through ctypes from crash_in_process\.py:`).MatchString(report) {
						t.Errorf("the report does not name a NULL pointer dereference through ctypes\n%s", tail(r.stderr, 6000))
					}
					m := regexp.MustCompile(`process (\d+) \(.*\) is about to die of SIGSEGV in thread \d+`).FindStringSubmatch(report)
					raw, err := os.ReadFile(ready)
					if m == nil || err != nil {
						t.Fatalf("no crash headline, or no ready file (%v)\n%s", err, tail(r.stderr, 4000))
					}
					var rf struct {
						Expect crashExpect `json:"expect"`
					}
					if err := json.Unmarshal(raw, &rf); err != nil {
						t.Fatalf("ready file: %v", err)
					}
					pid, _ := strconv.Atoi(m[1])
					checkCrashCore(t, filepath.Join(dir, "core."+m[1]), pid, rf.Expect)
				})
			}
		})
	}
}

// TestRunNoFalseHang runs healthy programs longer than --hang-after: one that sleeps
// and waits on a Condition with a timeout a timer thread notifies, one that only
// computes slowly while its main thread joins it. Neither is hung; each exits 0.
func TestRunNoFalseHang(t *testing.T) {
	for _, in := range pickInterps(t, "3.8", "3.12", "unstable-3.14") {
		t.Run(in.Name, func(t *testing.T) {
			for _, c := range []struct {
				prog string
				args []string
			}{
				{"healthy_timed_wait.py", []string{"--phase", "1.5", "--seconds", "3"}},
				{"slow_progress.py", []string{"--seconds", "3"}},
			} {
				t.Run(strings.TrimSuffix(c.prog, ".py"), func(t *testing.T) {
					t.Parallel()
					r := runUnder(t, in, []string{"--hang-after", "1s", "--interval", "200ms"}, c.prog, c.args...)
					if r.code != 0 || bytes.Contains(r.stderr, []byte("is hung")) {
						t.Errorf("exit %d, want 0 and no hang\n%v", r.code, r)
					}
					if !bytes.Contains(r.stdout, []byte("done")) {
						t.Errorf("the program's own output did not pass through: %q", r.stdout)
					}
				})
			}
		})
	}
}

// TestRunGILKept runs a program whose thread matches a regular expression that
// backtracks without end, keeping the GIL, while workers wait for it: its CPU
// time is no progress, so pyhang run reports it hung once --hang-after has
// passed, saying the GIL was kept, with the gil-held-in-native finding.
func TestRunGILKept(t *testing.T) {
	for _, in := range pickInterps(t, "3.8", "3.12", "unstable-3.14") {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			// Looks at least twenty switch intervals (20 ms here) apart.
			r := runUnder(t, in, []string{"--hang-after", "2s", "--interval", "500ms"}, "gil_held_running.py")
			if r.code != 3 {
				t.Fatalf("exit %d, want 3\n%v", r.code, r)
			}
			_, reason, watched := hung(t, r, r.stderr)
			if !strings.HasPrefix(reason, "no progress for 2s") || !strings.Contains(reason, "kept the GIL in native code") {
				t.Errorf("hung because %q, want the GIL kept", reason)
			}
			if watched < 2 {
				t.Errorf("hung after %.2f s, before --hang-after", watched)
			}
			if !regexp.MustCompile(`GIL-HELD-IN-NATIVE \[warning\]: GIL held in native code: "matcher" \(tid \d+\) holds the GIL and runs native code`).Match(r.stderr) {
				t.Errorf("no gil-held-in-native finding on matcher\n%s", tail(r.stderr, 4000))
			}
		})
	}
}

// TestRunNoProgress runs a program that waits forever on input that never comes
// (no timeout, nothing to prove): hung once --hang-after has passed with no
// progress.
func TestRunNoProgress(t *testing.T) {
	in := pickInterps(t, "3.12")[0]
	r := runPyhangIn(t, t.TempDir(), in.Command(context.Background(), "-c", "").Env,
		append([]string{"run", "--hang-after", "1s", "--interval", "200ms", "--"}, append(in.Cmd, "-c", "import sys; sys.stdin.read()")...)...)
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%v", r.code, r)
	}
	_, reason, watched := hung(t, r, r.stderr)
	if !strings.HasPrefix(reason, "no progress for 1s") {
		t.Errorf("hung because %q, want no progress", reason)
	}
	if watched < 1 {
		t.Errorf("hung after %.2f s, before --hang-after", watched)
	}
	t.Logf("hung after %.2f s watched (--hang-after 1s)", watched)
}

// TestRunExitStatus: pyhang run passes on its program's status, a shell's
// 128+N for a signal, 127 for a command that does not exist.
func TestRunExitStatus(t *testing.T) {
	in := pickInterps(t, "3.12")[0]
	env := in.Command(context.Background(), "-c", "").Env
	for _, c := range []struct {
		code string
		want int
	}{
		{"import sys; sys.exit(7)", 7},
		{"import os, signal; os.kill(os.getpid(), signal.SIGTERM)", 143},
		{"print('hello')", 0},
	} {
		r := runPyhangIn(t, t.TempDir(), env, append([]string{"run", "--"}, append(in.Cmd, "-c", c.code)...)...)
		if r.code != c.want {
			t.Errorf("%s: exit %d, want %d\n%v", c.code, r.code, c.want, r)
		}
	}
	r := runPyhangIn(t, t.TempDir(), env, "run", "--", "/nonexistent/program")
	if r.code != 127 {
		t.Errorf("a missing command: exit %d, want 127\n%v", r.code, r)
	}
	// A program that ends while it is looked at (every 50 ms, threads
	// running) gets its status, and no failed look is reported: a look that
	// failed because the process was ending is no failure.
	const ending = "import threading, time\nts = [threading.Thread(target=time.sleep, args=(0.5,)) for _ in range(4)]\n[t.start() for t in ts]\ntime.sleep(1)\nraise SystemExit(5)"
	for i := range 6 {
		r := runPyhangIn(t, t.TempDir(), env, append([]string{"run", "--interval", "50ms", "--"}, append(in.Cmd, "-c", ending)...)...)
		if r.code != 5 || bytes.Contains(r.stderr, []byte("pyhang run: process")) {
			t.Errorf("run %d of a program that exits 5: exit %d, stderr %q", i, r.code, tail(r.stderr, 1000))
		}
	}
}

// TestRunChild runs a Python program whose child deadlocks: pyhang run follows
// the child and reports its deadlock.
func TestRunChild(t *testing.T) {
	in := pickInterps(t, "3.12")[0]
	r := runUnder(t, in, []string{"--hang-after", "2m", "--interval", "250ms"}, "_spawn_child.py", "deadlock.py")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%v", r.code, r)
	}
	m := readyLine.FindSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("the child did not say it was ready\n%s", tail(r.stderr, 3000))
	}
	child := string(m[1])
	if !strings.Contains(string(r.stderr), "Process "+child+" (Python") || !strings.Contains(string(r.stderr), "DEADLOCK [error]") {
		t.Errorf("no deadlock report of the child %s\n%s", child, tail(r.stderr, 4000))
	}
}

// TestRunKeep: with --keep a hung program is reported and left running, neither
// stopped nor traced.
func TestRunKeep(t *testing.T) {
	in := pickInterps(t, "3.12")[0]
	r := runUnder(t, in, []string{"--keep", "--interval", "250ms"}, "deadlock.py")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3\n%v", r.code, r)
	}
	pid, _, _ := hung(t, r, r.stderr)
	defer syscallKill(pid)
	assertNotStopped(t, pid)
	if tp := tracerPid(t, pid); tp != 0 {
		t.Errorf("the kept process is still traced by %d", tp)
	}
}

func tracerPid(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("process %d: %v", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "TracerPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return -1
}

func syscallKill(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

// ctrlCDriver runs pyhang run in a new pseudo-terminal, waits for the program to
// say it is ready, types Ctrl-C and reports what came out and how pyhang exited.
const ctrlCDriver = `
import json, os, pty, select, sys, time
argv = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out, typed, deadline = b"", False, time.monotonic() + 60
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not typed and b"ready\r\n" in out:
        time.sleep(0.3)  # into the try: block
        os.write(fd, b"\x03")
        typed = True
_, status = os.waitpid(pid, 0)
print(json.dumps({"out": out.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status)}))
`

// TestRunCtrlC: Ctrl-C at a terminal reaches the program run by pyhang run once
// (pyhang itself lets it be), and its own exit status comes back.
func TestRunCtrlC(t *testing.T) {
	in := pickInterps(t, "3.12")[0]
	prog := "import time\nprint('ready', flush=True)\ntry:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    print('interrupted', flush=True)\n    raise SystemExit(42)\n"
	args := append([]string{ctrlCDriver, pyhangBin, "run", "--"}, append(in.Cmd, "-c", prog)...)
	cmd := in.Command(context.Background(), "-c", args...)
	cmd.Dir = t.TempDir()
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("driver: %v\n%s", err, b)
	}
	var got struct {
		Out  string `json:"out"`
		Code int    `json:"code"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("driver output %q: %v", b, err)
	}
	if got.Code != 42 || strings.Count(got.Out, "interrupted") != 1 {
		t.Errorf("exit %d, want 42 after one KeyboardInterrupt; the terminal showed:\n%s", got.Code, got.Out)
	}
}

// TestRunTalkCrash runs the talk's ctypes crash under pyhang run: the report shows
// the faulting native function (RSA_size in libcrypto) and the Python frame that
// made the call, and gdb finds RSA_size in the core pyhang wrote at the signal's
// delivery.
func TestRunTalkCrash(t *testing.T) {
	in := pickInterps(t, "3.12")[0]
	cores := t.TempDir()
	r := runUnder(t, in, []string{"--core-dir", cores}, "talk_ctypes_crash.py")
	if r.code != 139 {
		t.Fatalf("exit %d, want 139\n%v", r.code, r)
	}
	m := regexp.MustCompile(`process (\d+) \(.*\) is about to die of SIGSEGV in thread \d+, fault address (0x[0-9a-f]+)`).FindSubmatch(r.stderr)
	if m == nil || !bytes.Contains(r.stderr, []byte(", in RSAKey.private_encrypt\n")) {
		t.Fatalf("no crash report naming RSAKey.private_encrypt\n%s", tail(r.stderr, 4000))
	}
	if !regexp.MustCompile(`#0 +0x[0-9a-f]+ in RSA_size\+0x[0-9a-f]+ \(libcrypto`).Match(r.stderr) {
		t.Errorf("the report's native stack does not start in RSA_size\n%s", tail(r.stderr, 4000))
	}
	if a, _ := strconv.ParseUint(string(m[2]), 0, 64); a >= 4096 {
		t.Errorf("fault address %s, want near 0", m[2])
	}
	gdb, err := exec.LookPath("gdb")
	if err != nil {
		t.Skip("SKIP gdb check: gdb not found (scripts/install-test-deps.sh installs it)")
	}
	out, err := exec.Command(gdb, "-batch", "-nx", "-ex", "bt 1", in.Cmd[0], filepath.Join(cores, "core."+string(m[1]))).CombinedOutput()
	if err != nil || !regexp.MustCompile(`#0 .* in RSA_size \(\) from .*libcrypto`).Match(out) || !bytes.Contains(out, []byte("SIGSEGV")) {
		t.Errorf("gdb does not show SIGSEGV in RSA_size: %v\n%s", err, tail(out, 3000))
	}
}
