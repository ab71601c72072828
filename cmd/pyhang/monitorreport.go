package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/pyhang/pyhang/snapshot/live"
)

// report writes one diagnosis.
func (m *monitor) report(kind, reason string, an *analysis, core *coreWritten) {
	if m.o.format == "json" {
		m.writeJSONReport(kind, reason, an, core)
		return
	}
	fmt.Fprintln(m.o.out)
	writeDiagnosis(m.o.out, an)
	m.writeCoreLine(core)
}

func (m *monitor) writeCoreLine(core *coreWritten) {
	if core != nil {
		fmt.Fprintf(m.o.out, "\nCore written to %s (%s, taken in the same pause).\n", esc(core.Path), sizeWords(core.Bytes))
	}
}

// eventReport is the JSON of a report of pyhang run or watch: the pyhang/1
// diagnosis, with what happened and the core written.
type eventReport struct {
	*report
	Event    monitorEvent  `json:"event"`
	CoreFile *coreFileInfo `json:"core_file,omitempty"`
}

type monitorEvent struct {
	Kind    string  `json:"kind"` // hang, crash
	Reason  string  `json:"reason"`
	Watched float64 `json:"watched_s"`
}

func (m *monitor) writeJSONReport(kind, reason string, an *analysis, core *coreWritten) {
	writeJSON(m.o.out, eventReport{report: an.report(true), CoreFile: core,
		Event: monitorEvent{Kind: kind, Reason: reason, Watched: time.Since(m.start).Seconds()}})
}

// headline and notef write pyhang's own lines (not in JSON, which has one
// document per report).
func (m *monitor) headline(s string) {
	if m.o.format != "json" {
		fmt.Fprintf(m.o.out, "\n%s\n", esc(s))
	} else {
		fmt.Fprintf(os.Stderr, "%s\n", esc(s))
	}
}

func (m *monitor) notef(format string, args ...any) {
	w := m.o.out
	if m.o.format == "json" {
		w = os.Stderr
	}
	fmt.Fprintf(w, "%s: %s\n", m.o.what, esc(fmt.Sprintf(format, args...)))
}

// describe names a process by its command line.
func (m *monitor) describe(pid int) string {
	if in, err := live.ProcessInfo(pid); err == nil && in.Args != "" {
		a := in.Args
		if len(a) > 80 {
			a = a[:80] + "…"
		}
		return a
	}
	return "?"
}

// kernelWords says what a process that is not Python does, from its last look.
func (m *monitor) kernelWords(w *watched) string {
	if w.last == nil {
		return "not looked at yet"
	}
	timed := 0
	for _, t := range w.last.Threads {
		if t.Timed {
			timed++
		}
	}
	return fmt.Sprintf("%d thread(s), %d waiting with a timeout, no progress since %.1f s ago", len(w.last.Threads), timed, time.Since(w.progressAt).Seconds())
}

func intWords(xs []int) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Itoa(x)
	}
	return out
}
