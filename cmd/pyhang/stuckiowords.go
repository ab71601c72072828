package main

import (
	"fmt"

	"github.com/pyhang/pyhang/heuristics"
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
