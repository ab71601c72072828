//go:build linux

package capture

import (
	"bytes"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// prefault makes n bytes of the heap resident before a snapshot allocates
// them: it allocates them, has the kernel back them with huge pages where
// it can (MADV_HUGEPAGE) and populate them in one call
// (MADV_POPULATE_WRITE), and frees them, so that what the snapshot then
// allocates reuses resident memory. A snapshot runs with the collector off,
// so without this every page it allocates is fresh memory that faults on
// first touch: on 100 threads x 50 frames, 7,000 faults, which on a virtual
// machine cost as much as the rest of the dump.
func prefault(n int) {
	if n <= 0 {
		return
	}
	b := make([]byte, n)
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // a hint: the kernel may have huge pages off
	if err := unix.Madvise(b, unix.MADV_POPULATE_WRITE); err != nil {
		return // before Linux 5.14: the pages fault in as they are used
	}
	runtime.KeepAlive(b) // b is garbage from here on
	runtime.GC()         // frees b's pages, resident, for what follows
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
