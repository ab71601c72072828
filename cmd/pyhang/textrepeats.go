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

// repeats finds the runs of repeated cycles in a stack of n frames. For a
// period p it learns, at frame j, for how many frames from j on each frame
// shows the same as the one p frames further (same(j+k, j+k+p)), and keeps
// what it learns at every frame it walked: looking for a run at each frame
// of a stack then walks each run once, not once a frame. (Walking it at
// every frame made the text of 102 threads 120 frames deep take 20 ms.)
// same must be an equivalence: then frames j+k and j+k%p show the same
// wherever the run holds, as a cycle's repeats must.
type repeats struct {
	n    int
	same func(a, b int) bool
	runs [maxPeriod][]int32 // runs[p-1][j]: 1 + the run at j, once known; 0 before
}

// stackRepeats is the repeats of a stack of n frames, or nil when the stack
// is too short for any cut: a run must leave out minElided frames after
// the three or more it shows.
func stackRepeats(n int, same func(a, b int) bool) *repeats {
	if n < minElided+3 {
		return nil
	}
	return newRepeats(n, same)
}

func newRepeats(n int, same func(a, b int) bool) *repeats {
	return &repeats{n: n, same: same}
}

// run is for how many frames from frame j on each frame shows the same as
// the one p frames further; j+p < n.
func (r *repeats) run(p, j int) int {
	known := r.runs[p-1]
	if known == nil {
		// Most periods never repeat in a stack: a period's memory is
		// taken once a run of it begins.
		if !r.same(j, j+p) {
			return 0
		}
		known = make([]int32, r.n-p)
		r.runs[p-1] = known
	}
	// Walk to a frame whose run is known, or that differs, or to the end;
	// then fill in the runs of the frames walked.
	end := j
	for end < len(known) && known[end] == 0 {
		if !r.same(end, end+p) {
			known[end] = 1
			break
		}
		end++
	}
	var run int32 // at end
	if end < len(known) {
		run = known[end] - 1
	}
	for k := end - 1; k >= j; k-- {
		run++
		known[k] = run + 1
	}
	return int(known[j] - 1)
}

// cycleAt finds the run of repeated cycles that starts at frame i: the
// cycle's length and how many times it occurs in a row (1: no run). Of the
// periods that repeat, the one covering the most frames wins, the shortest
// on a tie.
func (r *repeats) cycleAt(i int) (period, cycles int) {
	period, cycles = 1, 1
	best := 0
	for p := 1; p <= maxPeriod && i+2*p <= r.n; p++ {
		k := r.run(p, i) // frames past the first cycle that repeat it
		if c := 1 + k/p; c > 1 && c*p > best {
			best, period, cycles = c*p, p, c
		}
	}
	return period, cycles
}

// elision says, for the run at frame i, how many frames to show (the
// first cycles, at least three frames) and how many to cut after them; 0
// cut when the run is too short to cut, or r is nil.
func (r *repeats) elision(i int) (period, show, cut int) {
	if r == nil {
		return 1, 0, 0
	}
	p, c := r.cycleAt(i)
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
