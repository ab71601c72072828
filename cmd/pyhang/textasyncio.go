package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// The text report shows asyncio as `python -m asyncio pstree` would: each
// event loop, then its tasks, each with its await chain as a traceback.

// loopTitle is `Event loop loop@0x7f… (_UnixSelectorEventLoop), run by
// thread 4355 "MainThread": 0 callbacks ready, 0 timers, 1 watched fd`.
func loopTitle(s *snapshot.Snapshot, lp *snapshot.Loop) string {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Event loop %s (%s)", lp.ID, esc(lp.Type))
	switch {
	case lp.Thread != 0:
		name := ""
		for i := range s.Threads {
			if s.Threads[i].TID == lp.Thread && (s.Threads[i].Name != "" || s.Threads[i].Main) {
				name = fmt.Sprintf(" \"%s\"", esc(s.Threads[i].Handle()))
			}
		}
		fmt.Fprintf(b, ", run by thread %d%s", lp.Thread, name)
	case lp.Closed:
		b.WriteString(", closed")
	default:
		b.WriteString(", not running")
	}
	var facts []string
	if lp.Ready != nil {
		facts = append(facts, plural(*lp.Ready, "callback")+" ready")
	}
	if lp.Timers != nil {
		facts = append(facts, plural(*lp.Timers, "timer"))
	}
	if lp.FDs != nil {
		facts = append(facts, plural(len(*lp.FDs), "watched fd"))
	}
	if lp.Signals != nil && *lp.Signals > 0 {
		facts = append(facts, plural(*lp.Signals, "signal handler"))
	}
	if len(facts) > 0 {
		b.WriteString(": " + strings.Join(facts, ", "))
	}
	return b.String()
}

// taskTitle is `Task "worker-a" (task@0x7f…) PENDING, awaits future@0x7f… (_asyncio.Future)`.
func taskTitle(s *snapshot.Snapshot, t *snapshot.Task) string {
	b := &strings.Builder{}
	fmt.Fprintf(b, "Task \"%s\" (%s) %s", esc(t.Name), t.ID, t.State)
	switch {
	case t.Running:
		b.WriteString(", running")
	case t.Awaits != "":
		fmt.Fprintf(b, ", awaits %s", t.Awaits)
		if ob := s.Objects[t.Awaits]; ob != nil && ob.Type != "" {
			fmt.Fprintf(b, " (%s)", esc(ob.Type))
		}
	}
	return b.String()
}

// writeTask prints a task and its await chain.
func writeTask(w io.Writer, s *snapshot.Snapshot, t *snapshot.Task, indent string) {
	fmt.Fprintf(w, "%s%s\n", indent, taskTitle(s, t))
	if len(t.Frames) == 0 {
		return
	}
	fmt.Fprintf(w, "%sAwait chain (innermost first):\n", indent)
	writeFrames(w, t.Frames, indent+"  ")
}

// writeLoops prints every event loop with its tasks.
func writeLoops(w io.Writer, s *snapshot.Snapshot) {
	for i := range s.Loops {
		lp := &s.Loops[i]
		fmt.Fprintln(w)
		fmt.Fprintln(w, loopTitle(s, lp))
		for j := range s.Tasks {
			if t := &s.Tasks[j]; t.Loop == lp.ID {
				writeTask(w, s, t, "  ")
			}
		}
	}
	for j := range s.Tasks {
		if t := &s.Tasks[j]; t.Loop == "" {
			fmt.Fprintln(w)
			writeTask(w, s, t, "")
		}
	}
}

// writeTaskWaitHold prints what a task waits for and holds.
func writeTaskWaitHold(w io.Writer, ws *words, t *snapshot.Task, indent string) {
	if wt := ws.locks.TaskWaits[t.ID]; wt != nil {
		fmt.Fprintf(w, "%swaits for %s\n%s  evidence: %s\n", indent, ws.ref(wt.Ref), indent, ws.waitEvidence(wt))
	}
	for _, h := range ws.locks.TaskHolds[t.ID] {
		fmt.Fprintf(w, "%s%s %s\n%s  evidence: %s\n", indent, holdVerb(h.Probable), ws.ref(h.Ref), indent, ws.evidence(h.Evidence))
	}
}

// writeDiagnosisTasks prints the tasks the problems involve in full, then
// one line for every other task.
func writeDiagnosisTasks(w io.Writer, an *analysis, ws *words, involved map[string]bool) {
	s := an.snap
	if len(s.Tasks) == 0 {
		return
	}
	if len(involved) > 0 {
		fmt.Fprintf(w, "\nTasks involved:\n")
		loop := "-"
		for i := range s.Tasks {
			t := &s.Tasks[i]
			if !involved[t.ID] {
				continue
			}
			if t.Loop != loop {
				loop = t.Loop
				if lp := ws.loop(t.Loop); lp != nil {
					fmt.Fprintf(w, "\non %s\n", loopTitle(s, lp))
				}
			}
			fmt.Fprintln(w)
			writeTask(w, s, t, "")
			writeTaskWaitHold(w, ws, t, "  ")
		}
	}
	var others []*snapshot.Task
	for i := range s.Tasks {
		if !involved[s.Tasks[i].ID] {
			others = append(others, &s.Tasks[i])
		}
	}
	if len(others) == 0 {
		return
	}
	if len(involved) > 0 {
		fmt.Fprintf(w, "\nOther tasks:\n")
	} else {
		fmt.Fprintf(w, "\nTasks:\n")
	}
	for _, t := range others {
		fmt.Fprintf(w, "  %s", taskTitle(s, t))
		at := 0
		if wt := an.locks.TaskWaits[t.ID]; wt != nil {
			at = wt.Frame
		}
		if at < len(t.Frames) {
			fmt.Fprintf(w, ", at %s", ws.taskFrameAt(t.ID, at))
		}
		fmt.Fprintln(w)
		writeTaskWaitHold(w, ws, t, "      ")
	}
}
