package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/motion"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
)

// A monitor watches the processes a Follower follows (pyhang run, pyhang
// watch) until the first one ends, crashes or hangs:
//   - it looks at every process each interval without stopping it (its CPU
//     use and waits; its Python stacks, when it is Python), and diagnoses
//     each look of a Python process;
//   - a look whose diagnosis proves a problem (an error finding: a deadlock,
//     an orphaned lock, every thread blocked) is confirmed by one consistent
//     snapshot; once confirmed the processes are hung at once;
//   - otherwise they are hung when no process made progress for hangAfter:
//     no thread used CPU time or changed its stack, and none waits with a
//     timeout;
//   - a thread about to die of a fatal signal is diagnosed at that stop,
//     before the signal takes its course.
type monitor struct {
	o     monitorOptions
	f     *live.Follower
	procs map[int]*watched
	start time.Time
	dying map[int]bool // processes let go to die of their signal
}

type monitorOptions struct {
	hangAfter time.Duration
	interval  time.Duration
	coreDir   string
	keep      bool // leave hung processes running
	format    string
	out       io.Writer // reports
	what      string    // "pyhang run" or "pyhang watch", for messages
	// interrupt, if set, ends the watch: the processes are let go and
	// pyhang exits with 128 + the signal.
	interrupt <-chan os.Signal
}

// watched is one followed process.
type watched struct {
	pid        int
	looker     *looker
	python     bool
	since      time.Time // followed (or executed) since
	checked    bool      // python is known
	last       *motion.Look
	progressAt time.Time
	// confirmAfter delays the next consistent snapshot after one that did
	// not confirm what a look suggested.
	confirmAfter time.Time
}

// confirmBackoff is how many intervals pass before a look's unconfirmed
// problem is checked again with a consistent snapshot.
const confirmBackoff = 5

// termGrace is how long a hung process has to end after SIGTERM before it
// gets SIGKILL.
const termGrace = 5 * time.Second

func newMonitor(f *live.Follower, o monitorOptions) *monitor {
	m := &monitor{o: o, f: f, procs: map[int]*watched{}, start: time.Now(), dying: map[int]bool{}}
	m.add(f.PID())
	return m
}

func (m *monitor) add(pid int) {
	if _, ok := m.procs[pid]; !ok {
		now := time.Now()
		m.procs[pid] = &watched{pid: pid, since: now, progressAt: now}
	}
}

// run watches until the first process ends or hangs, and returns the exit
// status pyhang ends with.
func (m *monitor) run() int {
	next := time.Now().Add(m.o.interval)
	for {
		select {
		case sig := <-m.o.interrupt:
			m.notef("%v: letting process %d go", sig, m.f.PID())
			m.f.Detach()
			if s, ok := sig.(unix.Signal); ok {
				return 128 + int(s)
			}
			return exitFailure
		default:
		}
		if ev, ok := m.f.Next(min(time.Until(next), 100*time.Millisecond)); ok {
			if code, done := m.event(ev); done {
				return code
			}
			continue
		}
		if time.Now().Before(next) {
			continue
		}
		began := time.Now()
		if code, hung := m.sample(); hung {
			return code
		}
		// Looks at a big process cost CPU: keep them to a fifth of the time.
		next = time.Now().Add(max(m.o.interval, 4*time.Since(began)))
	}
}

// event acts on one event of the followed processes; done when pyhang is.
func (m *monitor) event(ev live.FollowEvent) (int, bool) {
	switch ev.Kind {
	case live.Exited:
		delete(m.procs, ev.PID)
		if ev.PID == m.f.PID() {
			if ev.Signal != 0 {
				return 128 + ev.Signal, true
			}
			return ev.ExitCode, true
		}
	case live.Started:
		m.add(ev.PID)
	case live.Execed:
		if w := m.procs[ev.PID]; w != nil {
			*w = watched{pid: ev.PID, since: time.Now(), progressAt: time.Now()}
		}
	case live.Crash:
		m.crash(ev)
	}
	return 0, false
}

// sample looks at every process once; hung says pyhang is done.
func (m *monitor) sample() (code int, hung bool) {
	now := time.Now()
	var latest time.Time
	for _, pid := range m.pids() {
		w := m.procs[pid]
		if !w.checked && now.Sub(w.since) >= m.o.interval {
			m.check(w)
		}
		if w.looker != nil {
			lk, err := w.looker.look()
			if err == nil {
				if w.last == nil || motion.Progress(*w.last, lk) {
					w.progressAt = now
				}
				w.last = &lk
				if lk.Snap != nil && now.After(w.confirmAfter) && proves(analyse(lk.Snap)) {
					if code, hung := m.confirm(w); hung {
						return code, true
					}
				}
			}
		}
		if w.progressAt.After(latest) {
			latest = w.progressAt
		}
	}
	if len(m.procs) > 0 && now.Sub(latest) >= m.o.hangAfter {
		return m.hang(nil, fmt.Sprintf("no progress for %v: no thread used CPU time or changed its stack, and none waits with a timeout", m.o.hangAfter.Round(time.Millisecond))), true
	}
	return 0, false
}

func (m *monitor) pids() []int {
	out := make([]int, 0, len(m.procs))
	for pid := range m.procs {
		out = append(out, pid)
	}
	slices.Sort(out)
	return out
}

// check finds out whether a process is Python, once it has had time to
// load its interpreter.
func (m *monitor) check(w *watched) {
	w.checked = true
	l, err := newLooker(w.pid, true)
	var np *cpython.NotPythonError
	switch {
	case err == nil:
		w.looker, w.python = l, true
		return
	case !errors.As(err, &np):
		m.notef("process %d: %v; watching its CPU use only", w.pid, err)
	}
	w.looker, _ = newLooker(w.pid, false)
}

// proves says whether a diagnosis proves a problem (an error finding).
func proves(an *analysis) bool {
	for i := range an.findings {
		if an.findings[i].Severity == heuristics.Error {
			return true
		}
	}
	return false
}

// stop is how a snapshot stops a followed process: through the Follower,
// which alone may trace it.
func (m *monitor) stop(pid int) (capture.Stopped, error) { return m.f.Stop(pid, 0) }

// take takes a consistent snapshot of a followed Python process, and its
// core when --core-dir asks for one.
func (m *monitor) take(pid int) (*snapshot.Snapshot, *coreWritten, error) {
	opts := capture.Options{Stop: m.stop}
	if m.o.coreDir == "" {
		s, err := capture.Take(strconv.Itoa(pid), opts)
		return s, nil, err
	}
	path := filepath.Join(m.o.coreDir, fmt.Sprintf("core.%d", pid))
	s, res, err := writeCore(pid, path, false, opts)
	if err != nil {
		return nil, nil, err
	}
	return s, &coreWritten{Path: path, Result: res}, nil
}

// coreWritten is a core written for a report.
type coreWritten = coreFileInfo

// confirm takes a consistent snapshot of w after a look suggested a
// problem; hung when it proves one.
func (m *monitor) confirm(w *watched) (int, bool) {
	s, core, err := m.take(w.pid)
	if err != nil {
		m.notef("process %d: a look suggested a problem, but the snapshot to confirm it failed: %v", w.pid, err)
		w.confirmAfter = time.Now().Add(confirmBackoff * m.o.interval)
		return 0, false
	}
	an := analyse(s)
	if !proves(an) {
		if core != nil {
			os.Remove(core.Path) // the hang was not confirmed; neither is its core
		}
		w.confirmAfter = time.Now().Add(confirmBackoff * m.o.interval)
		return 0, false
	}
	return m.hang(&proven{w.pid, an, core}, "a diagnosis proved a problem"), true
}

// proven is a diagnosis that proved a problem, with the core written in its
// pause.
type proven struct {
	pid  int
	an   *analysis
	core *coreWritten
}

// hang reports hung processes, ends them unless told to keep them, and
// returns exitProblems.
func (m *monitor) hang(p *proven, reason string) int {
	watchedFor := time.Since(m.start)
	m.headline(fmt.Sprintf("%s: process %d is hung (%s; watched %.1f s)", m.o.what, m.f.PID(), reason, watchedFor.Seconds()))
	reported := map[int]bool{}
	if p != nil {
		m.report("hang", reason, p.an, p.core)
		reported[p.pid] = true
	}
	for _, pid := range m.pids() {
		w := m.procs[pid]
		if reported[pid] {
			continue
		}
		if !w.python {
			m.notef("process %d (%s) is not Python: %s", pid, m.describe(pid), m.kernelWords(w))
			continue
		}
		s, core, err := m.take(pid)
		if err != nil {
			m.notef("process %d: %v", pid, err)
			continue
		}
		m.report("hang", reason, analyse(s), core)
	}
	if m.o.keep {
		m.notef("leaving the hung process(es) running (%s)", strings.Join(intWords(m.pids()), ", "))
		m.f.Detach()
		return exitProblems
	}
	m.end()
	return exitProblems
}

// end ends every followed process: SIGTERM, then SIGKILL after termGrace.
func (m *monitor) end() {
	for _, sig := range []unix.Signal{unix.SIGTERM, unix.SIGKILL} {
		pids := m.pids()
		if len(pids) == 0 {
			return
		}
		m.notef("sending %s to %s", unix.SignalName(sig), strings.Join(intWords(pids), ", "))
		for _, pid := range pids {
			_ = unix.Kill(pid, sig)
		}
		deadline := time.Now().Add(termGrace)
		for len(m.procs) > 0 && time.Now().Before(deadline) {
			ev, ok := m.f.Next(time.Until(deadline))
			if !ok {
				break
			}
			switch ev.Kind {
			case live.Exited:
				delete(m.procs, ev.PID)
			case live.Crash:
				m.f.Deliver(ev.PID) // dying already: no report
			}
		}
	}
}

// crash reports a thread stopped by a fatal signal, writes the core, and
// lets the signal take its course.
func (m *monitor) crash(ev live.FollowEvent) {
	defer m.f.Deliver(ev.PID)
	if m.dying[ev.PID] {
		return // another thread's fatal signal, reported already
	}
	m.dying[ev.PID] = true
	sigName := unix.SignalName(unix.Signal(ev.Sig.Signo))
	head := fmt.Sprintf("%s: process %d (%s) is about to die of %s in thread %d", m.o.what, ev.PID, m.describe(ev.PID), sigName, ev.TID)
	if isFaultSig(ev.Sig.Signo) && ev.Sig.Code > 0 {
		head += fmt.Sprintf(", fault address %#x", ev.Sig.Addr)
	}
	if ev.Fault != nil {
		head += fmt.Sprintf(" (raised again by the program's own handler after a fault at address %#x)", ev.Fault.Addr)
	}
	m.headline(head)
	w := m.procs[ev.PID]
	if w != nil && !w.checked {
		m.check(w)
	}
	if w == nil || !w.python {
		return
	}
	s, core, err := m.take(ev.PID)
	if err != nil {
		m.notef("process %d: no snapshot at the crash: %v", ev.PID, err)
		return
	}
	an := analyse(s)
	if m.o.format == "json" {
		m.writeJSONReport("crash", head, an, core)
		return
	}
	writeCrashReport(m.o.out, an, ev.TID)
	m.writeCoreLine(core)
}

func isFaultSig(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGSEGV, unix.SIGBUS, unix.SIGILL, unix.SIGFPE, unix.SIGTRAP:
		return true
	}
	return false
}

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
