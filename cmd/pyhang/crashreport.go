package main

import (
	"fmt"
	"io"
)

// writeCrashReport prints a process caught at the delivery of a fatal
// signal: the faulting thread in full, then one line for every other thread,
// then any problem the snapshot proves besides.
func writeCrashReport(w io.Writer, an *analysis, tid int) {
	s := an.snap
	ws := textWords(an)
	fmt.Fprintln(w)
	writeHeader(w, s)
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.TID == tid {
			fmt.Fprintf(w, "\nThe thread that took the signal:\n\n")
			writeThread(w, t, inheritedOSName(s))
		}
	}
	var others int
	for i := range s.Threads {
		t := &s.Threads[i]
		if t.TID == tid {
			continue
		}
		if others == 0 {
			fmt.Fprintf(w, "\nOther threads:\n")
		}
		others++
		fmt.Fprintf(w, "  %s — %s", threadTitle(t, inheritedOSName(s)), describeState(t))
		if len(t.Frames) > 0 {
			fmt.Fprintf(w, ", at %s", ws.frameAt(t.TID, 0))
		}
		fmt.Fprintln(w)
	}
	for i := range an.findings {
		f := &an.findings[i]
		if f.Problem() {
			fmt.Fprintf(w, "\nAlso: %s\n", ws.summary(f))
		}
	}
}
