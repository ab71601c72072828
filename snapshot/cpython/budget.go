package cpython

import (
	"errors"
	"fmt"
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

// budget is what is left of one snapshot read's budget.
type budget struct {
	left  int64
	spent bool // it ran out: sticky
}

func newBudget() budget { return budget{left: readBudget} }

// spend takes n bytes from the budget; it fails once the budget is spent.
func (b *budget) spend(n int) error {
	if b.spent {
		return errBudget
	}
	b.left -= int64(n)
	if b.left < 0 {
		b.spent = true
		return errBudget
	}
	return nil
}

// budgetWarning says that a snapshot was cut short, and why.
func budgetWarning() string {
	return fmt.Sprintf("snapshot cut short: reading it took more than its budget of %d MiB "+
		"(threads, frames, objects and bytes read from the target); the memory is corrupt or the process is "+
		"unusually large, and what was not read by then is missing", readBudget>>20)
}
