package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/live"
)

// confirm takes a consistent snapshot of w after a look suggested a
// problem; hung when it proves one.
func (m *monitor) confirm(w *watched) (int, bool) {
	s, core, err := m.take(w.pid, false)
	if err != nil {
		if live.Ended(w.pid) {
			return 0, false // it ended as it was read: its exit says so
		}
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
		s, core, err := m.take(pid, false)
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
