package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/snapshot"
)

// TestCycleAt finds the run of repeated cycles at a frame: the period that
// covers the most frames, the shortest on a tie.
func TestCycleAt(t *testing.T) {
	for _, c := range []struct {
		keys           string
		at             int
		period, cycles int
	}{
		{"xabababy", 1, 2, 3},
		{"xaaaay", 1, 1, 4},
		{"abcabcabcab", 0, 3, 3},
		{"abcd", 0, 1, 1},
		{"", 0, 1, 1},
	} {
		same := func(a, b int) bool { return c.keys[a] == c.keys[b] }
		if p, n := newRepeats(len(c.keys), same).cycleAt(c.at); p != c.period || n != c.cycles {
			t.Errorf("%q at %d: period %d, %d cycles; want %d, %d", c.keys, c.at, p, n, c.period, c.cycles)
		}
	}
}

// TestRunsRemembered: what repeats learns while walking one run gives, at
// every frame and in any order of asking, the run a plain walk finds.
func TestRunsRemembered(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		keys := make([]byte, rng.IntN(90))
		alphabet := 1 + rng.IntN(3)
		for i := range keys {
			keys[i] = byte('a' + rng.IntN(alphabet))
		}
		same := func(a, b int) bool { return keys[a] == keys[b] }
		r := newRepeats(len(keys), same)
		for _, i := range rng.Perm(len(keys)) {
			for p := 1; p <= maxPeriod && i+p < len(keys); p++ {
				want := 0
				for i+p+want < len(keys) && same(i+want, i+p+want) {
					want++
				}
				if got := r.run(p, i); got != want {
					t.Fatalf("%q: run of period %d at %d is %d, want %d", keys, p, i, got, want)
				}
			}
		}
	}
}

// TestRepeatsLinear: laying out a whole stack compares each frame with a
// bounded number of others, whether its runs are cut (one long recursion)
// or too short to cut (runs of 150 frames between distinct frames), where
// walking each run at every frame made the work grow with the square of
// the run.
func TestRepeatsLinear(t *testing.T) {
	for _, c := range []struct {
		name string
		key  func(i int) int
	}{
		{"one recursion", func(i int) int { return i % 6 }},
		{"short runs", func(i int) int {
			if i%151 == 150 {
				return 100 + i
			}
			return i % 6
		}},
	} {
		const n = 3000
		calls := 0
		same := func(a, b int) bool { calls++; return c.key(a) == c.key(b) }
		reps := stackRepeats(n, same)
		for i := 0; i < n; {
			_, show, cut := reps.elision(i)
			i += max(show, 1) + cut
		}
		if limit := 2 * maxPeriod * n; calls > limit {
			t.Errorf("%s: %d comparisons for %d frames, want at most %d", c.name, calls, n, limit)
		}
	}
}

// TestElidedNative: a native stack that recursed 300 times through the same
// four frames shows its first cycle and one line for the rest, numbered;
// one that recursed 20 times is shown whole.
func TestElidedNative(t *testing.T) {
	th := func(depth int) *snapshot.Thread {
		th := &snapshot.Thread{TID: 1, Native: []snapshot.NativeFrame{{PC: 0x10, Symbol: "crash", Module: "m"}}}
		for range depth {
			for k := range 4 {
				th.Native = append(th.Native, snapshot.NativeFrame{PC: snapshot.Addr(0x100 + k), Symbol: "f", Module: "m"})
			}
			at := len(th.Native) - 1
			th.Frames = append(th.Frames, snapshot.Frame{Function: "descend", File: "/p.py", Line: 7, Native: &at})
		}
		th.Native = append(th.Native, snapshot.NativeFrame{PC: 0x20, Symbol: "start_thread", Module: "libc"})
		return th
	}
	var b bytes.Buffer
	writeMixedStack(&b, th(300))
	out := b.String()
	if n := strings.Count(out, "\n"); n > 20 {
		t.Errorf("%d lines for 300 cycles, want the first ones and one for the rest\n%s", n, out)
	}
	if !strings.Contains(out, "[the 4 frames above repeated 299 more times, #5 to #1200; --format json lists every frame]") ||
		!strings.Contains(out, "#1201") || !strings.Contains(out, "start_thread") || !strings.Contains(out, "#0 ") {
		t.Errorf("the cut is not said as it should be\n%s", out)
	}
	// Python frames past a native stack that was cut are cut alike.
	deep := th(300)
	deep.Native = deep.Native[:9]
	b.Reset()
	writeMixedStack(&b, deep)
	if out := b.String(); !strings.Contains(out, "not placed") || !strings.Contains(out, "    [the frame above repeated 295 more times; --format json lists every frame]") {
		t.Errorf("the Python frames not placed are not cut\n%s", out)
	}
	b.Reset()
	writeMixedStack(&b, th(20))
	if out := b.String(); strings.Contains(out, "repeated") || strings.Count(out, "File \"/p.py\"") != 20 {
		t.Errorf("a short recursion was cut\n%s", out)
	}
}

// TestElidedTraceback: a Python stack 1000 frames deep in one function shows
// three of them and one line for the rest, then the frames outside the
// recursion; a frame with locals is never cut.
func TestElidedTraceback(t *testing.T) {
	th := &snapshot.Thread{TID: 1, State: snapshot.StateBlocked}
	for range 1000 {
		th.Frames = append(th.Frames, snapshot.Frame{Function: "recurse", File: "/p.py", Line: 3})
	}
	th.Frames = append(th.Frames, snapshot.Frame{Function: "<module>", File: "/p.py", Line: 9})
	var b bytes.Buffer
	writeThread(&b, th, nil)
	out := b.String()
	if strings.Count(out, "in recurse") != 3 || !strings.Contains(out, "[the frame above repeated 997 more times; --format json lists every frame]") ||
		!strings.Contains(out, "in <module>") {
		t.Errorf("the recursion is not cut as it should be\n%s", out)
	}
	th.Frames[500].Locals = map[string]string{"n": "500"}
	b.Reset()
	writeThread(&b, th, nil)
	if out := b.String(); !strings.Contains(out, "n = 500") || strings.Count(out, "repeated") != 2 {
		t.Errorf("a frame with locals was cut, or the frames about it were not\n%s", out)
	}
}

// BenchmarkWriteThread writes the text of a thread that recursed through
// six functions, 20 and 2,000 times: looking for runs to cut must not cost
// a walk down the run at every frame.
func BenchmarkWriteThread(b *testing.B) {
	for _, depth := range []int{20, 2000} {
		th := &snapshot.Thread{TID: 1, State: snapshot.StateBlocked}
		for range depth {
			for k := range 6 {
				th.Frames = append(th.Frames, snapshot.Frame{Function: "f" + strconv.Itoa(k), File: "/p.py", Line: 3 + k, Source: "g(x)"})
			}
		}
		b.Run(strconv.Itoa(len(th.Frames)), func(b *testing.B) {
			for b.Loop() {
				writeThread(io.Discard, th, nil)
			}
		})
	}
}
