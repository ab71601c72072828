package cpython

import (
	"errors"
	"strings"
	"testing"
)

// TestBudgetSpentWarns: a snapshot cut by the budget says so once, is
// incomplete, keeps no frame past the cut, and answers every later question
// at no cost.
func TestBudgetSpentWarns(t *testing.T) {
	l, _ := LayoutFor(12)
	p := fuzzProcess(l, cyclicImage(l, shape{loopInterps: true, threads: imgMaxThreads, locals: maxLocals}), true)
	ts, err := p.Threads()
	if !errors.Is(err, errBudget) {
		t.Fatalf("Threads: %v, want the budget's error", err)
	}
	frames := 0
	for _, th := range ts {
		frames += len(th.Frames)
	}
	// A frame with maxLocals locals costs more than its charge alone.
	if most := readBudget / (costFrame + costVar*maxLocals); frames > most {
		t.Errorf("%d frames kept, the budget pays for %d at most", frames, most)
	}
	warned := 0
	for _, w := range p.Warnings() {
		if strings.HasPrefix(w, "snapshot cut short") {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%d budget warnings in %q", warned, p.Warnings())
	}
	// The snapshot is incomplete: the budget is what it lacks, once.
	if m := p.Missing(); len(m) != 1 || m[0] != budgetWarning() {
		t.Errorf("missing: %q", m)
	}
	if r := p.Repr(fuzzBase + imgList); r != reprNotRead {
		t.Errorf("repr after the budget: %q", r)
	}
	reads := p.Reads()
	readAll(p)
	if p.Reads() != reads {
		t.Errorf("%d reads of the target after the budget was spent", p.Reads()-reads)
	}
	t.Logf("%d threads, %d frames; %s", len(ts), frames, p.Warnings()[len(p.Warnings())-1])
}
