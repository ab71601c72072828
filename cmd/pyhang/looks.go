package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/motion"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/capture"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// looker takes the looks of one process: its Python stacks when it is
// Python (py is nil otherwise), and every thread's CPU use and waits.
type looker struct {
	pid int
	py  *capture.Looker
}

func newLooker(pid int, python bool) (*looker, error) {
	l := &looker{pid: pid}
	if python {
		py, err := capture.NewLooker(pid, capture.Options{})
		if err != nil {
			return nil, err
		}
		l.py = py
	}
	return l, nil
}

// look takes one look, without stopping the process.
func (l *looker) look() (motion.Look, error) {
	var s *snapshot.Snapshot
	var ths []target.Thread
	var err error
	if l.py != nil {
		s, ths, err = l.py.Look()
	} else {
		var t *live.Process
		t, err = live.Attach(l.pid, live.Options{NonBlocking: true})
		if err == nil {
			ths = t.Threads()
			t.Close()
		}
	}
	if err != nil {
		return motion.Look{}, err
	}
	cpu, err := live.ThreadsCPU(l.pid)
	if err != nil {
		return motion.Look{}, err
	}
	use := make(map[int]motion.Usage, len(cpu))
	for tid, c := range cpu {
		use[tid] = motion.Usage{Time: c.Time, Runs: c.Runs}
	}
	timed, paused := map[int]bool{}, map[int]bool{}
	tty := stdinIsTerminal(l.pid)
	for _, th := range ths {
		switch {
		case th.State == "T" || th.State == "t":
			paused[th.TID] = true // stopped by job control or a debugger
		case th.InSyscall && capture.TimedWait(th.Syscall, th.Args):
			timed[th.TID] = true
		case th.InSyscall && tty && readsInput(th.Syscall):
			paused[th.TID] = true // waiting for a person at the terminal
		}
	}
	return motion.NewLook(time.Now(), s, use, timed, paused), nil
}

// stdinIsTerminal says whether the standard input of pid is a terminal.
func stdinIsTerminal(pid int) bool {
	dst, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/0", pid))
	return err == nil && (strings.HasPrefix(dst, "/dev/pts/") || strings.HasPrefix(dst, "/dev/tty"))
}

// readsInput says whether system call nr is one a program waits for input in
// (read, readv, pread64, poll, ppoll, select, pselect6 on x86-64).
func readsInput(nr int) bool {
	switch nr {
	case 0, 19, 17, 7, 271, 23, 270:
		return true
	}
	return false
}

// looksInfo is the JSON's account of the looks behind the motion of threads.
type looksInfo struct {
	Count    int     `json:"count"`
	Interval float64 `json:"interval_s"`
	Span     float64 `json:"span_s"`
}

// takeLooks looks at pid n times, interval apart.
func takeLooks(pid, n int, interval time.Duration) ([]motion.Look, error) {
	l, err := newLooker(pid, true)
	if err != nil {
		return nil, err
	}
	var looks []motion.Look
	for i := range n {
		if i > 0 {
			time.Sleep(interval)
		}
		lk, err := l.look()
		if err != nil {
			return nil, fmt.Errorf("look %d of %d at pid %d: %w", i+1, n, pid, err)
		}
		looks = append(looks, lk)
	}
	return looks, nil
}

// withLooks adds to a diagnosis what the looks before it show: each
// thread's motion, and the findings only time shows (starvation).
func (an *analysis) withLooks(looks []motion.Look, interval time.Duration) {
	if len(looks) == 0 {
		return
	}
	an.motion = motion.Classify(looks)
	span := looks[len(looks)-1].At.Sub(looks[0].At)
	an.looks = &looksInfo{Count: len(looks), Interval: interval.Seconds(), Span: span.Seconds()}
	minFor := max(span/2, interval)
	an.findings = append(an.findings, heuristics.Starved(an.snap, an.locks, looks, an.motion, minFor)...)
}

// motionWords says how a thread moved over the looks, for the text report.
func (an *analysis) motionWords(tid int) string {
	m, ok := an.motion[tid]
	if !ok {
		return ""
	}
	switch {
	case m.Class == motion.Stuck && m.Timed:
		return fmt.Sprintf("stuck: in the same place for at least %.1f s, in a wait with a timeout (the same stack and no CPU time at %d looks)", float64(m.SameFor), m.Looks)
	case m.Class == motion.Stuck:
		return fmt.Sprintf("stuck: blocked for at least %.1f s (the same stack and no CPU time at %d looks)", float64(m.SameFor), m.Looks)
	case m.Class == motion.Spinning:
		return fmt.Sprintf("spinning: the same stack for %.1f s, using %s of CPU", float64(m.SameFor), cpuWords(m.CPU))
	case m.Runs > 0:
		return fmt.Sprintf("moving: %s of CPU, on a CPU %d times over the looks", cpuWords(m.CPU), m.Runs)
	}
	return fmt.Sprintf("moving: %s of CPU over the looks", cpuWords(m.CPU))
}

// writeLooksSummary counts the threads of each motion.
func writeLooksSummary(w io.Writer, an *analysis) {
	n := map[string]int{}
	for _, m := range an.motion {
		n[m.Class]++
	}
	fmt.Fprintf(w, "Looked %d times over %.1f s without stopping it: %d thread(s) stuck, %d spinning, %d moving.\n",
		an.looks.Count, an.looks.Span, n[motion.Stuck], n[motion.Spinning], n[motion.Moving])
}

func cpuWords(s motion.Seconds) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", float64(s)*1000)
	}
	return fmt.Sprintf("%.1f s", float64(s))
}
