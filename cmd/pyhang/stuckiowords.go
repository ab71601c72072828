package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/snapshot"
)

// opWords says what a thread stuck on a socket waits to do.
var opWords = map[string]string{
	heuristics.OpRead:  "read from",
	heuristics.OpWrite: "write to",
	heuristics.OpPoll:  "poll",
}

func (w *words) stuckIOSummary(d *heuristics.StuckIODetails) string {
	op := opWords[d.Stuck[0].Op]
	for _, st := range d.Stuck {
		if st.Op != d.Stuck[0].Op {
			op = "wait on"
			break
		}
	}
	what := "a socket that has"
	if len(d.Stuck) > 1 {
		what = "sockets that have"
	}
	if selectOnly(d) {
		what = "a socket"
		if len(d.Stuck) > 1 {
			what = "sockets"
		}
		return fmt.Sprintf("stuck I/O: %s %s %s in a select() or poll() with no timeout; if the peer never answers they wait forever — give the poll a timeout (select()'s, poll()'s, a selector's select(timeout)) and handle it",
			plural(len(d.Stuck), "thread"), opVerb(op, len(d.Stuck)), what)
	}
	return fmt.Sprintf("stuck I/O: %s %s %s no timeout; if the peer never answers they wait forever — give the sockets a timeout (socket.settimeout(), the timeout= of urlopen() or requests) and handle it",
		plural(len(d.Stuck), "thread"), opVerb(op, len(d.Stuck)), what)
}

// selectOnly tells stuck threads that all poll: a socket with a timeout
// polls with it, so a poll without one is the program's own select() or
// poll(), which the sockets' timeouts do not bound.
func selectOnly(d *heuristics.StuckIODetails) bool {
	for _, st := range d.Stuck {
		if st.Op != heuristics.OpPoll {
			return false
		}
	}
	return true
}

// doesWords says what one stuck thread does.
var doesWords = map[string]string{
	heuristics.OpRead:  "waits to read from",
	heuristics.OpWrite: "waits to write to",
	heuristics.OpPoll:  "polls",
}

// opVerb agrees "read from" with its subject: "1 thread waits to read from".
func opVerb(op string, n int) string {
	if n == 1 {
		return "waits to " + op
	}
	return "wait to " + op
}

func (w *words) stuckIOEvidence(d *heuristics.StuckIODetails) []string {
	var out []string
	for _, st := range d.Stuck {
		s := fmt.Sprintf("%s %s %s: %s on fd %d, no timeout", w.threadLabel(st.Thread), doesWords[st.Op],
			w.ref(st.Waits), w.esc(st.Syscall), st.FD)
		switch {
		case st.Local != "" && st.Peer != "":
			s += fmt.Sprintf(", %s → %s", w.esc(st.Local), w.esc(st.Peer))
		case st.Local != "":
			s += ", local " + w.esc(st.Local)
		}
		if st.State != "" {
			s += " (" + w.esc(st.State) + ")"
		}
		if st.URL != "" && st.URLFrame != nil {
			s += fmt.Sprintf(", fetching %s (%s in %s)", w.esc(st.URL), w.esc(st.URLLocal), w.frameFunc(st.Thread, *st.URLFrame))
		}
		s += ", at " + w.frameAt(st.Thread, st.Frame)
		out = append(out, s)
	}
	for _, p := range d.Pools {
		who := fmt.Sprintf("%d of the %d threads", p.Stuck, len(p.Workers))
		if p.Stuck == len(p.Workers) {
			who = fmt.Sprintf("all %d threads", p.Stuck)
			if p.Stuck == 1 {
				who = "the one thread"
			}
		}
		s := fmt.Sprintf("%s of the thread pool whose work queue is %s (%s) are stuck", who, w.shortRef(p.WorkQueue), p.WorkQueue.ID)
		if p.Waiting != nil {
			s += fmt.Sprintf("; %s wait behind them", plural(*p.Waiting, "work item"))
		}
		out = append(out, s)
	}
	for _, g := range w.groupWaits(d.Dependents) {
		out = append(out, fmt.Sprintf("%s for %s at %s, which only the stuck threads can end: a consequence, not a problem of its own",
			w.whoWait(g.tids), w.ref(g.waits), g.at))
	}
	return out
}

// stuckPipeSummary words threads blocked writing to full pipes that no
// process holding the read end reads now.
func (w *words) stuckPipeSummary(d *heuristics.StuckPipeDetails) string {
	var parts []string
	for _, st := range d.Stuck {
		held := ""
		if len(st.Holds) > 0 {
			var names []string
			for _, h := range st.Holds {
				names = append(names, w.shortRef(h))
			}
			held = fmt.Sprintf(", holding %s,", strings.Join(names, " and "))
		}
		parts = append(parts, fmt.Sprintf("%s%s is blocked writing to %s, a full pipe that %s",
			w.threadName(st.Thread), held, streamOf(&st.FD), w.readersNotReading(st.Readers)))
	}
	deps := ""
	if n := len(d.Dependents); n > 0 {
		deps = fmt.Sprintf("; %s wait for it", plural(n, "other thread"))
	}
	return fmt.Sprintf("stuck I/O: %s%s — the process at the pipe's read end must read it: see what it is doing, or send this output to a file",
		strings.Join(parts, "; "), deps)
}

// readersNotReading is "process 4242 (tee), stopped, does not read" or
// "processes 1 (a) and 2 (b) do not read".
func (w *words) readersNotReading(rs []snapshot.PipeReader) string {
	var names []string
	for _, r := range rs {
		n := strconv.Itoa(r.PID)
		if r.Comm != "" {
			n += " (" + w.esc(r.Comm) + ")"
		}
		switch {
		case r.State == "T" || r.State == "t":
			n += ", stopped,"
		case r.Syscall != "":
			n += ", in " + w.esc(r.Syscall) + ","
		}
		names = append(names, n)
	}
	if len(names) == 1 {
		return "its reader, process " + names[0] + " does not read now"
	}
	return "none of its readers reads now: processes " + strings.Join(names, " and ")
}

// stuckPipeEvidence lists the facts of stuck pipe writes.
func (w *words) stuckPipeEvidence(d *heuristics.StuckPipeDetails) []string {
	var out []string
	for _, st := range d.Stuck {
		out = append(out, fmt.Sprintf("%s is blocked in %s on fd %d, pipe inode %d, at %s, without a timeout",
			w.threadLabel(st.Thread), w.esc(st.Syscall), st.FD, st.Pipe, w.frameAt(st.Thread, st.Frame)))
		for _, r := range st.Readers {
			what := "in " + w.esc(r.Syscall)
			if r.Syscall == "" {
				what = "in a call that could not be read"
			}
			if r.State == "T" || r.State == "t" {
				what = "stopped (a signal, or a debugger): it runs again only on SIGCONT"
			}
			out = append(out, fmt.Sprintf("process %d (%s) holds the pipe's read end and is %s: no thread of it reads the pipe, polls, or runs (/proc)", r.PID, w.esc(r.Comm), what))
		}
		if len(st.Holds) > 0 {
			out = append(out, fmt.Sprintf("%s holds %s while it writes", w.threadName(st.Thread), w.refList(st.Holds)))
		}
	}
	for _, dep := range d.Dependents {
		out = append(out, fmt.Sprintf("%s waits for %s at %s, which only a stuck writer can give back", w.threadLabel(dep.Thread), w.ref(dep.Waits), w.waitsAt(dep)))
	}
	return out
}
