package main

import (
	"fmt"
	"strconv"
)

// A stack that recursed until it overflowed, or until the recursion limit,
// repeats the same few frames thousands of times: a --native stack of a
// thread whose 8 MiB stack overflowed is some 100,000 lines. The text
// shows the first cycles of such a run and one line for the rest, as a
// Python traceback says "[Previous line repeated 996 more times]"; JSON
// keeps every frame. Only long runs are cut (minElided frames): a stack a
// person reads frame by frame, or compares with py-bt's, stays whole.

// maxPeriod is the longest cycle of frames looked for: a recursion through
// C code repeats some 4-10 native frames a Python call.
const maxPeriod = 24

// minElided is the fewest frames a cut hides.
const minElided = 200

// cycleAt finds the run of repeated cycles that starts at frame i of n:
// the cycle's length and how many times it occurs in a row (1: no run).
// same(a, b) says frames a and b show the same. Of the periods that repeat,
// the one covering the most frames wins, the shortest on a tie.
func cycleAt(i, n int, same func(a, b int) bool) (period, cycles int) {
	period, cycles = 1, 1
	best := 0
	for p := 1; p <= maxPeriod && i+2*p <= n; p++ {
		k := 0 // frames past the first cycle that repeat it
		for i+p+k < n && same(i+k%p, i+p+k) {
			k++
		}
		if c := 1 + k/p; c > 1 && c*p > best {
			best, period, cycles = c*p, p, c
		}
	}
	return period, cycles
}

// elision says, for the run at frame i, how many frames to show (the
// first cycles, at least three frames) and how many to cut after them; 0
// cut when the run is too short to cut.
func elision(i, n int, same func(a, b int) bool) (period, show, cut int) {
	p, c := cycleAt(i, n, same)
	keep := max(1, (3+p-1)/p)
	if c <= keep || (c-keep)*p < minElided {
		return p, 0, 0
	}
	return p, keep * p, (c - keep) * p
}

// appendElided appends the line that stands for cut frames, repeats of the
// period frames above; first is the index of the first one cut ("#" for
// native frames, "" for Python frames, which have no numbers).
func appendElided(b []byte, indent string, period, cut, first int, numbered bool) []byte {
	b = append(b, indent...)
	b = append(b, "[the "...)
	if period == 1 {
		b = append(b, "frame above repeated "...)
	} else {
		b = strconv.AppendInt(b, int64(period), 10)
		b = append(b, " frames above repeated "...)
	}
	b = strconv.AppendInt(b, int64(cut/period), 10)
	b = append(b, " more times"...)
	if numbered {
		b = fmt.Appendf(b, ", #%d to #%d", first, first+cut-1)
	}
	b = append(b, "; --format json lists every frame]\n"...)
	return b
}
