package main

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/pyhang/pyhang/snapshot/live"
)

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
	s, core, err := m.take(ev.PID, true)
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
