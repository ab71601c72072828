package scenarios

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// looks is how many live diagnoses TestLooksAgree takes in a row.
const looks = 3

// look is what one diagnosis says about every thread, reduced to what must not change
// from one look to the next.
type look struct {
	Threads  map[string]lookThread
	Findings []string
}

type lookThread struct {
	State, Syscall, Wait string
	Timed                bool
	Holds                []string
}

// lookReport is the part of the pyhang/1 report a look reads.
type lookReport struct {
	Threads []struct {
		Name   string `json:"name"`
		State  string `json:"state"`
		Kernel *struct {
			Syscall     string `json:"syscall"`
			Timed       bool   `json:"timed"`
			Futex       string `json:"futex"`
			Restarted   bool   `json:"restarted"`
			RestartedBy string `json:"restarted_by"`
		} `json:"kernel"`
		WaitingOn *struct {
			Kind string  `json:"kind"`
			ID   string  `json:"id"`
			Name *string `json:"name"`
		} `json:"waiting_on"`
		Holds []struct {
			ID       string `json:"id"`
			Evidence string `json:"evidence"`
		} `json:"holds"`
	} `json:"threads"`
	Findings []struct {
		Kind    string   `json:"kind"`
		Threads []int    `json:"threads"`
		Objects []string `json:"objects"`
	} `json:"findings"`
}

// TestLooksAgree diagnoses timed_waits.py, whose threads sit in every kind of
// wait with a timeout, four times in a row live (the middle two with --stop), then from a gcore and a
// kernel core. Stopping a thread in a timed wait makes the kernel resume it
// through restart_syscall, so from the second look on those threads are
// there: every look must still give the same waits, "timed" marks, holders
// and findings as the first, and the later looks must say the waits were
// restarted (so the test sees the case it is about).
func TestLooksAgree(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "timed_waits.py")
			var want struct {
				Expect struct {
					Timed map[string]string `json:"timed"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &want); err != nil {
				t.Fatal(err)
			}
			pid := strconv.Itoa(p.PID)
			var first look
			restarts := map[string]string{}
			// The first look may read the threads without a stop (all asleep,
			// 3.11+); the next ones stop them (--stop), and then the last, a
			// plain look again, finds the waits restarted by those stops.
			for i := 0; i <= looks; i++ {
				var flags []string
				if i > 0 && i < looks {
					flags = []string{"--stop"}
				}
				l, rep := takeLook(t, pid, flags...)
				assertNotStopped(t, p.PID)
				if i == 0 {
					first = l
					checkTimedWaits(t, l, want.Expect.Timed)
					continue
				}
				compareLooks(t, fmt.Sprintf("live look %d", i+1), first, l)
				if i == looks {
					restarts = restartsOf(rep)
				}
			}
			// A timed futex wait is always restarted; a sleep or select may restart
			// the call itself instead.
			for _, name := range []string{"lock-waiter", "rlock-waiter", "condition-waiter", "event-waiter", "queue-waiter"} {
				if _, ok := restarts[name]; !ok {
					t.Errorf("%s: not in restart_syscall after %d looks: the case this test is about did not happen", name, looks)
				}
			}
			t.Logf("%s: %d live looks agree; restarted waits: %s", in.Name, looks, mapString(restarts))
			t.Run("gcore", func(t *testing.T) {
				if holes := unreadableChunks(t, p.PID); len(holes) > 0 {
					t.Skipf("SKIP (gcore unusable): %d unreadable 1 MiB chunks (guard pages) would be zeroed by gdb", len(holes))
				}
				l, rep := takeLook(t, testinterp.Gcore(t, p.PID))
				compareLooks(t, "gcore", first, l)
				t.Logf("gcore: restarted waits: %s", mapString(restartsOf(rep)))
			})
			t.Run("kernel-core", func(t *testing.T) {
				core, ok := testinterp.KernelCore(t, p.Started)
				if !ok {
					t.Skip("the kernel wrote no core file on this machine (reason logged above)")
				}
				l, rep := takeLook(t, core)
				compareLooks(t, "kernel core", first, l)
				t.Logf("kernel core: restarted waits: %s", mapString(restartsOf(rep)))
			})
		})
	}
}

// restartsOf says, per thread in restart_syscall, which call it resumes and how pyhang knows.
func restartsOf(rep lookReport) map[string]string {
	out := map[string]string{}
	for _, th := range rep.Threads {
		if k := th.Kernel; k != nil && k.Restarted {
			out[th.Name] = k.Syscall + " by " + strOr(&k.RestartedBy, "nothing")
		}
	}
	return out
}

// takeLook diagnoses target and reduces the report.
func takeLook(t *testing.T, target string, flags ...string) (look, lookReport) {
	t.Helper()
	r := runPyhang(t, append([]string{"diagnose", target, "--format", "json"}, flags...)...)
	if r.code != 0 && r.code != 3 {
		t.Fatalf("%v", r)
	}
	var rep lookReport
	if err := json.Unmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("diagnose %s: %v", target, err)
	}
	l := look{Threads: map[string]lookThread{}}
	names := map[int]string{}
	for _, th := range rep.Threads {
		lt := lookThread{State: th.State}
		if k := th.Kernel; k != nil {
			lt.Syscall, lt.Timed = k.Syscall, k.Timed
		}
		if w := th.WaitingOn; w != nil {
			lt.Wait = w.Kind + " " + w.ID + " " + strOr(w.Name, "")
		}
		for _, h := range th.Holds {
			lt.Holds = append(lt.Holds, h.ID+" ("+h.Evidence+")")
		}
		sort.Strings(lt.Holds)
		l.Threads[th.Name] = lt
	}
	for _, f := range rep.Findings {
		var who []string
		for _, tid := range f.Threads {
			who = append(who, names[tid])
		}
		l.Findings = append(l.Findings, f.Kind+" "+strings.Join(who, ",")+" "+strings.Join(f.Objects, ","))
	}
	sort.Strings(l.Findings)
	return l, rep
}

// compareLooks fails the test for every way later differs from first.
func compareLooks(t *testing.T, what string, first, later look) {
	t.Helper()
	for name, a := range first.Threads {
		b, ok := later.Threads[name]
		if !ok {
			t.Errorf("%s: thread %q missing", what, name)
			continue
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: thread %q differs from the first look:\n  first %+v\n  now   %+v", what, name, a, b)
		}
	}
	if len(later.Threads) != len(first.Threads) {
		t.Errorf("%s: %d threads, the first look had %d", what, len(later.Threads), len(first.Threads))
	}
	if fmt.Sprint(first.Findings) != fmt.Sprint(later.Findings) {
		t.Errorf("%s: findings %q, the first look found %q", what, later.Findings, first.Findings)
	}
}

// checkTimedWaits checks the first look against what the program says each thread does.
func checkTimedWaits(t *testing.T, l look, ways map[string]string) {
	t.Helper()
	for name, way := range ways {
		th, ok := l.Threads[name]
		if !ok {
			t.Errorf("thread %q missing", name)
			continue
		}
		switch way {
		case "lock", "rlock", "condition", "event", "queue":
			if !strings.HasPrefix(th.Wait, way+" ") || !th.Timed {
				t.Errorf("%s: waits on %q (timed %v), want a timed wait on a %s", name, th.Wait, th.Timed, way)
			}
		case "sleep":
			if th.State != "sleeping" {
				t.Errorf("%s: state %q, want sleeping", name, th.State)
			}
		case "poll":
			if th.Syscall != "poll" {
				t.Errorf("%s: in %q, want poll", name, th.Syscall)
			}
		}
	}
	main := l.Threads["MainThread"]
	if len(main.Holds) != 2 {
		t.Errorf("MainThread holds %q, want the lock and the rlock", main.Holds)
	}
}

func mapString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+": "+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}
