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
// 7,000 faults, which on a virtual machine cost as much as the rest of the
// dump. So the heap is grown by n bytes at once (one allocation, mapped and
// not touched), freed again (a collection of a heap that small takes half a
// millisecond, when it runs on one thread: see collectAlone), and a
// goroutine has the kernel back the pages
// with huge pages where it can (MADV_HUGEPAGE) and populate them in one call
// (MADV_POPULATE_WRITE). That takes milliseconds, on the other CPU, while the
// snapshot starts and allocates the same pages, lowest addresses first:
// which of the two touches a page first does not matter. Populating leaves
// the bytes as they are, and the runtime never unmaps its heap, so the
// range stays the heap's own memory whatever was allocated in it meanwhile.
func prefault(n int) {
	if n <= 0 {
		return
	}
	b := make([]byte, n)
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	runtime.KeepAlive(b) // b is garbage from here on
	collectAlone()       // frees b's pages for what follows
	go populate(addr, uintptr(n))
}

// collectAlone runs a collection with one P. With two, the collector hands
// its work to a mark worker on another thread, which has to be woken and
// scheduled: on this virtual machine that made the collection of a heap of
// a few live megabytes take 1.5-3.5 ms, and half a millisecond alone.
func collectAlone() {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	runtime.GC()
}

// populate asks the kernel to make the n bytes at addr resident, huge pages
// where it can (before Linux 5.14, MADV_POPULATE_WRITE fails and the pages
// fault in as they are used). The range is passed as numbers: it is the
// heap's memory, not an object this goroutine keeps alive.
func populate(addr, n uintptr) {
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, addr, n, unix.MADV_HUGEPAGE) // a hint: huge pages may be off
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, addr, n, unix.MADV_POPULATE_WRITE)
}

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
