//go:build linux && amd64

package live

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pythons are tried in order (PYHANG_TEST_PYTHON overrides them); the Lock
// layout that testdata/threads.py relies on holds for 3.8–3.12.
var pythons = []string{
	"/root/.pyenv/versions/3.12.1/bin/python3.12",
	"/usr/bin/python3",
}

func findPython(tb testing.TB) string {
	if p := os.Getenv("PYHANG_TEST_PYTHON"); p != "" {
		return p
	}
	for _, p := range pythons {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Skipf("no Python interpreter (tried %s)", strings.Join(pythons, ", "))
	return ""
}

// targetInfo is testdata/threads.py's info.json.
type targetInfo struct {
	PID     int               `json:"pid"`
	Sem     uint64            `json:"sem"`
	Main    int               `json:"main"`
	Sleeper int               `json:"sleeper"`
	Waiters []int             `json:"waiters"`
	Idents  map[string]uint64 `json:"idents"`
	Mapped  string            `json:"mapped"`
}

type pyTarget struct {
	dir  string
	cmd  *exec.Cmd
	info targetInfo
	out  bytes.Buffer
}

// startTarget runs testdata/threads.py with n lock waiters and waits until
// every waiter sits in its futex and the sleeper in its sleep.
func startTarget(tb testing.TB, waiters int) *pyTarget {
	tb.Helper()
	py := findPython(tb)
	script, err := filepath.Abs("testdata/threads.py")
	if err != nil {
		tb.Fatal(err)
	}
	pt := &pyTarget{dir: tb.TempDir()}
	pt.cmd = exec.Command(py, script, pt.dir, strconv.Itoa(waiters))
	pt.cmd.Stdout, pt.cmd.Stderr = &pt.out, &pt.out
	if err := pt.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		pt.cmd.Process.Kill()
		pt.cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(pt.dir, "info.json"))
		if err == nil {
			if err := json.Unmarshal(b, &pt.info); err != nil {
				tb.Fatalf("info.json: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("target did not start: %s", pt.out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, tid := range append([]int{pt.info.Sleeper}, pt.info.Waiters...) {
		for {
			b, _ := os.ReadFile(procPath(pt.info.PID, "task", strconv.Itoa(tid), "syscall"))
			si, err := parseSyscallFile(b)
			if err == nil && si.InSyscall && (tid == pt.info.Sleeper || si.Nr == 202) {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("thread %d not blocked: %q", tid, b)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return pt
}

func (pt *pyTarget) pid() int { return pt.info.PID }

// progress is the number of lines the main thread has written.
func (pt *pyTarget) progress(tb testing.TB) int {
	b, err := os.ReadFile(filepath.Join(pt.dir, "progress"))
	if err != nil && !os.IsNotExist(err) {
		tb.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// states maps each thread of the target to its /proc state letter.
func (pt *pyTarget) states(tb testing.TB) map[int]string {
	tids, err := listTasks(pt.pid())
	if err != nil {
		tb.Fatal(err)
	}
	m := map[int]string{}
	for _, tid := range tids {
		m[tid] = readState(pt.pid(), tid)
	}
	return m
}

// waitStates waits until every thread's state satisfies ok.
func (pt *pyTarget) waitStates(tb testing.TB, what string, ok func(string) bool) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		st := pt.states(tb)
		good := true
		for _, s := range st {
			good = good && ok(s)
		}
		if good {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("thread states %v: not all %s", st, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func stopped(s string) bool { return s == "t" || s == "T" }

// checkRuns checks that the target keeps making progress, that the waiters'
// interrupted futex waits still work (each acquires the lock once it is
// released) and that the sleeper still sleeps.
func (pt *pyTarget) checkRuns(tb testing.TB) {
	tb.Helper()
	pt.waitStates(tb, "running", func(s string) bool { return !stopped(s) })
	before := pt.progress(tb)
	deadline := time.Now().Add(5 * time.Second)
	for pt.progress(tb) < before+3 {
		if time.Now().After(deadline) {
			tb.Fatalf("target made no progress after release (%d lines)", before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.WriteFile(filepath.Join(pt.dir, "go"), nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	for {
		b, _ := os.ReadFile(filepath.Join(pt.dir, "events"))
		ev := string(b)
		if strings.Contains(ev, "sleeper woke") {
			tb.Fatalf("the sleeper's one-hour sleep ended early: %q", ev)
		}
		missing := 0
		for _, w := range pt.info.Waiters {
			if !strings.Contains(ev, fmt.Sprintf("acquired %d\n", w)) {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d waiter(s) never acquired the released lock: events %q", missing, ev)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkStalls checks that the main thread writes nothing for a while.
func (pt *pyTarget) checkStalls(tb testing.TB) {
	tb.Helper()
	before := pt.progress(tb)
	time.Sleep(150 * time.Millisecond)
	if after := pt.progress(tb); after != before {
		tb.Errorf("target progressed from %d to %d lines while stopped", before, after)
	}
}
