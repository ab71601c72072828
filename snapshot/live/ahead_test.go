//go:build linux && amd64

package live

import (
	"os"
	"os/signal"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSeizeAhead reads the threads and seizes them while the target runs,
// then stops it: the stop is whole, and the target runs on after either end.
func TestSeizeAhead(t *testing.T) {
	pt := startTarget(t, 3)
	p, err := Attach(pt.pid(), Options{NonBlocking: true, ThreadsLater: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if n := len(p.Threads()); n != 0 {
		t.Errorf("ThreadsLater: %d threads before ReadThreads", n)
	}
	if err := p.ReadThreads(); err != nil {
		t.Fatal(err)
	}
	want := len(pt.info.Waiters) + 2
	if n := len(p.Threads()); n != want {
		t.Fatalf("ReadThreads: %d threads, want %d", n, want)
	}
	for _, th := range p.Threads() {
		if th.Name == "" || th.State == "" {
			t.Errorf("thread %d: name %q state %q, want both from its stat line", th.TID, th.Name, th.State)
		}
	}

	before := pt.progress(t)
	if err := p.Seize(); err != nil {
		t.Fatal(err)
	}
	if err := p.Seize(); err == nil {
		t.Errorf("a second Seize succeeded")
	}
	if tp, err := statusInt(pt.pid(), "TracerPid"); err != nil || tp == 0 {
		t.Errorf("after Seize: TracerPid %d, %v; want the tracer", tp, err)
	}
	for tid, s := range pt.states(t) {
		if stopped(s) {
			t.Errorf("thread %d stopped (%q) by Seize alone", tid, s)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if pt.progress(t) == before {
		t.Errorf("the target made no progress while seized")
	}

	st, err := p.Stop(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for tid, s := range pt.states(t) {
		if !stopped(s) {
			t.Errorf("thread %d not stopped (%q) by Stop after Seize", tid, s)
		}
	}
	ths := st.Threads()
	if len(ths) != want {
		t.Errorf("Stop after Seize: %d threads, want %d", len(ths), want)
	}
	for _, th := range ths {
		if th.Regs == nil || th.Regs.Partial || th.Name == "" {
			t.Errorf("thread %d: regs %+v name %q, want whole registers and a name", th.TID, th.Regs, th.Name)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	checkTracerGone(t, st)
	t.Logf("%d threads seized ahead; paused %v", len(ths), st.Paused())
	pt.checkRuns(t)
}

// TestSeizeThenClose checks that threads seized for a stop that never comes
// are let go by Close: the target is traced no more and runs.
func TestSeizeThenClose(t *testing.T) {
	pt := startTarget(t, 2)
	p, err := Attach(pt.pid(), Options{NonBlocking: true, ThreadsLater: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ReadThreads(); err != nil {
		t.Fatal(err)
	}
	if err := p.Seize(); err != nil {
		t.Fatal(err)
	}
	tr := p.ahead
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	<-tr.exited
	for deadline := time.Now().Add(2 * time.Second); ; {
		tp, err := statusInt(pt.pid(), "TracerPid")
		if err != nil {
			t.Fatal(err)
		}
		if tp == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("TracerPid %d after Close", tp)
		}
		time.Sleep(time.Millisecond)
	}
	pt.checkRuns(t)
}

// TestQuietStops checks that SA_NOCLDSTOP is set on SIGCHLD for a stop and
// taken off after, and that a handler installed meanwhile is left alone.
func TestQuietStops(t *testing.T) {
	flags := func() uint64 {
		var a kernelSigaction
		if err := sigaction(unix.SIGCHLD, nil, &a); err != nil {
			t.Fatal(err)
		}
		return a.flags
	}
	if flags()&saNoCldStop != 0 {
		t.Fatalf("SA_NOCLDSTOP set before quietStops")
	}
	restore := quietStops()
	if flags()&saNoCldStop == 0 {
		t.Errorf("quietStops did not set SA_NOCLDSTOP")
	}
	restore()
	if flags()&saNoCldStop != 0 {
		t.Errorf("SA_NOCLDSTOP still set after restore")
	}

	// A follower's signal.Notify between the two (pyhang run) does not
	// keep the flag on.
	restore = quietStops()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGCHLD)
	defer signal.Stop(ch)
	restore()
	if flags()&saNoCldStop != 0 {
		t.Errorf("SA_NOCLDSTOP still set after a Notify and restore")
	}
}

// TestUrgently checks that the calling thread's scheduling is as before
// once urgently returns.
func TestUrgently(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var during *unix.SchedAttr
	urgently(func() { during, _ = unix.SchedGetAttr(0, 0) })
	after, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if after.Policy != before.Policy || after.Priority != before.Priority || after.Nice != before.Nice {
		t.Errorf("scheduling after urgently: %+v, before: %+v", after, before)
	}
	if unix.Geteuid() == 0 && (during == nil || during.Policy != unix.SCHED_FIFO) {
		t.Errorf("as root, urgently ran f with %+v, want SCHED_FIFO", during)
	}
}

// TestNumThreads checks the thread count against the listing of the tasks.
func TestNumThreads(t *testing.T) {
	pt := startTarget(t, 2)
	n, err := numThreads(pt.pid())
	if err != nil {
		t.Fatal(err)
	}
	tids, err := listTasks(pt.pid())
	if err != nil {
		t.Fatal(err)
	}
	if n != len(tids) || !slices.Contains(tids, pt.pid()) {
		t.Errorf("numThreads %d, tasks %v", n, tids)
	}
}
