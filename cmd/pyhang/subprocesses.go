package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/pyhang/pyhang/waitgraph"
)

// maxSubprocesses bounds the processes --subprocesses follows.
const maxSubprocesses = 64

// family is the target and, with --subprocesses, its descendants: each one
// analysed on its own, and the waits of threads on other processes of it.
type family struct {
	root  *analysis
	subs  []*member
	cross []locks.CrossWait
	// shared are the deadlocks across its processes through locks they
	// share (a diagnosis only: a dump's analyses find nothing).
	shared []heuristics.SharedLockDeadlock
}

// member is one descendant: its analysis, or why there is none.
type member struct {
	an   *analysis
	info snapshot.TargetInfo // what /proc tells when there is no snapshot
	err  error
}

// takeFamily snapshots the target and, when follow is set, every live
// descendant, one process after the other (each is stopped on its own while
// it is read): a child that is not Python (a shell, a helper) is listed and
// its own children followed.
//
// analyse is how each snapshot is analysed: analyse for a diagnosis,
// analyseLocks for a dump, which reports no findings.
func takeFamily(arg string, opts capture.Options, follow bool, analyse func(*snapshot.Snapshot) *analysis) (*family, error) {
	if follow {
		if _, err := strconv.Atoi(arg); err != nil {
			return nil, usageError{fmt.Errorf("--subprocesses follows a live process's children: a core holds one process")}
		}
	}
	s, err := capture.Take(arg, opts)
	if err != nil {
		return nil, err
	}
	f := &family{root: analyse(s)}
	if !follow {
		return f, nil
	}
	queue := capture.Children(s.Target.PID)
	seen := map[int]bool{s.Target.PID: true}
	for len(queue) > 0 && len(f.subs) < maxSubprocesses {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		m := &member{}
		cs, err := capture.Take(strconv.Itoa(pid), opts)
		if err != nil {
			m.err, m.info = err, capture.ProcessInfo(pid)
		} else {
			m.an = analyse(cs)
		}
		queue = append(queue, capture.Children(pid)...)
		f.subs = append(f.subs, m)
	}
	if len(queue) > 0 {
		s.Target.Warnings = append(s.Target.Warnings, fmt.Sprintf("--subprocesses stopped after %d processes; %d more not read", maxSubprocesses, len(queue)))
	}
	snaps := []*snapshot.Snapshot{s}
	for _, m := range f.subs {
		if m.an != nil {
			snaps = append(snaps, m.an.snap)
		}
	}
	f.cross = locks.CrossWaits(snaps)
	var parts []*locks.Analysis
	for _, an := range f.analyses() {
		parts = append(parts, an.locks)
	}
	f.cross = append(f.cross, locks.SharedWaits(parts)...)
	if f.root.graph != nil { // a diagnosis: its analyses built their graphs
		f.shared = heuristics.SharedLockDeadlocks(f.graph(), parts, f.cross)
	}
	return f, nil
}

// analyses are the family's analyses, the target's first.
func (f *family) analyses() []*analysis {
	out := []*analysis{f.root}
	for _, m := range f.subs {
		if m.an != nil {
			out = append(out, m.an)
		}
	}
	return out
}

// report is the JSON document: the target's report, with its descendants'
// reports (each a whole pyhang/1 report, or only a target and an error) and
// the waits across processes.
func (f *family) report(withFindings bool) *report {
	r := f.root.report(withFindings)
	for _, m := range f.subs {
		if m.an == nil {
			r.Subprocesses = append(r.Subprocesses, &report{Schema: snapshot.Schema, Target: m.info,
				Threads: []reportThread{}, Objects: map[string]*snapshot.Object{}, Error: oneLine(m.err)})
			continue
		}
		r.Subprocesses = append(r.Subprocesses, m.an.report(withFindings))
	}
	r.CrossWaits = f.cross
	if withFindings {
		r.SharedLockDeadlocks = f.shared
	}
	return r
}

// status is the worst status of the family: problems anywhere, else
// incomplete anywhere, else healthy.
func (f *family) status() error {
	if len(f.shared) > 0 {
		return problemsError{}
	}
	var incomplete error
	for _, an := range f.analyses() {
		err := an.status()
		if errors.As(err, &problemsError{}) {
			return err
		}
		if err != nil {
			incomplete = err
		}
	}
	return incomplete
}

// graph is the family's wait-for graph: one process's, or all of them
// joined by the waits across processes.
func (f *family) graph() *waitgraph.Graph {
	if len(f.subs) == 0 {
		return f.root.graph
	}
	var parts []*locks.Analysis
	var inferred [][]waitgraph.Inferred
	for _, an := range f.analyses() {
		parts = append(parts, an.locks)
		inferred = append(inferred, an.inferred)
	}
	return waitgraph.BuildAllInferred(parts, inferred, f.cross)
}

// writeSubprocesses prints each descendant after the target's own report,
// as write prints one, and the waits across processes.
func (f *family) writeSubprocesses(w io.Writer, write func(io.Writer, *analysis)) {
	for _, m := range f.subs {
		info := m.info
		if m.an != nil {
			info = m.an.snap.Target
		}
		fmt.Fprintf(w, "\n=== Subprocess %d", info.PID)
		if info.Parent != nil {
			fmt.Fprintf(w, " (child of %d)", info.Parent.PID)
		}
		if m.an == nil {
			fmt.Fprintf(w, ", %s: not analysed: %s\n", esc(info.Executable), esc(oneLine(m.err)))
			continue
		}
		fmt.Fprintln(w, " ===")
		write(w, m.an)
	}
	if len(f.cross) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWaits across processes:")
	for _, c := range f.cross {
		name := c.Waits.ID
		if c.Waits.Name != nil {
			name = *c.Waits.Name
		}
		fmt.Fprintf(w, "  tid %d (pid %d) waits for %s %s", c.Thread, c.PID, c.Waits.Kind, esc(name))
		switch {
		case len(c.Processes) == 0 && len(c.Probable) > 0:
			var who []string
			for _, h := range c.Probable {
				who = append(who, fmt.Sprintf("tid %d (pid %d)", h.Thread, h.PID))
			}
			fmt.Fprintf(w, ", which %s probably holds (after an acquire() of it, before the release())\n", strings.Join(who, " or "))
		case len(c.Processes) == 0:
			fmt.Fprintln(w, ", which no process pyhang read can end")
		default:
			fmt.Fprintf(w, ", which only pid %s can end\n", joinInts(c.Processes, ", pid "))
		}
	}
}

func joinInts(v []int, sep string) string {
	s := ""
	for i, n := range v {
		if i > 0 {
			s += sep
		}
		s += strconv.Itoa(n)
	}
	return s
}

// writeSharedDeadlocks prints the deadlocks across the family's processes
// through locks they share, each thread with its process.
func (f *family) writeSharedDeadlocks(w io.Writer) {
	if len(f.shared) == 0 {
		return
	}
	fmt.Fprintf(w, "%d deadlock(s) across processes (each process's own report follows):\n", len(f.shared))
	for i, d := range f.shared {
		var parts []string
		for j, st := range d.Cycle {
			next := d.Cycle[(j+1)%len(d.Cycle)]
			parts = append(parts, fmt.Sprintf("%s waits for %s, which %s holds", f.threadIn(st.PID, st.Thread), f.refIn(st.PID, st.Waits), f.threadIn(next.PID, next.Thread)))
		}
		fmt.Fprintf(w, "%d. DEADLOCK [error]: deadlock across processes, through locks they share: %s — take these locks in one order in every process, or give acquire() a timeout\n",
			i+1, strings.Join(parts, "; "))
	}
	fmt.Fprintln(w)
}

// threadIn is `"name" (tid T) of pid P` for a thread of the family, named
// as its own process's report names it.
func (f *family) threadIn(pid, tid int) string {
	if w := f.wordsOf(pid); w != nil {
		return fmt.Sprintf("%s of pid %d", w.threadLabel(tid), pid)
	}
	return fmt.Sprintf("tid %d of pid %d", tid, pid)
}

// refIn names what a thread of process pid waits for, as that process's
// report does.
func (f *family) refIn(pid int, r locks.Ref) string {
	if w := f.wordsOf(pid); w != nil {
		return w.ref(r)
	}
	return esc(r.ID)
}

// wordsOf are the text words of the family's process pid, nil for none.
func (f *family) wordsOf(pid int) *words {
	for _, an := range f.analyses() {
		if an.snap.Target.PID == pid {
			return textWords(an)
		}
	}
	return nil
}
