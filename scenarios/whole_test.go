package scenarios

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
	"github.com/pyhang/pyhang/snapshot"
)

// wholeDumps is how many live dumps TestLiveStacksWhole takes per interpreter.
const wholeDumps = 100

// recursion is what testprogs/recursing.py says about its main thread's stack.
type recursion struct {
	Depth       int `json:"depth"`
	Module      int `json:"module"`
	Main        int `json:"main"`
	Churn       int `json:"churn"`
	Recurse     int `json:"recurse"`
	Bottom      int `json:"bottom"`
	ClimbFirst  int `json:"climb_first"`
	SettleFirst int `json:"settle_first"`
	SettleEnd   int `json:"settle_end"`
}

// TestLiveStacksWhole dumps a program whose main thread recurses and returns
// without a pause, wholeDumps times per interpreter while it runs. Every dump
// must show that stack whole and of one instant (see testprogs/recursing.py):
// a stack spliced from the moment the target was stopped and a later one
// loses `<module>`, repeats frames or stacks climb frames at the wrong lines.
// Interpreters run in parallel; each program keeps one core busy.
func TestLiveStacksWhole(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			t.Parallel()
			p := startProgram(t, in, "recursing.py")
			var want struct {
				Expect struct {
					Recursion recursion `json:"recursion"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &want); err != nil {
				t.Fatal(err)
			}
			rec := want.Expect.Recursion
			pid := strconv.Itoa(p.PID)
			depths := map[int]int{}
			late := 0
			for i := 0; i < wholeDumps; i++ {
				s, _ := dumpJSON(t, pid)
				if len(s.Threads) != len(p.ready.Threads) {
					t.Errorf("dump %d: %d threads, want %d", i, len(s.Threads), len(p.ready.Threads))
				}
				for _, w := range s.Target.Warnings {
					if strings.Contains(w, "were read afterwards") {
						late++
					} else {
						t.Errorf("dump %d: warning %q", i, w)
					}
				}
				var main *snapshot.Thread
				for j := range s.Threads {
					if s.Threads[j].Main {
						main = &s.Threads[j]
					}
				}
				if main == nil {
					t.Fatalf("dump %d: no main thread", i)
				}
				n, err := checkRecursion(main.Frames, rec)
				if err != nil {
					t.Fatalf("dump %d: main thread's stack is not whole: %v\n%s", i, err, frameList(main.Frames))
				}
				depths[n]++
			}
			assertNotStopped(t, p.PID)
			t.Logf("%s: %d live dumps whole; climb depths seen %v; %d with late pages (objects outside the stacks)",
				in.Name, wholeDumps, depths, late)
		})
	}
}

// checkRecursion checks one dump of recursing.py's main thread, innermost
// frame first, and returns how many climb frames it has.
func checkRecursion(frames []snapshot.Frame, rec recursion) (int, error) {
	seen := map[snapshot.Addr]bool{}
	for _, f := range frames {
		if f.Addr != 0 && seen[f.Addr] {
			return 0, fmt.Errorf("frame %s twice", f.Addr)
		}
		seen[f.Addr] = true
	}
	n := len(frames)
	if n < 3 {
		return 0, fmt.Errorf("%d frames", n)
	}
	at := func(i int, fn string, lines ...int) error {
		f := frames[i]
		if f.Function != fn {
			return fmt.Errorf("frame %d from the outside is %s, want %s", n-i, f.Function, fn)
		}
		for _, l := range lines {
			if f.Line == l {
				return nil
			}
		}
		return fmt.Errorf("frame %d from the outside, %s, is at line %d, want one of %v", n-i, fn, f.Line, lines)
	}
	if err := at(n-1, "<module>", rec.Module); err != nil {
		return 0, err
	}
	if err := at(n-2, "main", rec.Main); err != nil {
		return 0, err
	}
	if err := at(n-3, "churn", rec.Churn, rec.Churn-1); err != nil {
		return 0, err
	}
	climbs := 0
	for i := n - 4; i >= 0; i-- {
		inner := i == 0
		switch f := frames[i]; {
		case f.Function == "climb" && !inner:
			if err := at(i, "climb", rec.Recurse, rec.Bottom); err != nil {
				return 0, err
			}
			if f.Line == rec.Bottom && i != 1 {
				return 0, fmt.Errorf("climb at its bottom line %d is not the caller of the innermost frame", rec.Bottom)
			}
		case f.Function == "climb":
			if f.Line < rec.ClimbFirst || f.Line > rec.Recurse {
				return 0, fmt.Errorf("innermost climb at line %d, outside climb", f.Line)
			}
		case f.Function == "settle" && inner:
			if f.Line < rec.SettleFirst || f.Line > rec.SettleEnd {
				return 0, fmt.Errorf("settle at line %d, outside settle", f.Line)
			}
			if climbs != rec.Depth+1 || frames[1].Line != rec.Bottom {
				return 0, fmt.Errorf("settle called from %d climb frames (want %d, the last at line %d)", climbs, rec.Depth+1, rec.Bottom)
			}
		default:
			return 0, fmt.Errorf("frame %d from the outside is %s at line %d", n-i, f.Function, f.Line)
		}
		if f := frames[i]; f.Function == "climb" {
			climbs++
		}
	}
	if climbs > rec.Depth+1 {
		return 0, fmt.Errorf("%d climb frames, more than %d", climbs, rec.Depth+1)
	}
	return climbs, nil
}

func frameList(frames []snapshot.Frame) string {
	var b strings.Builder
	for _, f := range frames {
		fmt.Fprintf(&b, "  %s:%d %s (%s)\n", f.Function, f.Line, f.File, f.Addr)
	}
	return b.String()
}
