package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// otherProcessWaits are the waits of a core's threads that only another
// process can end, without a timeout: a get() of a multiprocessing queue or
// result, a join of a multiprocessing worker, a wait for a child process. A
// core records nothing of the other processes, so such a wait is neither
// proven forever nor known to end; nil for a live target, which shows them.
func otherProcessWaits(an *analysis) []heuristics.ThreadWait {
	if an.snap.Target.Kind != "core" {
		return nil
	}
	var out []heuristics.ThreadWait
	for i := range an.snap.Threads {
		tid := an.snap.Threads[i].TID
		wt := an.locks.Waits[tid]
		if wt == nil || wt.Timed() {
			continue
		}
		switch wt.Kind {
		case snapshot.KindMPQueue, snapshot.KindMPResult, snapshot.KindMPProcess, snapshot.KindMPPool, locks.KindProcess:
			out = append(out, heuristics.ThreadWait{Thread: tid, Waits: wt.Ref, Frame: wt.Frame, Evidence: wt.Evidence})
		}
	}
	return out
}

// gilRunsInCore finds, in a core, a thread that held the GIL and ran while
// others waited for it: one instant cannot tell a native call that keeps
// the GIL from a turn about to end, which a live target's GIL watch tells.
// It returns the holder's tid and how many threads waited (0, 0: none).
func gilRunsInCore(an *analysis) (holder, waiters int) {
	if an.snap.Target.Kind != "core" {
		return 0, 0
	}
	for i := range an.snap.Threads {
		switch t := &an.snap.Threads[i]; t.GIL {
		case snapshot.GILHeld:
			if t.State == snapshot.StateRunning {
				holder = t.TID
			}
		case snapshot.GILWaiting:
			waiters++
		}
	}
	if holder == 0 {
		return 0, 0
	}
	return holder, waiters
}

// writeDiagnosis prints the problems first, numbered, then notes, then the
// evidence: the stacks of the threads involved, then one line for every
// other thread.
func writeDiagnosis(w io.Writer, an *analysis) {
	s := an.snap
	ws := textWords(an)
	writeHeader(w, s)
	if an.looks != nil {
		writeLooksSummary(w, an)
	}
	fmt.Fprintln(w)
	var problems, notes []int
	for i := range an.findings {
		if an.findings[i].Problem() {
			problems = append(problems, i)
		} else {
			notes = append(notes, i)
		}
	}
	switch len(problems) {
	case 0:
		if len(s.Target.Missing) > 0 {
			fmt.Fprintf(w, "No problem could be proven among %s, but the snapshot is incomplete, so this is no proof of health:\n", threadCount(len(s.Threads)))
			for _, m := range s.Target.Missing {
				fmt.Fprintf(w, "  - %s\n", esc(m))
			}
		} else {
			fmt.Fprintf(w, "No deadlock, orphaned lock, starved consumer, abandoned wait, stuck I/O, GIL held in native code or permanently blocked process found among %s.\n", threadCount(len(s.Threads)))
			if tws := otherProcessWaits(an); len(tws) > 0 {
				fmt.Fprintf(w, "A core shows no other process, and %s without a timeout for one, so whether that ends is not known from here (diagnose the live process, with --subprocesses, to tell):\n", threadsWait(len(tws)))
				for _, line := range ws.othersWait(tws, "") {
					fmt.Fprintf(w, "  - %s\n", line)
				}
			}
		}
		if holder, waiters := gilRunsInCore(an); waiters > 0 {
			fmt.Fprintf(w, "%s held the GIL and was running while %s waited for it: one instant cannot tell native code that keeps the GIL from a turn about to end (diagnose the live process, whose GIL it watches, to tell).\n",
				ws.threadLabel(holder), threadCount(waiters))
		}
	case 1:
		fmt.Fprintln(w, "1 problem found:")
	default:
		fmt.Fprintf(w, "%d problems found:\n", len(problems))
	}
	involved := map[int]bool{}
	involvedTasks := map[string]bool{}
	for n, i := range problems {
		f := &an.findings[i]
		fmt.Fprintf(w, "\n%d. %s [%s]: %s\n", n+1, strings.ToUpper(string(f.Kind)), f.Severity, ws.summary(f))
		for _, d := range ws.findingEvidence(f) {
			fmt.Fprintf(w, "   - %s\n", d)
		}
		for _, tid := range f.Threads {
			involved[tid] = true
		}
		for _, id := range f.Tasks {
			involvedTasks[id] = true
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nNote:\n")
		for _, i := range notes {
			f := &an.findings[i]
			fmt.Fprintf(w, "  %s: %s\n", strings.ToUpper(string(f.Kind)), ws.summary(f))
		}
	}
	if len(involved) > 0 {
		fmt.Fprintf(w, "\nThreads involved:\n")
		for i := range s.Threads {
			t := &s.Threads[i]
			if involved[t.TID] {
				fmt.Fprintln(w)
				writeThread(w, t, inheritedOSName(s))
				if m := an.motionWords(t.TID); m != "" {
					fmt.Fprintf(w, "  %s\n", m)
				}
				writeWaitHold(w, ws, t, "  ")
			}
		}
	}
	defer writeDiagnosisTasks(w, an, ws, involvedTasks)
	var others []*snapshot.Thread
	for i := range s.Threads {
		if !involved[s.Threads[i].TID] {
			others = append(others, &s.Threads[i])
		}
	}
	if len(others) == 0 {
		return
	}
	if len(involved) > 0 {
		fmt.Fprintf(w, "\nOther threads:\n")
	} else {
		fmt.Fprintf(w, "\nThreads:\n")
	}
	for _, t := range others {
		fmt.Fprintf(w, "  %s — %s", threadTitle(t, inheritedOSName(s)), describeState(t))
		// The user's own frame that waits, not the library frame inside it.
		at := 0
		if wt := an.locks.Waits[t.TID]; wt != nil {
			at = wt.Frame
		}
		if at < len(t.Frames) {
			fmt.Fprintf(w, ", at %s", ws.frameAt(t.TID, at))
		}
		fmt.Fprintln(w)
		if chain := nativeChain(t); chain != "" {
			fmt.Fprintf(w, "      native: %s\n", chain)
		}
		if m := an.motionWords(t.TID); m != "" {
			fmt.Fprintf(w, "      %s\n", m)
		}
		writeWaitHold(w, ws, t, "      ")
	}
}

func holdVerb(probable bool) string {
	if probable {
		return "probably holds"
	}
	return "holds"
}

func writeWaitHold(w io.Writer, ws *words, t *snapshot.Thread, indent string) {
	if wt := ws.locks.Waits[t.TID]; wt != nil {
		fmt.Fprintf(w, "%swaits for %s\n%s  evidence: %s\n", indent, ws.ref(wt.Ref), indent, ws.waitEvidence(wt))
	}
	for _, h := range ws.locks.Holds[t.TID] {
		fmt.Fprintf(w, "%s%s %s\n%s  evidence: %s\n", indent, holdVerb(h.Probable), ws.ref(h.Ref), indent, ws.evidence(h.Evidence))
	}
}

// threadCount is "1 thread", "3 threads".
func threadCount(n int) string {
	if n == 1 {
		return "1 thread"
	}
	return fmt.Sprintf("%d threads", n)
}
