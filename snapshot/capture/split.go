package capture

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
)

// A snapshot's decode reads every thread's frames, one pointer after
// another: most of a dump's time on a process of many threads. Two goroutines decode them at once, p and a fork
// of it with a reader of its own (cpython.Process.Fork), each taking the
// next few threads not taken yet until none are left. What each decoded goes
// into the thread's own place, so the snapshot is the same whichever
// decoded which; their objects are merged by address, and their pages are
// the working set the pause copies (cpython.Process.Join).
//
// The fork runs on the helper (helper.go), which holds the other CPU, once
// the side work (ahead.go) is done: a goroutine of its own began later, when
// the scheduler preempted the helper. The fork leaves the helper's own work
// (making the heap resident, helper.pace) until it is done: a huge page
// made resident between two of its batches kept the decode waiting for
// its last batch up to 4 ms.
//
// 102 threads of 121 frames under 3.12: the decode took 15 ms on one
// goroutine, 12.5-14 on two; a dump 33.0 ms against 36.6 (median of 41
// runs in turns). From a gcore of it, where the helper has no side work to
// do first, 29.0 ms against 32.1. A live snapshot decoded again from its
// stopped copy (frozen.go) is decoded on one goroutine: the copy takes in
// the pages it lacks as they are asked for.

// sideRunner runs work beside the snapshot's own goroutine: the helper.
type sideRunner interface{ do(func()) }

// shareBatch is how many threads a decoder takes at a time: their frame
// chains' first pages are read ahead together (PrefetchThreads).
const shareBatch = 8

// forkLeast is how many threads must be left for the fork to take a batch,
// and the fewest a decode is split for. The fork begins once the side work
// is done, 5 ms in on 100 threads, and its caches are cold: a batch it took
// near the end kept p waiting. 27 threads of 50 frames under 3.12, a dump
// split for 8 threads and more took 1 ms longer than none (21.2 ms against
// 20.1), split so 19.4 (median of 41 runs in turns).
const forkLeast = 2 * shareBatch

// threadShare is the threads of one decode, and what was decoded of each.
type threadShare struct {
	refs      []cpython.ThreadRef
	next      atomic.Int64 // the first thread not taken yet
	mainIdent uint64
	globals   globalNames // module dicts whose objects were named
	tstates   []cpython.ThreadState
	threads   []snapshot.Thread
	errs      []error
}

func newThreadShare(refs []cpython.ThreadRef, mainIdent uint64) *threadShare {
	return &threadShare{refs: refs, mainIdent: mainIdent, tstates: make([]cpython.ThreadState, len(refs)),
		threads: make([]snapshot.Thread, len(refs)), errs: make([]error, len(refs))}
}

// firstErr cuts the threads at the first whose state could not be read, as
// a decode of one thread after another stops there, and returns its error.
func (sh *threadShare) firstErr() error {
	for i, err := range sh.errs {
		if err != nil {
			sh.tstates, sh.threads = sh.tstates[:i], sh.threads[:i]
			return err
		}
	}
	return nil
}

// decodeShare decodes threads of sh, batch at a time, while at least
// least threads are left to take (at least one), and returns how many it
// decoded.
func (b *memBuilder) decodeShare(sh *threadShare, batch, least int) (n int) {
	for {
		i, ok := sh.take(batch, max(least, 1))
		if !ok {
			return n
		}
		refs := sh.refs[i:min(i+batch, len(sh.refs))]
		n += len(refs)
		b.p.PrefetchThreads(refs)
		for j, ref := range refs {
			k := i + j
			sh.tstates[k], sh.errs[k] = b.p.ThreadEach(ref, func(ts *cpython.ThreadState) {
				sh.threads[k] = b.thread(ts, sh)
			})
		}
	}
}

// take takes the next batch threads, when at least least are left, and
// returns the first one's index.
func (sh *threadShare) take(batch, least int) (int, bool) {
	for {
		i := sh.next.Load()
		if len(sh.refs)-int(i) < least {
			return 0, false
		}
		if sh.next.CompareAndSwap(i, i+int64(batch)) {
			return int(i), true
		}
	}
}

// decodeSplit decodes the threads of sh in two: on this goroutine through
// b, and on side through a fork of b's process, then merges the two.
func (b *memBuilder) decodeSplit(sh *threadShare, side sideRunner) {
	q := b.p.Fork()
	mark := b.p.Notes()
	other := &memBuilder{p: q, opts: b.opts, d: &decoded{objs: q.NewObjects(), threadObjs: b.d.threadObjs}}
	done := make(chan struct{})
	side.do(func() {
		defer close(done)
		b.d.forked = other.decodeShare(sh, shareBatch, forkLeast)
	})
	b.decodeShare(sh, shareBatch, 1)
	<-done
	b.p.Join(q, mark)
	b.d.objs.Merge(other.d.objs)
	// In one order whichever decoder met them: looking twice gives the
	// same answer.
	b.d.missing = append(b.d.missing, other.d.missing...)
	slices.Sort(b.d.missing)
	for id := range other.d.withHeld {
		if b.d.withHeld == nil {
			b.d.withHeld = map[string]bool{}
		}
		b.d.withHeld[id] = true
	}
}

// claims is a set that decoders share: the first to claim a key does the
// work for it.
type claims[K comparable] struct {
	mu   sync.Mutex
	seen map[K]bool
}

// claim says whether k is claimed now, for the first time.
func (c *claims[K]) claim(k K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[k] {
		return false
	}
	if c.seen == nil {
		c.seen = map[K]bool{}
	}
	c.seen[k] = true
	return true
}

// size is how many keys were claimed.
func (c *claims[K]) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
