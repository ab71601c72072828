package capture

import "runtime"

// startProcs is the GOMAXPROCS pyhang started with, while OneProcUntilSnapshot
// keeps it at one (0 otherwise).
var startProcs int

// OneProcUntilSnapshot runs the process on one P until a snapshot begins
// (allProcs): until then there is one goroutine to run. A second P that
// ran or cached anything is torn down at the change to one P the snapshot's
// first collection makes (collectAlone), and its cached spans go back to
// the heap through the runtime's span sets, whose off-heap blocks fault in
// at first use. With one P from the start, the start of a 102-thread dump
// up to the snapshot took 1.2-1.4 ms less (25 paired runs, twice), the
// whole dump 0.6-1.1 ms (101 paired runs), its pause the same. Call it
// first thing in main, before anything runs on a second P.
func OneProcUntilSnapshot() {
	startProcs = runtime.GOMAXPROCS(1)
}

// allProcs gives the process back the Ps it started with, once; the snapshot
// needs them from its first collection on (prefault's helper, the parallel
// page copy).
func allProcs() {
	if startProcs > 1 {
		runtime.GOMAXPROCS(startProcs)
	}
	startProcs = 0
}
