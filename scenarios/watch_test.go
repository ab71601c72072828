package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWatchHang watches a running deadlocked program: pyhang watch reports the
// deadlock at its first look, exits 3 and leaves the program running, neither
// stopped nor traced.
func TestWatchHang(t *testing.T) {
	for _, in := range pickInterps(t, "3.8", "3.12", "unstable-3.14") {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "deadlock.py")
			r := runPyhang(t, "watch", strconv.Itoa(p.PID), "--interval", "250ms")
			if r.code != 3 {
				t.Fatalf("exit %d, want 3\n%v\n%s", r.code, r, tail(r.stdout, 3000))
			}
			pid, reason, watched := hung(t, r, r.stdout)
			if pid != p.PID || reason != "a diagnosis proved a problem" || !strings.Contains(string(r.stdout), "DEADLOCK [error]") {
				t.Errorf("report of pid %d (%q), want the deadlock of %d\n%s", pid, reason, p.PID, tail(r.stdout, 3000))
			}
			if p.Exited() {
				t.Fatalf("the watched program ended; watch must leave it running")
			}
			assertNotStopped(t, p.PID)
			if tp := tracerPid(t, p.PID); tp != 0 {
				t.Errorf("the watched program is still traced by %d", tp)
			}
			t.Logf("time to notice: %.2f s watched, %.2f s in all (interval 0.25 s)", watched, r.elapsed.Seconds())
		})
	}
}

// TestWatchCrash watches a running program until it dies of SIGSEGV: pyhang watch
// reports the crash at the signal's delivery and exits 139.
func TestWatchCrash(t *testing.T) {
	for _, in := range pickInterps(t, "3.8", "3.12", "unstable-3.14") {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			trigger := filepath.Join(t.TempDir(), "crash-now")
			p := startProgram(t, in, "crash_later.py", "--trigger", trigger)
			ctx, cancel := context.WithTimeout(context.Background(), pyhangTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, pyhangBin, "watch", strconv.Itoa(p.PID), "--interval", "250ms")
			out, err := os.Create(filepath.Join(t.TempDir(), "watch.out"))
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = out, out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Crash only once watch traces the program.
			for deadline := time.Now().Add(30 * time.Second); tracerPid(t, p.PID) == 0; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("pyhang watch did not start tracing the program")
				}
			}
			writeFile(t, trigger, "")
			err = cmd.Wait()
			report, _ := os.ReadFile(out.Name())
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 139 {
				t.Fatalf("pyhang watch: %v, want exit 139\n%s", err, tail(report, 4000))
			}
			if !regexp.MustCompile(`is about to die of SIGSEGV in thread `+strconv.Itoa(p.PID)+`, fault address 0x`).Match(report) ||
				!strings.Contains(string(report), "in crash\n") {
				t.Errorf("no crash report with the crashing frame\n%s", tail(report, 4000))
			}
		})
	}
}

// samplesReport is the part of `diagnose --samples --format json` these tests read.
type samplesReport struct {
	Looks *struct {
		Count int     `json:"count"`
		Span  float64 `json:"span_s"`
	} `json:"looks"`
	Threads []struct {
		TID    int    `json:"tid"`
		Name   string `json:"name"`
		Motion *struct {
			Class   string  `json:"class"`
			SameFor float64 `json:"same_for_s"`
		} `json:"motion"`
	} `json:"threads"`
	Findings []struct {
		Kind     string   `json:"kind"`
		Severity string   `json:"severity"`
		Threads  []int    `json:"threads"`
		Objects  []string `json:"objects"`
		Summary  string   `json:"summary"`
	} `json:"findings"`
	Objects map[string]struct {
		Names []string `json:"names"`
	} `json:"objects"`
}

// TestDiagnoseSamples: one snapshot of a writer starved by readers who keep coming
// finds nothing; looks over time find the writer stuck while the readers move,
// and the starvation. Deadlocked threads look stuck, "blocked for at least" the
// time the looks span.
func TestDiagnoseSamples(t *testing.T) {
	for _, in := range pickInterps(t, "3.8", "3.12", "unstable-3.14") {
		t.Run(in.Name, func(t *testing.T) {
			t.Run("starved_writer", func(t *testing.T) {
				t.Parallel()
				p := startProgram(t, in, "starved_writer.py")
				if d, r := diagnoseJSON(t, strconv.Itoa(p.PID)); r.code != 0 || len(d.Findings) != 0 {
					t.Errorf("one snapshot: exit %d, findings %+v; want none", r.code, d.Findings)
				}
				s, r := samplesJSON(t, p.PID, "8", "250ms")
				if r.code != 3 {
					t.Errorf("with looks: exit %d, want 3", r.code)
				}
				var starved []string
				for _, f := range s.Findings {
					if f.Kind != "lock-starvation" {
						t.Errorf("unexpected finding %s: %s", f.Kind, f.Summary)
						continue
					}
					starved = append(starved, s.name(f.Threads[0]))
					if len(f.Objects) != 1 || !slices.Contains(s.Objects[f.Objects[0]].Names, "ReadersWriters.file_lock") {
						t.Errorf("starved of %v, want ReadersWriters.file_lock", f.Objects)
					}
					t.Logf("%s", f.Summary)
				}
				if !slices.Equal(starved, []string{"writer"}) {
					t.Errorf("starved threads %v, want [writer]", starved)
				}
				s.wantMotion(t, "writer", "stuck")
				for k := range 3 {
					s.wantMotion(t, "reader_"+strconv.Itoa(k), "moving")
				}
			})
			t.Run("deadlock", func(t *testing.T) {
				t.Parallel()
				p := startProgram(t, in, "deadlock.py")
				s, r := samplesJSON(t, p.PID, "3", "200ms")
				if r.code != 3 || len(s.Findings) == 0 || s.Findings[0].Kind != "deadlock" {
					t.Errorf("exit %d, findings %+v; want the deadlock", r.code, s.Findings)
				}
				for _, name := range []string{"posting", "audit", "MainThread"} {
					if m := s.wantMotion(t, name, "stuck"); m != nil && m.SameFor < 0.3 {
						t.Errorf("%s stuck for %.2f s, want the 0.4 s the looks span", name, m.SameFor)
					}
				}
			})
		})
	}
}

func samplesJSON(t *testing.T, pid int, n, interval string) (samplesReport, result) {
	t.Helper()
	r := runPyhang(t, "diagnose", strconv.Itoa(pid), "--samples", n, "--interval", interval, "--format", "json")
	var s samplesReport
	if err := json.Unmarshal(r.stdout, &s); err != nil {
		t.Fatalf("%v\nstdout is not a report: %v", r, err)
	}
	if s.Looks == nil || strconv.Itoa(s.Looks.Count) != n {
		t.Errorf("the report's looks: %+v, want %s", s.Looks, n)
	}
	return s, r
}

func (s *samplesReport) name(tid int) string {
	for _, th := range s.Threads {
		if th.TID == tid {
			return th.Name
		}
	}
	return "?"
}

func (s *samplesReport) wantMotion(t *testing.T, name, class string) *struct {
	Class   string  `json:"class"`
	SameFor float64 `json:"same_for_s"`
} {
	t.Helper()
	for _, th := range s.Threads {
		if th.Name != name {
			continue
		}
		if th.Motion == nil || th.Motion.Class != class {
			t.Errorf("%s: motion %+v, want %s", name, th.Motion, class)
		}
		return th.Motion
	}
	t.Errorf("no thread %s", name)
	return nil
}
