//go:build linux

package capture

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefault makes n bytes of the heap resident while a snapshot allocates
// them. A snapshot runs with the collector off, so every page it allocates
// is fresh memory, touched first: on 100 threads x 50 frames, 5,000 pages.
// So the heap is grown by n bytes at once (one allocation, mapped and not
// touched), freed again (a collection of a heap that small, on one thread:
// see collectAlone; about 2 ms, most of it the collector's first use of its
// own memory), after which the process has all its Ps (allProcs), and a
// helper goroutine makes the pages resident and touches them (populate) on
// the other CPU while the snapshot starts and allocates
// the same pages, lowest addresses first: which of the two touches a page
// first does not matter.
// Populating leaves the bytes as they are, and the runtime never unmaps its
// heap, so the range stays the heap's own memory whatever was allocated in
// it meanwhile. It returns the helper, which takes the snapshot's side work
// too (nil for n <= 0: no helper); the caller closes it.
func prefault(n int) *helper {
	if n <= 0 {
		allProcs()
		return nil
	}
	huge := hugePagesPolicy()
	reserve := n
	if huge {
		reserve += min(n, maxTail)
	}
	b := make([]byte, reserve)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	runtime.KeepAlive(b) // b is garbage from here on
	collectAlone()       // frees b's pages for what follows
	h := newHelper()
	p := newPopulator(addr, uintptr(n), uintptr(reserve), huge)
	go func() {
		if !huge {
			if made, touched, _ := p.calibrate(); touched > made {
				p.residentAll()
			}
			p.lead(smallLead)
		}
		h.run(p.chunk)
	}()
	return h
}

// calibrate makes the first calibrationChunks chunks of the range resident
// and touched, as chunk does, and returns what making them resident and
// touching them took, and how many pages they held. Touching costs more
// where a hypervisor pages the guest through shadow page tables: there a
// page made resident traps again at its first touch (about 5 us a page
// against 0.9 for making it resident, on the virtual machine measured), and
// under hardware nested paging it does not (0.03 against 1.8). On such a
// machine, a page the snapshot reaches before the helper has touched it
// costs the snapshot the trap alone if it is resident, and about twice
// that, a page fault, if not (residentAll).
func (p *populator) calibrate() (made, touched time.Duration, pages int) {
	for range calibrationChunks {
		if p.addr >= p.end {
			break
		}
		addr, n := p.next()
		t0 := time.Now()
		if !makeResident(addr, n) {
			return 0, 0, 0
		}
		t1 := time.Now()
		touch(addr, n)
		made += t1.Sub(t0)
		touched += time.Since(t1)
		pages += int(n / pageSize)
	}
	return made, touched, pages
}

// calibrationChunks is how many chunks calibrate times (128 KiB).
const calibrationChunks = 4

// residentAll makes the rest of the range resident without touching it,
// residentChunk at a time, before the helper touches any more of it: on a
// machine where a touch costs more than that (calibrate), a page the
// snapshot reaches before the helper then costs it the touch's trap and not
// a page fault. 102 threads x 50 frames under 3.12, on such a machine, 21
// and 25 paired runs: 87.7 and 93.7 ms before, 78.6 and 82.0 after. Keeping
// the pages resident only 4 or 12 MiB ahead of the touch did no better
// (87.0 and 82.8 ms).
func (p *populator) residentAll() {
	for addr := p.addr; addr < p.end; addr += residentChunk {
		n := min(residentChunk, p.end-addr)
		if !makeResident(addr, n) {
			return // the pages fault in as they are used
		}
	}
}

// residentChunk is how much one call of residentAll makes resident: 32
// pages, about 30 us on the virtual machine measured, which an mmap of the
// runtime's waits for at most (populateChunk).
const residentChunk = 128 << 10

// smallLead is how much of the range the helper makes resident in small
// pages before it takes the side work (ahead.go), about 9 ms of it on the
// virtual machine measured: the decode allocates fastest at its start, and
// ahead of the side work the helper stays ahead of it. Paired runs against
// the side work first, 102 threads x 50 frames, 3.12: -1.0 and -2.0 ms back
// to back (41 runs, twice), after 3 s idle -1.0 ms (15 runs; in 9 runs,
// twice, -3.4 and +2.9); 3.8: -0.8 and -2.9 ms (31 and 9 runs). 12 and 16
// MiB did no better, 24 worse. Huge pages take the side work first (see
// ahead).
const smallLead = 8 << 20

// lead makes the first n bytes of what is left resident, at most all of it.
func (p *populator) lead(n uintptr) {
	for stop := p.addr + min(n, p.end-p.addr); p.addr < stop; {
		p.chunk()
	}
}

// maxTail bounds the part of the heap grown beyond the range made resident
// (prefault): a snapshot that allocates more than the range finds huge
// pages there, made resident as it touches them, and not the small pages of
// a heap grown afterwards. A huge page costs its first touch about what one
// small page does back to back, and what 512 do after idle, while the
// address space costs nothing until touched.
const maxTail = 32 << 20

// collectAlone runs a collection with one P. With two, the collector hands
// its work to a mark worker on another thread, which has to be woken and
// scheduled: on the virtual machine this was measured on, that made the
// collection of a heap of a few live megabytes take 1.5-3.5 ms, and half a
// millisecond alone.
func collectAlone() {
	defer allProcs() // after the restore: one P until then (OneProcUntilSnapshot)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.GC()
}

// A populator makes a range of the heap resident a chunk at a time, lowest
// first. The part of the range that whole huge pages (2 MiB) cover goes as
// huge pages, when they pay (hugePagesPolicy) and the kernel has them
// (hugePages), one a call; the rest in small pages, populateChunk at a time.
//
// Why both, measured on a virtual machine paged by the hypervisor through
// shadow page tables, whose host took back free blocks of 8 MiB (page
// reporting order 11), 20 MiB made resident and touched:
// in small pages 29 ms, whether the memory was used a moment before or 3 s
// before; in huge pages 1.2 ms when used a moment before, 33 ms after 3 s
// idle (the host takes back free memory, and backs each huge page again).
// A dump of 102 threads, 12,382 frames, took 48 ms against 68 in small
// pages back to back, 51 against 71 each after 3 s idle (21 and 7 paired
// runs); with the touch (populate), the range sized to the snapshot
// (heapFor) and the side work first (ahead), 41 ms against 72 before the
// helper touched anything.
//
// The range's first huge page is seldom whole: below it lies what the
// process allocated before the snapshot, in small pages, and the allocator
// fills the free pages there first. So that page is collapsed into a huge
// page before anything else (MADV_COLLAPSE, Linux 6.1): one call, 0.6 ms on
// the helper, where the snapshot faulted in 400-600 small pages of it at
// 5-12 us each. On 102 threads: 1,100 page faults a dump down to 670, the
// dump 2-2.8 ms shorter (31 and 15 paired runs, back to back and after
// 3 s idle). When the kernel cannot collapse it, its part of the range goes
// in small pages as before.
type populator struct {
	addr, end uintptr // what is left: [addr, end)
	lo, hi    uintptr // the huge pages' part, or lo == hi
	head      uintptr // the huge page below lo holding addr, to collapse first; 0 once done
}

// hugePage is the size of a transparent huge page on the machines pyhang
// runs on (x86-64 and arm64 with 4 KiB pages).
const hugePage = 2 << 20

// newPopulator returns the populator of [addr, addr+n), in a heap range
// [addr, addr+reserve) that is free for the snapshot, in huge pages where
// they cover it when huge says so (hugePagesPolicy). The range then ends on a
// huge page boundary, past n when need be: the runtime maps its heap in 4
// MiB chunks, so the rest of the last huge page is the heap's too (and if
// not, populate fails and touches nothing). The whole huge pages of the
// reserve beyond it are asked for as huge pages too (maxTail), and left to
// fault in as they are used.
func newPopulator(addr, n, reserve uintptr, huge bool) *populator {
	lo, hi := (addr+hugePage-1)&^(hugePage-1), (addr+n+hugePage-1)&^(hugePage-1)
	top := max(hi, (addr+reserve)&^(hugePage-1))
	if huge && hi > lo && hugePages(lo, top-lo) {
		p := &populator{addr: addr, end: hi, lo: lo, hi: hi}
		if addr < lo {
			p.head = lo - hugePage
		}
		return p
	}
	return &populator{addr: addr, end: addr + n}
}

// chunk makes the next piece resident and says whether more is left.
func (p *populator) chunk() bool {
	if p.head != 0 {
		if collapse(p.head) {
			p.addr = p.lo
		}
		p.head = 0
		return p.addr < p.end
	}
	addr, n := p.next()
	populate(addr, n)
	return p.addr < p.end
}

// collapse asks the kernel to back the huge page at addr with one huge page
// now, copying what its small pages hold, and says whether it did. It
// fails, changing nothing, before Linux 6.1, when transparent huge pages
// are off, or when the page is not all the heap's own mapping. The
// contents stay as they are: the snapshot may be writing to the page
// meanwhile.
func collapse(addr uintptr) bool {
	_, _, errno := unix.RawSyscall(unix.SYS_MADVISE, addr, hugePage, unix.MADV_COLLAPSE)
	return errno == 0
}

// next returns the next piece, [addr, addr+n), and moves past it.
func (p *populator) next() (addr, n uintptr) {
	n = populateChunk
	switch {
	case p.addr >= p.lo && p.addr < p.hi:
		n = hugePage
	case p.addr < p.lo:
		n = min(n, p.lo-p.addr)
	}
	addr, n = p.addr, min(n, p.end-p.addr)
	p.addr += n
	return addr, n
}

// hugePagesPolicy says whether the snapshot's heap is made resident in huge
// pages: where the kernel has transparent huge pages on (not "never") and
// the machine's host does not take back free memory in blocks of a huge
// page (hugePagesReported); else in small pages.
//
// Where the host takes back free huge pages, what a huge page costs depends
// on how long ago it was freed: within a second or two of the last process
// that used it, a huge page made resident took 120-180 us on the virtual
// machine measured (shadow paging, page reporting order 9), 0.3 us for each
// 4 KiB of it, against 8-13 us for a small page; 3 s later, 3-10 ms, 6-20 us
// for each 4 KiB, when the host backs it again. The look that counts is the
// single one after idleness (a person paged at night), so such a machine
// gets small pages. On a Firecracker guest (page reporting order 9), 102
// threads x 50 frames under 3.12, 16 and 30 runs in turns: after 3 s idle
// 54 ms in small pages against 82.5 with the probe this replaced (one huge
// page tried, and the rest in huge pages when it was cheap: which a block
// not yet taken back made it, and the next ones were not); back to back 45
// against 39.
func hugePagesPolicy() bool {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || bytes.Contains(mode, []byte("[never]")) {
		return false
	}
	return !hugePagesReported(virtioBalloonDir, reportingOrderFile)
}

// hugePages asks the kernel to back [addr, addr+n) with transparent huge
// pages and says whether it will: not when the kernel has none.
func hugePages(addr, n uintptr) bool {
	_, _, errno := unix.RawSyscall(unix.SYS_MADVISE, addr, n, unix.MADV_HUGEPAGE)
	return errno == 0
}

// populate asks the kernel to make the n bytes at addr resident (before
// Linux 5.14, MADV_POPULATE_WRITE fails and the pages fault in as they are
// used), then, when it did, touches each page: a read of a page never
// written would map the zero page, and fault again at the first write. The
// range is passed as numbers: it is the heap's memory, not an object this
// goroutine keeps alive.
//
// The touch is what costs: under a hypervisor that pages the guest through
// shadow page tables, a page the kernel made resident still traps to the
// hypervisor at its first touch from user space, 4-5 us a small page
// (against 10 for a fault), and the trap serves every thread of the
// process. Touched here, the traps are taken on the helper's CPU and not by
// the snapshot's allocations: -10 ms on 102 threads.
//
// A raw system call, as the decode's reads are (live.vmRead): a call makes
// a chunk resident and returns, and the helper keeps its P.
func populate(addr, n uintptr) {
	if makeResident(addr, n) {
		touch(addr, n)
	}
}

// makeResident asks the kernel to make the n bytes at addr resident without
// touching them from user space (MADV_POPULATE_WRITE), and says whether it
// did: before Linux 5.14 it cannot, and the pages fault in as they are used.
func makeResident(addr, n uintptr) bool {
	_, _, errno := unix.RawSyscall(unix.SYS_MADVISE, addr, n, unix.MADV_POPULATE_WRITE)
	return errno == 0
}

// touch reads a byte of each page of [addr, addr+n). The address never
// becomes a pointer that outlives a load: nothing the collector scans holds
// it, and the memory is the heap's own, mapped and resident, which -race's
// pointer checks cannot know (nocheckptr). The loads race with the
// snapshot's writes to the same pages by design, and their values are
// never used (norace).
//
//go:noinline
//go:nocheckptr
//go:norace
func touch(addr, n uintptr) {
	var sum byte
	for off := uintptr(0); off < n; off += pageSize {
		sum += *(*byte)(unsafe.Add(unsafe.Pointer(nil), addr+off))
	}
	touchSum = sum
}

// touchSum keeps touch's loads from being optimised away.
var touchSum byte

// pageSize is the small page size touch steps by (x86-64, arm64).
const pageSize = 4096

// populateChunk is how much one populate call makes resident in small
// pages: the address space's lock is taken for 8 pages at a time. The
// runtime maps its own metadata (spans) while the snapshot allocates, and
// each such mmap waits for the call in progress, with the allocating
// goroutine: with 64 pages a call, on two busy CPUs, one of them waited
// 0.4-1 ms a run, and the threads were preempted twice as often. 8 pages:
// -1.7 ms wall, -2 ms CPU (102 threads, paired runs).
const populateChunk = 32 << 10

// liveHeap is about what a snapshot of live process pid allocates (heapFor).
func liveHeap(pid int, native bool) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	_, rest, ok := bytes.Cut(data, []byte("\nThreads:"))
	if !ok {
		return 0
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	threads, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil || threads <= 0 {
		return 0
	}
	return heapFor(threads, native)
}
