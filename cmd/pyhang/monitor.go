package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
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
//   - a problem that the diagnosis of two looks in a row proves (an error
//     finding: a deadlock, an orphaned lock, every thread blocked) is
//     confirmed by one consistent snapshot; once confirmed the processes are
//     hung at once;
//   - otherwise they are hung when no process made progress for hangAfter:
//     no thread used CPU time or changed its stack, and none waits with a
//     timeout;
//   - a thread about to die of a fatal signal is diagnosed at that stop,
//     before the signal takes its course.
type monitor struct {
	o      monitorOptions
	looker func(pid int, python bool) (*looker, error) // newLooker
	f      *live.Follower
	procs  map[int]*watched
	start  time.Time
	dying  map[int]bool // processes let go to die of their signal
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
	// watchedPID is the process pyhang watch was given: told when it runs
	// no Python (the processes run starts, and their children, often do
	// not, and are not told).
	watchedPID int
}

// watched is one followed process.
type watched struct {
	pid        int
	looker     *looker
	python     bool
	since      time.Time // followed (or executed) since
	checked    bool      // python is known (or given up on)
	last       *motion.Look
	progressAt time.Time
	// confirmAfter delays the next consistent snapshot after one that did
	// not confirm what a look suggested.
	confirmAfter time.Time
	suspect      int  // looks in a row whose diagnosis proved a problem
	lookFailed   bool // said so once
	// gilHolder is the thread that kept the GIL from the look before to
	// the last one (motion.GILKept); 0 when none did.
	gilHolder int
}

// confirmBackoff is how many intervals pass before a look's unconfirmed
// problem is checked again with a consistent snapshot.
const confirmBackoff = 5

// termGrace is how long a hung process has to end after SIGTERM before it
// gets SIGKILL.
const termGrace = 5 * time.Second

func newMonitor(f *live.Follower, o monitorOptions) *monitor {
	m := &monitor{o: o, f: f, procs: map[int]*watched{}, start: time.Now(), dying: map[int]bool{}, looker: newLooker}
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
			if err != nil {
				// What cannot be seen is not proof of a hang.
				w.progressAt = now
				if !w.lookFailed && !live.Ended(w.pid) && !errors.Is(err, syscall.ESRCH) {
					w.lookFailed = true
					m.notef("process %d: %v", w.pid, err)
				}
			} else {
				if w.last == nil || motion.Progress(*w.last, lk) {
					w.progressAt = now
				}
				w.gilHolder = 0
				if w.last != nil {
					w.gilHolder, _ = motion.GILKept(*w.last, lk)
				}
				w.last = &lk
				if lk.Snap != nil && proves(analyse(lk.Snap)) {
					w.suspect++
				} else {
					w.suspect = 0
				}
				// A problem must show at two looks in a row (a look may catch
				// a moment: a thread being started) before a consistent
				// snapshot confirms it.
				if w.suspect >= 2 && now.After(w.confirmAfter) {
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
		return m.hang(nil, m.noProgress()), true
	}
	return 0, false
}

// noProgress says why no process made progress for hangAfter.
func (m *monitor) noProgress() string {
	after := m.o.hangAfter.Round(time.Millisecond)
	for _, pid := range m.pids() {
		if w := m.procs[pid]; w.gilHolder != 0 {
			return fmt.Sprintf("no progress for %v: thread %d of process %d kept the GIL in native code, never letting it go while threads waited for it, so no other thread could run Python", after, w.gilHolder, pid)
		}
	}
	return fmt.Sprintf("no progress for %v: no thread used CPU time or changed its stack, and none waits with a timeout", after)
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
// load its interpreter. An interpreter that cannot be read yet (still
// starting: its runtime state not set up) is tried again at the next looks,
// for checkFor; meanwhile, and after, only its CPU use is watched.
func (m *monitor) check(w *watched) {
	l, err := m.looker(w.pid, true)
	var np *cpython.NotPythonError
	switch {
	case err == nil:
		w.looker, w.python, w.checked = l, true, true
		return
	case errors.As(err, &np):
		w.checked = true
		if w.pid == m.o.watchedPID {
			m.notef("process %d runs no Python (%s): only its CPU use is watched, and the processes it starts from now on", w.pid, np.Reason)
		}
	case live.Ended(w.pid):
		w.checked = true // it ended as it was read: its exit says so
	case time.Since(w.since) >= checkFor:
		w.checked = true
		m.notef("process %d: %v; watching its CPU use only", w.pid, err)
	}
	if w.looker == nil {
		w.looker, _ = m.looker(w.pid, false)
	}
}

// checkFor is how long a process whose interpreter cannot be read is given
// to finish starting it.
const checkFor = 10 * time.Second

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

// take takes a consistent snapshot of a followed Python process (with every
// thread's native stack when native is set), and its core when --core-dir
// asks for one.
func (m *monitor) take(pid int, native bool) (*snapshot.Snapshot, *coreWritten, error) {
	opts := capture.Options{Stop: m.stop, Native: native, WatchGIL: true}
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
