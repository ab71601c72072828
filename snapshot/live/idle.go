package live

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Runs is what the scheduler had counted of every thread of a process at
// one moment: how long each had run and how many times it had been put on a
// CPU (/proc/PID/task/TID/schedstat). Two looks that agree, with no thread
// runnable at the second, prove that no thread ran in between (Idle): so
// memory read between them is one instant of the process, as if it had
// been stopped, without stopping it.
//
// Why the two counts and the state suffice: a thread off its CPU at the
// first look that then runs is put on a CPU, which adds to the second count.
// A thread on its CPU at the first look is either still there at the
// second, and its state says R, or left it in between, which adds the time
// it ran since the last update to the first count; the scheduler's tick
// adds it too, every 1-4 ms, while a thread stays on its CPU. The one gap
// is a thread that has just marked itself asleep and not yet left its CPU:
// its state says S while the time it ran is not added yet. Such a thread
// would have had to run through the whole read without a tick, which only
// a CPU the kernel runs without one can do (nohz_full): there MarkRuns
// fails. A thread that exits or is created in between changes the list of
// threads (a new one is created by a thread that ran).
type Runs struct {
	pid  int
	tids []int
	runs []schedRuns
}

// schedRuns is the first and last field of a schedstat line: nanoseconds on
// a CPU, and times put on one.
type schedRuns struct{ ns, arrivals uint64 }

// MarkRuns takes the first look. It fails when the kernel keeps no such
// counts (a kernel without scheduler statistics prints zeros), when a
// thread cannot be read, or when the process has more threads than a
// snapshot reads.
func MarkRuns(pid int) (*Runs, error) {
	if cpus := tickless(); cpus != "" {
		return nil, fmt.Errorf("CPUs %s run without the scheduler's tick (nohz_full)", cpus)
	}
	tids, err := listTasks(pid)
	if err != nil {
		return nil, noProcessError(pid, err)
	}
	if len(tids) > maxThreads {
		return nil, fmt.Errorf("process %d: more than %d threads", pid, maxThreads)
	}
	slices.Sort(tids)
	m := &Runs{pid: pid, tids: tids, runs: make([]schedRuns, len(tids))}
	d := openTaskDir(pid)
	defer d.close()
	for i, tid := range tids {
		if m.runs[i], err = d.schedRuns(tid); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Idle takes the second look and says whether no thread ran since the
// first; when one did, or may have, why says which and how.
func (m *Runs) Idle() (idle bool, why string) {
	tids, err := listTasks(m.pid)
	if err != nil {
		return false, err.Error()
	}
	slices.Sort(tids)
	if !slices.Equal(tids, m.tids) {
		return false, fmt.Sprintf("the threads changed (%d, then %d)", len(m.tids), len(tids))
	}
	d := openTaskDir(m.pid)
	defer d.close()
	for i, tid := range tids {
		// The state before the counts: a thread that left its CPU after
		// the state was read has the time it ran added by then.
		state, _ := d.stateComm(tid)
		if state != "S" && state != "D" {
			return false, fmt.Sprintf("thread %d is in state %q", tid, state)
		}
		r, err := d.schedRuns(tid)
		if err != nil {
			return false, err.Error()
		}
		if r != m.runs[i] {
			return false, fmt.Sprintf("thread %d ran", tid)
		}
	}
	return true, ""
}

// tickless lists the CPUs the kernel runs without its periodic tick ("":
// none, or a kernel built without that mode).
func tickless() string {
	b, err := os.ReadFile("/sys/devices/system/cpu/nohz_full")
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if s == "(null)" {
		return ""
	}
	return s
}

// schedRuns reads thread tid's schedstat line.
func (d *taskDir) schedRuns(tid int) (schedRuns, error) {
	b, err := d.read(tid, "schedstat")
	if err != nil {
		return schedRuns{}, err
	}
	r, ok := parseSchedstat(b)
	if !ok {
		return schedRuns{}, fmt.Errorf("thread %d: schedstat %q: the kernel keeps no scheduler counts", tid, bytes.TrimSpace(b))
	}
	return r, nil
}

// parseSchedstat parses "ns wait arrivals\n". A thread that exists has been
// on a CPU at least once, so zero arrivals means the kernel counts nothing.
func parseSchedstat(b []byte) (schedRuns, bool) {
	f := bytes.Fields(b)
	if len(f) != 3 {
		return schedRuns{}, false
	}
	ns, err1 := strconv.ParseUint(string(f[0]), 10, 64)
	arrivals, err2 := strconv.ParseUint(string(f[2]), 10, 64)
	if err1 != nil || err2 != nil || arrivals == 0 {
		return schedRuns{}, false
	}
	return schedRuns{ns, arrivals}, true
}
