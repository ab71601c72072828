// Command pyhang tells why a Python process is hung, deadlocked or crashed,
// from a live pid or a core file.
package main

import (
	"os"
	"runtime/debug"

	"github.com/pyhang/pyhang/snapshot/capture"
)

// softHeap is the heap size at which pyhang collects garbage.
const softHeap = 512 << 20

func main() {
	// One P until a snapshot needs the second: see OneProcUntilSnapshot.
	capture.OneProcUntilSnapshot()
	// Every command reads one target, reports and exits; what it allocates
	// stays live until the report is written, so collecting on the way
	// costs time and frees little. Collect only near a soft limit.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(softHeap)
	os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
}
