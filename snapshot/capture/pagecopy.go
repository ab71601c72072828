package capture

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
)

// copyBatch is how many pages a part of the copy reads into its scratch
// buffer at a time.
const copyBatch = 128

// pageCopy copies the working set while the target is stopped, comparing
// each page with what the first decode read. An equal page is kept as that
// one; only a changed page takes memory of its own (fresh memory costs a
// page fault per page). The copy is the larger part of the pause, and the
// stopped target leaves every CPU free, so it runs in as many parts as
// there are CPUs, up to two (more gain little on a working set of about a
// thousand pages and cost a thread start each).
type pageCopy struct {
	pages []uint64 // sorted
	seen  map[uint64][]byte
	kept  [][]byte // by index into pages: the page as copied, nil if unreadable
	parts []copyPart
}

type copyPart struct {
	from, to int    // pages[from:to]
	scratch  []byte // faulted in before the stop
	same     bool   // every page equals what the first decode read
}

// newPageCopy prepares the copy of pages, seen as the first decode read
// them. Its scratch buffers are carved from spare (the reader's read-ahead
// memory, resident already) when spare is big enough, else allocated and
// faulted in now, before the stop.
func newPageCopy(pages []uint64, seen map[uint64][]byte, spare []byte) *pageCopy {
	c := &pageCopy{pages: pages, seen: seen, kept: make([][]byte, len(pages))}
	n := 1
	if runtime.GOMAXPROCS(0) > 1 && len(pages) >= 2*copyBatch {
		n = 2
	}
	for i := 0; i < n; i++ {
		from, to := i*len(pages)/n, (i+1)*len(pages)/n
		size := min(to-from, copyBatch) * cpython.PageSize
		var scratch []byte
		if len(spare) >= size {
			scratch, spare = spare[:size:size], spare[size:]
		} else {
			scratch = make([]byte, size)
			for j := 0; j < len(scratch); j += cpython.PageSize {
				scratch[j] = 1
			}
		}
		c.parts = append(c.parts, copyPart{from: from, to: to, scratch: scratch, same: true})
	}
	return c
}

// run copies every page from the stopped target t and says whether each
// equals what the first decode read.
func (c *pageCopy) run(t Stopped) bool {
	var wg sync.WaitGroup
	for i := 1; i < len(c.parts); i++ {
		wg.Add(1)
		go func(part *copyPart) {
			defer wg.Done()
			c.copyPart(t, part)
		}(&c.parts[i])
	}
	c.copyPart(t, &c.parts[0])
	wg.Wait()
	same := true
	for _, part := range c.parts {
		same = same && part.same
	}
	return same
}

func (c *pageCopy) copyPart(t Stopped, part *copyPart) {
	for i := part.from; i < part.to; i += copyBatch {
		c.copyBatch(t, part, i, min(i+copyBatch, part.to))
	}
}

// copyBatch copies pages[from:to] (at most copyBatch) through the part's
// scratch buffer.
func (c *pageCopy) copyBatch(t Stopped, part *copyPart, from, to int) {
	runs := pageRuns(c.pages[from:to], part.scratch)
	t.ReadBatch(runs)
	var retry []live.Request
	var at []int // the page index of each retry
	i := from
	for _, r := range runs {
		if r.N == len(r.Buf) {
			for off := 0; off < len(r.Buf); off += cpython.PageSize {
				c.keep(part, i, r.Buf[off:off+cpython.PageSize])
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
		return
	}
	t.ReadBatch(retry)
	for k, r := range retry {
		if r.N == len(r.Buf) {
			c.keep(part, at[k], r.Buf)
		} else {
			part.same = false // readable before, not now
		}
	}
}

// keep records page i, read into pg (scratch).
func (c *pageCopy) keep(part *copyPart, i int, pg []byte) {
	if old, ok := c.seen[c.pages[i]]; ok && bytes.Equal(pg, old) {
		c.kept[i] = old
		return
	}
	part.same = false
	c.kept[i] = bytes.Clone(pg)
}
