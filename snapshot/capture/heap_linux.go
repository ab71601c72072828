//go:build linux

package capture

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefault makes n bytes of the heap resident while a snapshot allocates
// them. A snapshot runs with the collector off, so every page it allocates
// is fresh memory that faults on first touch: on 100 threads x 50 frames,
// 8,000 faults. So the heap is grown by n bytes at once (one allocation,
// mapped and not touched), freed again (a collection of a heap that small
// takes half a millisecond, when it runs on one thread: see collectAlone),
// and a helper goroutine has the kernel populate the pages (populate) on the
// other CPU while the snapshot starts and allocates the same pages, lowest
// addresses first: which of the two touches a page first does not matter.
// Populating leaves the bytes as they are, and the runtime never unmaps its
// heap, so the range stays the heap's own memory whatever was allocated in
// it meanwhile. It returns the helper, which takes the snapshot's side work
// too (nil for n <= 0: no helper); the caller closes it.
func prefault(n int) *helper {
	if n <= 0 {
		return nil
	}
	b := make([]byte, n)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	runtime.KeepAlive(b) // b is garbage from here on
	collectAlone()       // frees b's pages for what follows
	h := newHelper()
	off := uintptr(0)
	go h.run(func() bool {
		populate(addr+off, min(populateChunk, uintptr(n)-off))
		off += populateChunk
		return off < uintptr(n)
	})
	return h
}

// collectAlone runs a collection with one P. With two, the collector hands
// its work to a mark worker on another thread, which has to be woken and
// scheduled: on this virtual machine that made the collection of a heap of
// a few live megabytes take 1.5-3.5 ms, and half a millisecond alone.
func collectAlone() {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.GC()
}

// populate asks the kernel to make the n bytes at addr resident (before
// Linux 5.14, MADV_POPULATE_WRITE fails and the pages fault in as they are
// used). The range is passed as numbers: it is the heap's memory, not an
// object this goroutine keeps alive.
//
// Small pages, in small chunks, because of what the other ways cost on a
// virtual machine whose free memory is handed back to the host (free page
// reporting): huge pages made a dump run back to back with another 4-7 ms
// quicker, and one run after a pause, as a person runs it, 50-60 ms slower
// (100 ms against 45): each huge page is then 2 MB the host has to back
// again, and the whole process waited, since one call holds the address
// space's lock while it populates (Go maps its memory under the same lock).
// A raw system call, as the decode's reads are (live.vmRead): a call makes
// 8 pages resident and returns, and the helper keeps its P.
func populate(addr, n uintptr) {
	_, _, _ = unix.RawSyscall(unix.SYS_MADVISE, addr, n, unix.MADV_POPULATE_WRITE)
}

// populateChunk is how much one populate call makes resident: the address
// space's lock is taken for 8 pages at a time. The runtime maps its own
// metadata (spans) while the snapshot allocates, and each such mmap waits
// for the call in progress, with the allocating goroutine: with 64 pages a
// call, on two busy CPUs, one of them waited 0.4-1 ms a run, and the
// threads were preempted twice as often. 8 pages: -1.7 ms wall, -2 ms CPU
// (102 threads, paired runs).
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
