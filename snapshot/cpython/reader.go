package cpython

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/pyhang/pyhang/snapshot/target"
)

// PageSize is the unit in which target memory is read and cached.
const PageSize = 4096

const pageSize = PageSize

// maxCachedPages bounds the page cache (64 MiB).
const maxCachedPages = 16384

// reader reads target memory through a page cache: frames, code objects and
// their tables sit close together, so whole pages cut the number of reads (and
// so the time a live target stays paused) by an order of magnitude. Unreadable
// pages are remembered too, so a bad pointer costs one failed read. Every
// read, cached or not, is charged to the snapshot's budget (budget.go).
type reader struct {
	mem   target.Memory
	src   Pager             // mem, when it hands out whole pages itself
	pages map[uint64][]byte // nil slice = unreadable
	ahead map[uint64][]byte // pages read with a neighbour but not yet asked for, in ring
	// ring holds the blocks last read (aheadPages pages each), reused in
	// turn: of a block, only the page asked for is kept (copied to a page
	// of slab), and the others while their block is in the ring. A
	// snapshot reads a thousand blocks and asks for about half their pages.
	ring     [][]byte
	ringMem  []byte   // the memory of ring's blocks, in one piece
	ringBase []uint64 // the address of each block in ring
	ringNext int
	slab     []byte   // where pages are taken from, a batch at a time
	slabs    [][]byte // every batch, whole (release)
	stage    []byte   // what prefetch reads through, reused
	released bool     // release handed the memory over: nothing is read
	// recent holds pages lately looked up, by address bits: a decode
	// goes back and forth between a few pages (a frame's, its code's, a
	// local's type's), and a map lookup is a quarter of its time.
	recent [recentPages]recentPage
	reads  int
	budget budget
	// partial is set once a page read so far is no longer in pages (the
	// cache was cleared) or bytes were read around the cache.
	partial bool
}

// recentPages is how many pages reader.recent holds.
const recentPages = 64

// recentPage is a page of the cache (nil: none) and its address.
type recentPage struct {
	base uint64
	page []byte
}

// Pager is target memory that already holds whole pages (a copy of a stopped
// target): the reader takes its pages as they are, without copying them.
type Pager interface {
	// Page returns the page at base (page-aligned); the slice is not modified.
	Page(base uint64) ([]byte, bool)
}

func newReader(mem target.Memory) *reader {
	r := &reader{mem: mem, pages: make(map[uint64][]byte), budget: newBudget()}
	r.src, _ = mem.(Pager)
	return r
}

// spend charges n bytes to the budget. Once it is spent, every read fails
// with errBudget itself, unwrapped: the rest of the snapshot costs nothing
// but the calls.
func (r *reader) spend(n int) error {
	if r.released {
		return errReleased
	}
	return r.budget.spend(n)
}

// errReleased is what reading through a released reader fails with.
var errReleased = errors.New("reading after the snapshot's memory was handed over")

// release ends the reader's reading and returns the memory its pages and
// its read-ahead ring are kept in, for the caller to write over.
func (r *reader) release() [][]byte {
	out := r.slabs
	if r.ringMem != nil {
		out = append(out, r.ringMem)
	}
	if r.stage != nil {
		out = append(out, r.stage)
	}
	*r = reader{mem: r.mem, released: true, reads: r.reads, budget: r.budget, partial: r.partial}
	return out
}

func (r *reader) page(base uint64) ([]byte, bool) {
	e := &r.recent[(base/pageSize)%recentPages]
	if e.base == base && e.page != nil {
		return e.page, true
	}
	if p, ok := r.pages[base]; ok {
		if p != nil {
			e.base, e.page = base, p
		}
		return p, p != nil
	}
	if len(r.pages) >= maxCachedPages {
		clear(r.pages)
		r.recent = [recentPages]recentPage{}
		r.partial = true
	}
	if r.src != nil {
		if r.spend(pageSize) != nil {
			return nil, false
		}
		r.reads++
		p, ok := r.src.Page(base)
		if !ok {
			p = nil
		}
		r.pages[base] = p
		return p, ok
	}
	if r.spend(pageSize) != nil {
		return nil, false
	}
	if p, ok := r.ahead[base]; ok {
		delete(r.ahead, base)
		if !r.inRing(p) { // read ahead into memory of its own (prefetch)
			r.pages[base] = p
			return p, true
		}
		pg := r.freshPage()
		copy(pg, p)
		r.pages[base] = pg
		return pg, true
	}
	// The aligned block of aheadPages pages around base is read in one call
	// (a frame's neighbours, a code object's tables, are often in it); the
	// pages not asked for wait in ahead, outside pages (PageData), so that
	// only the pages the snapshot reads are copied in a pause.
	blk := base &^ (aheadPages*pageSize - 1)
	buf := r.nextBlock(blk)
	r.reads++
	var n int
	if ar, ok := r.mem.(target.AheadReader); ok {
		n, _ = ar.ReadAhead(buf, blk) // the page alone, below, counts
	} else {
		n, _ = r.mem.ReadAt(buf, blk)
	}
	pg := r.freshPage()
	if n < int(base-blk)+pageSize {
		// Part of the block is unreadable: read the page alone.
		if n, _ := r.mem.ReadAt(pg, base); n != pageSize {
			r.pages[base] = nil
			return nil, false
		}
		r.pages[base] = pg
		return pg, true
	}
	if r.ahead == nil {
		r.ahead = map[uint64][]byte{}
	}
	for off := 0; off+pageSize <= n; off += pageSize {
		a := blk + uint64(off)
		if a == base {
			copy(pg, buf[off:])
			r.pages[base] = pg
		} else if _, seen := r.pages[a]; !seen {
			r.ahead[a] = buf[off : off+pageSize : off+pageSize]
		}
	}
	return pg, true
}

// prefetch reads, in as few calls as the memory allows (target.BlockReader),
// the pages that hold the ranges [addr-below, addr] and were not read yet,
// into pages of their own. They wait in ahead until asked for, as a block's
// neighbours do (page), and are taken as they are then; a page never asked
// for is dropped, and is not copied in a pause (PageData). So it saves
// reads and changes nothing else: a page it could not read is read on its
// own when asked for. What it reads is charged to the budget.
//
// A decode chases pointers, one read after another. Where it knows many
// addresses at once (where every thread's frames start, the keys of a dict
// searched), reading their pages together saves a system call each, a few
// microseconds, where the batch costs under one a page. 102 threads under
// 3.12: 365 reads instead of 783, and the decode 0.8 ms shorter (25 paired
// runs); in blocks of two pages, copied when asked for as the ring's are,
// it was 0.5 ms longer: every page read ahead is fresh memory, touched
// once more for nothing when it is not used, and twice when copied.
//
// The pages are read into a staging buffer that every prefetch reuses
// (stagePages at a time) and copied from there into pages of their own,
// which the kernel never writes: on a virtual machine that pages the guest
// through shadow page tables, the kernel's first write to a page costs about
// 6 us beside the program's own first touch, and a copy into memory it
// wrote before about 1 us a page.
func (r *reader) prefetch(addrs []uint64, below uint64) {
	br, ok := r.mem.(target.BlockReader)
	if !ok || r.src != nil || r.released {
		return
	}
	var bases []uint64
	queued := map[uint64]bool{}
	for _, a := range addrs {
		if a == 0 || a < below {
			continue
		}
		for b := (a - below) &^ (pageSize - 1); b <= a && len(bases) < maxPrefetch; b += pageSize {
			if !queued[b] && !r.holds(b) {
				queued[b] = true
				bases = append(bases, b)
			}
		}
	}
	if len(bases) < 2 || r.spend(len(bases)*pageSize) != nil {
		return // one page: a read of its own costs as much
	}
	if r.stage == nil {
		r.stage = make([]byte, stagePages*pageSize)
	}
	if r.ahead == nil {
		r.ahead = map[uint64][]byte{}
	}
	for len(bases) > 0 {
		batch := bases[:min(len(bases), stagePages)]
		bases = bases[len(batch):]
		whole := br.ReadBlocks(r.stage[:len(batch)*pageSize], batch, pageSize)
		for i, b := range batch {
			if whole[i] {
				pg := r.freshPage()
				copy(pg, r.stage[i*pageSize:])
				r.ahead[b] = pg
			}
		}
	}
}

// stagePages is the size of the staging buffer prefetch reads through, in
// pages (256 KiB): a batch costs a system call of about a microsecond.
const stagePages = 64

// maxPrefetch bounds the pages one prefetch reads (4 MiB): how many it is
// asked for follows from the target's threads and dicts.
const maxPrefetch = 1024

// holds says whether the page at base was read, or read ahead.
func (r *reader) holds(base uint64) bool {
	if _, ok := r.pages[base]; ok {
		return true
	}
	_, ok := r.ahead[base]
	return ok
}

// inRing says whether a page read ahead lies in the read-ahead ring, whose
// memory is reused: such a page is copied when asked for.
func (r *reader) inRing(p []byte) bool {
	if len(r.ringMem) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(&r.ringMem[0]))
	at := uintptr(unsafe.Pointer(&p[0]))
	return at >= lo && at < lo+uintptr(len(r.ringMem))
}

// aheadRing is how many blocks reader.ring holds (512 KiB): with 32 blocks
// of 4 pages, a fifth more reads of the 102-thread benchmark than with 64,
// and 128 blocks of 2 pages did no better than 64.
const aheadRing = 64

// nextBlock returns the ring's next block for the block at blk, dropping
// from ahead the pages of the block it held.
func (r *reader) nextBlock(blk uint64) []byte {
	if r.ring == nil {
		mem := make([]byte, aheadRing*aheadPages*pageSize)
		r.ringMem = mem
		r.ring = make([][]byte, aheadRing)
		r.ringBase = make([]uint64, aheadRing)
		for i := range r.ring {
			r.ring[i] = mem[i*aheadPages*pageSize : (i+1)*aheadPages*pageSize : (i+1)*aheadPages*pageSize]
		}
	}
	i := r.ringNext
	r.ringNext = (i + 1) % aheadRing
	buf, old := r.ring[i], r.ringBase[i]
	for off := 0; off < len(buf); off += pageSize {
		// Only if it is still this block's page: a page read again since
		// sits in another block of the ring.
		if p, ok := r.ahead[old+uint64(off)]; ok && &p[0] == &buf[off] {
			delete(r.ahead, old+uint64(off))
		}
	}
	r.ringBase[i] = blk
	return buf
}

// lendRing returns the memory of the read-ahead ring, resident already, for
// use as scratch until the next read, and drops the pages read ahead and
// not asked for, which it held; nil when nothing was read ahead.
func (r *reader) lendRing() []byte {
	r.ahead = nil
	clear(r.ringBase) // what the blocks held is gone
	return r.ringMem
}

// slabPages is how many pages freshPage allocates at once.
const slabPages = 64

// freshPage returns a page of memory of the reader's own, to keep.
func (r *reader) freshPage() []byte {
	if len(r.slab) < pageSize {
		r.slab = make([]byte, slabPages*pageSize)
		r.slabs = append(r.slabs, r.slab)
	}
	pg := r.slab[:pageSize:pageSize]
	r.slab = r.slab[pageSize:]
	return pg
}

// aheadPages is how many pages one read of the target fetches (see page).
// Two, not four, since the reads are raw system calls (live's vmRead): a
// read costs little beside the bytes it copies, and four pages copied 16
// KiB for the one or two asked for. 102 threads under 3.12: -1 to -1.7 ms
// wall, -1 ms CPU (151 paired runs, twice); under 3.8 the same.
const aheadPages = 2

// read fills p from addr, page by page.
func (r *reader) read(p []byte, addr uint64) error {
	if addr == 0 {
		return fmt.Errorf("reading %d bytes at NULL: %w", len(p), target.ErrUnreadable)
	}
	if addr+uint64(len(p)) < addr {
		return fmt.Errorf("reading %d bytes at %#x: address overflow: %w", len(p), addr, target.ErrUnreadable)
	}
	if err := r.spend(len(p)); err != nil {
		return err
	}
	done := 0
	for done < len(p) {
		a := addr + uint64(done)
		base := a &^ (pageSize - 1)
		pg, ok := r.page(base)
		if !ok {
			// Fall back to a direct read: the page may be partly mapped
			// (a core segment that ends mid-page).
			return r.direct(p[done:], a)
		}
		done += copy(p[done:], pg[a-base:])
	}
	return nil
}

func (r *reader) direct(p []byte, addr uint64) error {
	if r.released {
		return errReleased
	}
	if r.budget.spent {
		return errBudget
	}
	r.reads++
	err := target.ReadFull(r.mem, p, addr)
	if err == nil {
		r.partial = true
	}
	return err
}

// view returns n bytes at addr without copying when they lie in one cached
// page; the caller must not modify or keep the slice past the next read.
func (r *reader) view(addr uint64, n int) ([]byte, error) {
	base := addr &^ (pageSize - 1)
	if addr != 0 && n >= 0 && addr-base+uint64(n) <= pageSize {
		if err := r.spend(n); err != nil {
			return nil, err
		}
		if pg, ok := r.page(base); ok {
			return pg[addr-base : addr-base+uint64(n)], nil
		}
	}
	return r.bytes(addr, n)
}

func (r *reader) bytes(addr uint64, n int) ([]byte, error) {
	if n < 0 || n > maxBlob {
		return nil, fmt.Errorf("refusing to read %d bytes at %#x", n, addr)
	}
	if err := r.spend(n); err != nil { // what is allocated; read charges the reading
		return nil, err
	}
	b := make([]byte, n)
	return b, r.read(b, addr)
}

func (r *reader) u64(addr uint64) (uint64, error) {
	if off := addr & (pageSize - 1); off <= pageSize-8 && addr != 0 {
		if err := r.spend(8); err != nil {
			return 0, err
		}
		if pg, ok := r.page(addr - off); ok {
			return binary.LittleEndian.Uint64(pg[off:]), nil
		}
	}
	var b [8]byte
	if err := r.read(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func (r *reader) i64(addr uint64) (int64, error) {
	v, err := r.u64(addr)
	return int64(v), err
}

func (r *reader) u32(addr uint64) (uint32, error) {
	if off := addr & (pageSize - 1); off <= pageSize-4 && addr != 0 {
		if err := r.spend(4); err != nil {
			return 0, err
		}
		if pg, ok := r.page(addr - off); ok {
			return binary.LittleEndian.Uint32(pg[off:]), nil
		}
	}
	var b [4]byte
	if err := r.read(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func (r *reader) i32(addr uint64) (int32, error) {
	v, err := r.u32(addr)
	return int32(v), err
}

func (r *reader) u8(addr uint64) (uint8, error) {
	if off := addr & (pageSize - 1); addr != 0 {
		if err := r.spend(1); err != nil {
			return 0, err
		}
		if pg, ok := r.page(addr - off); ok {
			return pg[off], nil
		}
	}
	var b [1]byte
	err := r.read(b[:], addr)
	return b[0], err
}

func (r *reader) f64(addr uint64) (float64, error) {
	v, err := r.u64(addr)
	return math.Float64frombits(v), err
}

// cstring reads a NUL-terminated string of at most max bytes.
func (r *reader) cstring(addr uint64, max int) (string, error) {
	out := make([]byte, 0, 32)
	for len(out) < max {
		chunk := pageSize - int(addr%pageSize)
		if chunk > max-len(out) {
			chunk = max - len(out)
		}
		if err := r.spend(chunk); err != nil {
			return "", err
		}
		b := make([]byte, chunk)
		if err := r.read(b, addr); err != nil {
			return "", err
		}
		for i, c := range b {
			if c == 0 {
				return string(append(out, b[:i]...)), nil
			}
		}
		out = append(out, b...)
		addr += uint64(chunk)
	}
	return string(out), nil
}

// maxBlob bounds any single object payload read from the target (line tables,
// bytes, strings): 16 MiB is far above any real code object.
const maxBlob = 16 << 20
