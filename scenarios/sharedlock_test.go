package scenarios

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// TestSharedLockChild runs mp_lock_child.py under every interpreter: a
// forked child waits for a multiprocessing.Lock its sleeping parent holds
// in a with block, whose frames the child's stack still shows. With
// --subprocesses, neither process has a finding: the child's copy of the
// parent's with block is no hold of the child's (no deadlock with itself),
// and its wait is for a lock another process may hold (another_process);
// the parent's with block holds the lock. Taken with a bare acquire()
// instead (--bare), the parent probably holds it, and the child's copy of
// the parent's frame after that acquire() is no hold of the child's either.
func TestSharedLockChild(t *testing.T) {
	for _, in := range testinterp.All(t) {
		for _, how := range []string{"with", "bare"} {
			t.Run(in.Name+"/"+how, func(t *testing.T) {
				var args []string
				if how == "bare" {
					args = []string{"--bare"}
				}
				p := startProgram(t, in, "mp_lock_child.py", args...)
				var want struct {
					Expect struct {
						Taker int `json:"taker"`
					} `json:"expect"`
				}
				if err := json.Unmarshal(p.raw, &want); err != nil || want.Expect.Taker == 0 {
					t.Fatalf("ready file: no taker pid (%v)", err)
				}
				r := runPyhang(t, "diagnose", strconv.Itoa(p.PID), "--subprocesses", "--format", "json")
				if r.code != 0 {
					t.Errorf("exit %d, want 0 (nothing wrong in either process)\n%v", r.code, r)
				}
				type report struct {
					Target struct {
						PID int `json:"pid"`
					} `json:"target"`
					Findings []finding `json:"findings"`
					Threads  []struct {
						Main      bool `json:"main"`
						WaitingOn *struct {
							ID             string `json:"id"`
							AnotherProcess bool   `json:"another_process"`
						} `json:"waiting_on"`
						Holds []struct {
							ID string `json:"id"`
						} `json:"holds"`
					} `json:"threads"`
					Objects map[string]struct {
						Names  []string `json:"names"`
						Shared bool     `json:"shared"`
					} `json:"objects"`
				}
				type processThread struct {
					PID    int `json:"pid"`
					Thread int `json:"thread"`
				}
				var fam struct {
					report
					Subprocesses []report `json:"subprocesses"`
					CrossWaits   []struct {
						PID   int `json:"pid"`
						Waits struct {
							Kind string `json:"kind"`
						} `json:"waits_for"`
						Processes []int           `json:"processes"`
						Probable  []processThread `json:"probably_held_by"`
					} `json:"cross_waits"`
				}
				if err := json.Unmarshal(r.stdout, &fam); err != nil {
					t.Fatalf("not a report: %v\n%v", err, r)
				}
				// The taker's wait across processes ends only through the
				// parent: proven by the with block, probably by acquire().
				crossed := false
				for _, c := range fam.CrossWaits {
					if c.PID != want.Expect.Taker || c.Waits.Kind != "shared-lock" {
						continue
					}
					crossed = true
					parent := []processThread{{fam.Target.PID, fam.Target.PID}}
					switch {
					case how == "with" && (!slices.Equal(c.Processes, []int{fam.Target.PID}) || len(c.Probable) != 0):
						t.Errorf("the taker's cross wait %+v, want it ended by pid %d alone", c, fam.Target.PID)
					case how == "bare" && (len(c.Processes) != 0 || !slices.Equal(c.Probable, parent)):
						t.Errorf("the taker's cross wait %+v, want it probably held by %+v only", c, parent)
					}
				}
				if !crossed {
					t.Errorf("no cross wait of the taker, pid %d, for a shared lock: %+v", want.Expect.Taker, fam.CrossWaits)
				}
				if len(fam.Findings) != 0 {
					t.Errorf("findings on the parent: %+v", fam.Findings)
				}
				held := ""
				for _, th := range fam.Threads {
					for _, h := range th.Holds {
						if ob := fam.Objects[h.ID]; ob.Shared {
							held = h.ID
						}
					}
				}
				if held == "" {
					t.Errorf("the parent holds no shared lock: %+v", fam.Threads)
				}
				var taker *report
				for i := range fam.Subprocesses {
					if fam.Subprocesses[i].Target.PID == want.Expect.Taker {
						taker = &fam.Subprocesses[i]
					}
				}
				if taker == nil {
					t.Fatalf("no report of the taker, pid %d", want.Expect.Taker)
				}
				if len(taker.Findings) != 0 {
					t.Errorf("findings on the taker: %+v", taker.Findings)
				}
				for _, th := range taker.Threads {
					if !th.Main {
						continue
					}
					if len(th.Holds) != 0 {
						t.Errorf("the taker holds %+v: the with block its stack shows is its parent's", th.Holds)
					}
					if w := th.WaitingOn; w == nil || !w.AnotherProcess || !taker.Objects[w.ID].Shared {
						t.Errorf("the taker's wait: %+v, want a shared lock another process may hold", w)
					}
				}
			})
		}
	}
}

// TestSharedLockSiblings runs mp_lock_siblings.py under every interpreter:
// two worker processes hold one multiprocessing lock each and wait for the
// other's. diagnose --subprocesses must find the deadlock across the two
// processes (shared_lock_deadlocks: each worker waits for the lock the
// other holds) and exit 3. (The workers leave a barrier just before they
// block: a look in that instant is taken again, at most twice.)
func TestSharedLockSiblings(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			p := startProgram(t, in, "mp_lock_siblings.py")
			var want struct {
				Expect struct {
					Workers []int `json:"workers"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &want); err != nil || len(want.Expect.Workers) != 2 {
				t.Fatalf("ready file: no two worker pids (%v)", err)
			}
			type step struct {
				PID    int  `json:"pid"`
				Thread int  `json:"thread"`
				Shared bool `json:"shared"`
			}
			var fam struct {
				Deadlocks []struct {
					Cycle []step `json:"cycle"`
				} `json:"shared_lock_deadlocks"`
			}
			var r result
			for look := 0; look < 3 && len(fam.Deadlocks) == 0; look++ {
				if look > 0 {
					t.Logf("no deadlock across processes in look %d; looking again", look)
					time.Sleep(200 * time.Millisecond)
				}
				r = runPyhang(t, "diagnose", strconv.Itoa(p.PID), "--subprocesses", "--format", "json")
				if err := json.Unmarshal(r.stdout, &fam); err != nil {
					t.Fatalf("not a report: %v\n%v", err, r)
				}
			}
			if len(fam.Deadlocks) != 1 || r.code != 3 {
				t.Fatalf("shared_lock_deadlocks %+v, exit %d; want one deadlock, exit 3\n%v", fam.Deadlocks, r.code, r)
			}
			var pids []int
			for _, st := range fam.Deadlocks[0].Cycle {
				pids = append(pids, st.PID)
				if !st.Shared {
					t.Errorf("step %+v: its wait is not for a shared lock another process holds", st)
				}
			}
			slices.Sort(pids)
			if wantPIDs := slices.Sorted(slices.Values(want.Expect.Workers)); !slices.Equal(pids, wantPIDs) {
				t.Errorf("the deadlock's processes %v, want the workers %v", pids, wantPIDs)
			}
			// The text says it first: no one process's report shows it.
			text := runPyhang(t, "diagnose", strconv.Itoa(p.PID), "--subprocesses")
			if first, _, _ := strings.Cut(string(text.stdout), "\n"); text.code != 3 || !strings.HasPrefix(first, "1 deadlock(s) across processes") {
				t.Errorf("the text's first line: %q (exit %d), want the deadlock across processes", first, text.code)
			}
		})
	}
}
