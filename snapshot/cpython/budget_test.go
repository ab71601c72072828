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

// TestBudgetShared: two readers of one snapshot (Process.Fork) spend one
// budget between them, at the same time: together they never spend more
// than it, both fail once it is spent, and what they drew and did not spend
// is the budget's again once joined.
func TestBudgetShared(t *testing.T) {
	a := newBudget()
	b := a.share()
	const n = 4096 // bytes a read costs here
	spent := make(chan int64, 2)
	for _, bg := range []*budget{&a, &b} {
		go func() {
			var s int64
			for bg.spend(n) == nil {
				s += n
			}
			if bg.spend(1) == nil {
				t.Error("a spent share spends again")
			}
			spent <- s
		}()
	}
	total := <-spent + <-spent
	if total > readBudget || total < readBudget-2*budgetSlice {
		t.Errorf("the two spent %d bytes together; the budget is %d", total, readBudget)
	}
	a.join(b)
	if !a.spent || a.pool != nil {
		t.Errorf("joined after both ran out: spent %v, pool %v", a.spent, a.pool)
	}

	// Joined before either ran out: what is left is the budget less what
	// both spent, and spending goes on from it alone.
	a = newBudget()
	b = a.share()
	a.spend(3 << 20)
	b.spend(5 << 20)
	a.join(b)
	if a.spent || a.left != readBudget-8<<20 {
		t.Errorf("left %d (spent %v), want %d", a.left, a.spent, readBudget-8<<20)
	}
	if a.spend(int(a.left)) != nil || a.spend(1) == nil {
		t.Error("the joined budget does not end where the budget does")
	}
}
