package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/snapshot"
)

// writeDiagnosis prints findings first, then the evidence: the stacks of the
// threads involved, then one line for every other thread.
func writeDiagnosis(w io.Writer, an *analysis) {
	s := an.snap
	writeHeader(w, s)
	fmt.Fprintln(w)
	problems := 0
	for _, f := range an.findings {
		if f.Severity != "info" {
			problems++
		}
	}
	switch {
	case len(an.findings) == 0:
		fmt.Fprintf(w, "No deadlock, orphaned lock or permanently blocked process found among %d threads.\n", len(s.Threads))
	case problems == 1:
		fmt.Fprintln(w, "1 problem found:")
	case problems > 1:
		fmt.Fprintf(w, "%d problems found:\n", problems)
	default:
		fmt.Fprintln(w, "No problem found; notes:")
	}
	involved := map[int]bool{}
	for i, f := range an.findings {
		fmt.Fprintf(w, "\n%d. %s [%s]: %s\n", i+1, strings.ToUpper(f.Kind), f.Severity, f.Summary)
		for _, d := range f.Details {
			fmt.Fprintf(w, "   - %s\n", d)
		}
		if f.Severity != "info" {
			for _, tid := range f.Threads {
				involved[tid] = true
			}
		}
	}
	if len(involved) > 0 {
		fmt.Fprintf(w, "\nThreads involved:\n")
		for i := range s.Threads {
			t := &s.Threads[i]
			if involved[t.TID] {
				fmt.Fprintln(w)
				writeThread(w, t)
				writeWaitHold(w, an, t)
			}
		}
	}
	var others []*snapshot.Thread
	for i := range s.Threads {
		if !involved[s.Threads[i].TID] {
			others = append(others, &s.Threads[i])
		}
	}
	if len(others) > 0 {
		if len(involved) > 0 {
			fmt.Fprintf(w, "\nOther threads:\n")
		} else {
			fmt.Fprintf(w, "\nThreads:\n")
		}
		for _, t := range others {
			fmt.Fprintf(w, "  %s — %s", threadTitle(t), describeState(t))
			if len(t.Frames) > 0 {
				f := &t.Frames[0]
				fmt.Fprintf(w, ", at %s:%d in %s", filepath.Base(f.File), f.Line, f.Qualname)
			}
			fmt.Fprintln(w)
			if wt := an.locks.Waits[t.TID]; wt != nil {
				fmt.Fprintf(w, "      waits for %s\n        evidence: %s\n", heuristics.RefLabel(wt.Ref), wt.Evidence)
			}
			for _, h := range an.locks.Holds[t.TID] {
				fmt.Fprintf(w, "      %s %s\n        evidence: %s\n", holdVerb(h.Probable), heuristics.RefLabel(h.Ref), h.Evidence)
			}
		}
	}
}

func holdVerb(probable bool) string {
	if probable {
		return "probably holds"
	}
	return "holds"
}

func writeWaitHold(w io.Writer, an *analysis, t *snapshot.Thread) {
	if wt := an.locks.Waits[t.TID]; wt != nil {
		fmt.Fprintf(w, "  waits for %s\n    evidence: %s\n", heuristics.RefLabel(wt.Ref), wt.Evidence)
	}
	for _, h := range an.locks.Holds[t.TID] {
		fmt.Fprintf(w, "  %s %s\n    evidence: %s\n", holdVerb(h.Probable), heuristics.RefLabel(h.Ref), h.Evidence)
	}
}
