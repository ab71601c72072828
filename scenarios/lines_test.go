package scenarios

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/pyhang/pyhang/internal/testinterp"
)

// backJumpDumps is how many dumps TestLineAtBackJump takes of each interpreter.
const backJumpDumps = 5

// TestLineAtBackJump dumps busy_loops.py (live, then from a gcore), whose two threads spin in a `for` loop with a
// body that calls nothing: the thread that waits for the GIL waits at the jump back to the
// loop's head, which on 3.11 has no line of its own. Every frame must have a line (never
// -1); the spinners' lines must be the loop's or its body's; a line found for an
// instruction without one must be said so, and at a back-jump it must be the loop's. On
// 3.11 at least one dump must show it: each dump has a thread waiting for the GIL.
func TestLineAtBackJump(t *testing.T) {
	for _, in := range testinterp.All(t) {
		t.Run(in.Name, func(t *testing.T) {
			p := startProgram(t, in, "busy_loops.py")
			var want struct {
				Expect struct {
					LoopLine int `json:"loop_line"`
					BodyLine int `json:"body_line"`
				} `json:"expect"`
			}
			if err := json.Unmarshal(p.raw, &want); err != nil {
				t.Fatal(err)
			}
			loopHeads := 0
			targets := []string{}
			for i := 0; i < backJumpDumps; i++ {
				targets = append(targets, strconv.Itoa(p.PID))
			}
			if holes := unreadableChunks(t, p.PID); len(holes) == 0 {
				targets = append(targets, testinterp.Gcore(t, p.PID))
			} else {
				t.Logf("no gcore: %d unreadable 1 MiB chunks (guard pages) would be zeroed by gdb", len(holes))
			}
			for i, target := range targets {
				s, _ := dumpJSON(t, target)
				for _, th := range s.Threads {
					for k, f := range th.Frames {
						if f.Line <= 0 {
							t.Errorf("dump %d: thread %q frame %d (%s) has line %d", i, th.Name, k, f.Qualname, f.Line)
						}
						if f.Function != "spin" {
							continue
						}
						if f.Line != want.Expect.LoopLine && f.Line != want.Expect.BodyLine {
							t.Errorf("dump %d: %q at line %d (%s), want the loop's %d or its body's %d",
								i, th.Name, f.Line, f.LineBasis, want.Expect.LoopLine, want.Expect.BodyLine)
						}
						switch f.LineBasis {
						case "":
						case "loop-head":
							loopHeads++
							if f.Line != want.Expect.LoopLine {
								t.Errorf("dump %d: %q at a back-jump: line %d, want the loop's %d", i, th.Name, f.Line, want.Expect.LoopLine)
							}
						default:
							t.Errorf("dump %d: %q at line %d, basis %q: want CPython's own line or the loop's head", i, th.Name, f.Line, f.LineBasis)
						}
					}
				}
			}
			if in.Minor == 11 && loopHeads == 0 {
				t.Errorf("no thread found waiting at the loop's back-jump in %d dumps of 3.11", len(targets))
			}
			t.Logf("%s: %d dumps (%d live), %d spinner frames at a back-jump without a line of their own (reported at the loop's line)",
				in.Name, len(targets), backJumpDumps, loopHeads)
		})
	}
}
