package cpython

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Target memory is hostile input, and bounds kept apart multiply: a thread
// list that loops through many thread states, each with a frame chain that
// loops up to its bound, each frame with thousands of locals, each local a
// container that holds itself. So one snapshot read has one budget, and
// everything is drawn from it: every read of target memory (from the page
// cache or not, the heap scan included), and every frame, local, object,
// item and string pyhang keeps. When it runs out, every further read fails
// with errBudget and the snapshot ends there, with a warning that says so.
//
// The unit is the byte: a read costs what it reads, a page cached or a
// thing kept about what it costs to hold (here and in the model built from
// it). Measured on the largest test process (testprogs/parked.py, 202
// threads 100 frames deep: 48,085 frames, 172,761 locals, CPython 3.12), a
// snapshot costs 56 MiB, 65 MiB with every local's repr, and pyhang
// allocates about 1.4 times that in the pass. The budget holds four such
// processes; a hostile image makes pyhang allocate little more than it
// (FuzzProcess checks a bound of twice the budget).
const readBudget = 256 << 20

// Costs of the things kept, in bytes.
const (
	costThread = 1024 // ThreadState, its place in the loop check, the model's thread
	costFrame  = 512  // Frame and the model's frame
	costVar    = 64   // one local: name and value, the model's locals and refs
	costItem   = 32   // one dict item or sequence slot kept
	costObject = 512  // one decoded object of interest
)

// scanReserve is what the heap scan leaves in the budget, to decode the lock
// it finds and finish the snapshot.
const scanReserve = 4 << 20

// errBudget ends a snapshot read that has spent its budget.
var errBudget = errors.New("the snapshot's read budget is spent")

// budget is what is left of one snapshot read's budget. Readers that decode
// one snapshot at once (Process.Fork) share it through a pool: each draws
// from the pool a slice at a time, so that a read charges its own reader
// and no other CPU's cache line, and what was drawn and not spent goes back
// to the pool (join).
type budget struct {
	left  int64
	spent bool          // it ran out: sticky
	pool  *atomic.Int64 // shared with the other readers, nil when alone
}

func newBudget() budget { return budget{left: readBudget} }

// budgetSlice is what a reader that shares its budget draws from the pool at
// a time: small beside the budget, large beside what one thread's decode
// spends (about 300 KiB for 120 frames).
const budgetSlice = 1 << 20

// spend takes n bytes from the budget; it fails once the budget is spent.
func (b *budget) spend(n int) error {
	if b.spent {
		return errBudget
	}
	b.left -= int64(n)
	if b.left < 0 && !b.draw() {
		b.spent = true
		return errBudget
	}
	return nil
}

// draw takes a slice from the pool, enough to cover what left is short
// of, and says whether it did.
func (b *budget) draw() bool {
	if b.pool == nil {
		return false
	}
	want := max(budgetSlice, -b.left)
	if b.pool.Add(-want) < 0 {
		return false // the pool stays below zero: every later draw fails too
	}
	b.left += want
	return true
}

// share turns b into a pool shared with the budget it returns, each
// drawing from it as they spend.
func (b *budget) share() budget {
	if b.pool == nil {
		b.pool = new(atomic.Int64)
		b.pool.Store(max(b.left, 0))
		b.left = 0
	}
	return budget{spent: b.spent, pool: b.pool}
}

// join takes o, a budget that shared b's pool and is spent with no longer,
// back into b: what o drew and did not spend, and what is left in the pool.
// A budget that ran out in either stays spent.
func (b *budget) join(o budget) {
	b.spent = b.spent || o.spent
	if b.pool == nil {
		return
	}
	b.left += max(o.left, 0) + max(b.pool.Load(), 0)
	b.pool = nil
}

// budgetWarning says that a snapshot was cut short, and why.
func budgetWarning() string {
	return fmt.Sprintf("snapshot cut short: reading it took more than its budget of %d MiB "+
		"(threads, frames, objects and bytes read from the target); the memory is corrupt or the process is "+
		"unusually large, and what was not read by then is missing", readBudget>>20)
}
