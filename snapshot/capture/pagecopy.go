package capture

import (
	"bytes"
	"runtime"
	"sync/atomic"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
)

// copyBatch is how many pages a part of the copy reads into its scratch
// buffer at a time, at most.
const copyBatch = 128

// pageCopy copies the working set while the target is stopped, comparing
// each page with what the first decode read. An equal page is kept as that
// one; only a changed page takes memory of its own (fresh memory costs a
// page fault per page). The copy is the larger part of the pause, and the
// stopped target leaves every CPU free, so it runs on as many goroutines as
// there are CPUs, up to two (more gain little on a working set of about a
// thousand pages and cost a thread start each).
//
// The goroutines take the batches in turn, each the next one left, rather
// than half the pages each: the second often began only as the first ended,
// its thread woken late (102 threads under 3.12, 4 runs of 8), and the copy
// then took twice as long, about 1.3 ms of a 2.5 ms pause. A goroutine that
// begins once every batch is taken does nothing, and nothing waits for it.
type pageCopy struct {
	pages   []uint64 // sorted
	batch   int      // pages a batch, at most copyBatch
	seen    map[uint64][]byte
	kept    [][]byte // by index into pages: the page as copied, nil if unreadable
	workers []copyWorker
	changed []bool       // by batch: some page differs from what the first decode read
	next    atomic.Int64 // the next batch to take
	left    atomic.Int64 // batches not yet copied
	done    chan struct{}
}

// copyWorker is what one goroutine copies through.
type copyWorker struct {
	scratch []byte // faulted in before the stop
}

// newPageCopy prepares the copy of pages, seen as the first decode read
// them. Its scratch buffers are carved from spare (the reader's read-ahead
// memory, resident already), in batches smaller than copyBatch when that
// lets every goroutine have one, else allocated and faulted in now, before
// the stop. Fresh scratch costs twice: its pages fault in before the stop,
// and the kernel's first copy into each, inside the pause, costs again on a
// virtual machine that pages the guest through shadow page tables (about 6
// us a page where a copy into memory it wrote before costs 1). Half as many
// pages a batch costs a system call more per batch, about a microsecond.
func newPageCopy(pages []uint64, seen map[uint64][]byte, spare []byte) *pageCopy {
	n := 1
	if runtime.GOMAXPROCS(0) > 1 && len(pages) >= 2*copyBatch {
		n = 2
	}
	batch := copyBatch
	if fit := len(spare) / cpython.PageSize / n; fit >= minCopyBatch {
		batch = min(batch, fit)
	}
	batches := (len(pages) + batch - 1) / batch
	c := &pageCopy{pages: pages, seen: seen, kept: make([][]byte, len(pages)), batch: batch,
		changed: make([]bool, batches), done: make(chan struct{})}
	c.left.Store(int64(batches))
	if batches == 0 {
		close(c.done)
	}
	size := min(len(pages), batch) * cpython.PageSize
	for range n {
		var scratch []byte
		if len(spare) >= size {
			scratch, spare = spare[:size:size], spare[size:]
		} else {
			scratch = make([]byte, size)
			for j := 0; j < len(scratch); j += cpython.PageSize {
				scratch[j] = 1
			}
		}
		c.workers = append(c.workers, copyWorker{scratch: scratch})
	}
	return c
}

// minCopyBatch is the fewest pages a batch is cut to so that spare serves
// every goroutine (newPageCopy).
const minCopyBatch = 32

// run copies every page from the stopped target t and says whether each
// equals what the first decode read.
func (c *pageCopy) run(t Stopped) bool {
	for i := 1; i < len(c.workers); i++ {
		go c.work(t, &c.workers[i])
	}
	c.work(t, &c.workers[0])
	<-c.done
	for _, ch := range c.changed {
		if ch {
			return false
		}
	}
	return true
}

// work copies the batches no goroutine has taken yet, one at a time. Whoever
// copies the last batch closes done.
func (c *pageCopy) work(t Stopped, w *copyWorker) {
	for {
		b := int(c.next.Add(1) - 1)
		from := b * c.batch
		if from >= len(c.pages) {
			return
		}
		c.changed[b] = !c.copyBatch(t, w, from, min(from+c.batch, len(c.pages)))
		if c.left.Add(-1) == 0 {
			close(c.done)
		}
	}
}

// copyBatch copies pages[from:to] (at most c.batch) through the worker's
// scratch buffer and says whether each page equals what the first decode
// read.
func (c *pageCopy) copyBatch(t Stopped, w *copyWorker, from, to int) (same bool) {
	same = true
	runs := pageRuns(c.pages[from:to], w.scratch)
	t.ReadBatch(runs)
	var retry []live.Request
	var at []int // the page index of each retry
	i := from
	for _, r := range runs {
		if r.N == len(r.Buf) {
			for off := 0; off < len(r.Buf); off += cpython.PageSize {
				same = c.keep(i, r.Buf[off:off+cpython.PageSize]) && same
				i++
			}
			continue
		}
		// Some page of the run is unreadable now: read its pages one by one.
		for off := 0; off < len(r.Buf); off += cpython.PageSize {
			retry = append(retry, live.Request{Addr: r.Addr + uint64(off), Buf: r.Buf[off : off+cpython.PageSize]})
			at = append(at, i)
			i++
		}
	}
	if len(retry) == 0 {
		return same
	}
	t.ReadBatch(retry)
	for k, r := range retry {
		if r.N == len(r.Buf) {
			same = c.keep(at[k], r.Buf) && same
		} else {
			same = false // readable before, not now
		}
	}
	return same
}

// keep records page i, read into pg (scratch), and says whether it equals
// what the first decode read.
func (c *pageCopy) keep(i int, pg []byte) bool {
	if old, ok := c.seen[c.pages[i]]; ok && bytes.Equal(pg, old) {
		c.kept[i] = old
		return true
	}
	c.kept[i] = bytes.Clone(pg)
	return false
}
