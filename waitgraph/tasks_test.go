package waitgraph

import (
	"slices"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// task adds a suspended asyncio task of loop to the fixture.
func (f *fixture) task(id, name, loop string) *fixture {
	f.s.Tasks = append(f.s.Tasks, snapshot.Task{ID: id, Name: name, Loop: loop, State: snapshot.TaskPending,
		Frames: []snapshot.Frame{{Function: "fill", Qualname: "fill", File: "/srv/app/a.py", Line: 12}}})
	if f.a.TaskWaits == nil {
		f.a.TaskWaits, f.a.TaskHolds, f.a.TaskHolders = map[string]*locks.Wait{}, map[string][]locks.Hold{}, map[string][]string{}
	}
	return f
}

func (f *fixture) loop(id string, tid int) *fixture {
	f.s.Loops = append(f.s.Loops, snapshot.Loop{ID: id, Type: "_UnixSelectorEventLoop", Thread: tid})
	return f
}

func (f *fixture) taskWait(id string, r locks.Ref, onTasks ...string) *fixture {
	f.a.TaskWaits[id] = &locks.Wait{Ref: r, Evidence: []locks.Evidence{{Basis: locks.BasisAwait}}, OnTasks: onTasks, Object: r.ID}
	return f
}

func (f *fixture) taskHold(id string, r locks.Ref, evidence string) *fixture {
	f.a.TaskHolds[id] = append(f.a.TaskHolds[id], locks.Hold{Ref: r, Evidence: ev(evidence)})
	f.a.TaskHolders[r.ID] = append(f.a.TaskHolders[r.ID], id)
	return f
}

func taskRef(id string) locks.Ref { return locks.Ref{Kind: snapshot.KindTask, ID: id} }

// TestTasksAwaitingEachOther: two tasks that await each other are a cycle of
// task nodes through the awaited tasks, with no thread in it.
func TestTasksAwaitingEachOther(t *testing.T) {
	f := newFixture().loop("loop@0x1", 100).thread(100, "MainThread", "select", "/usr/lib/python3.12/selectors.py", 468).
		task("task@0xb", "consumer", "loop@0x1").task("task@0xa", "producer", "loop@0x1").
		taskWait("task@0xa", taskRef("task@0xb"), "task@0xb").taskWait("task@0xb", taskRef("task@0xa"), "task@0xa")
	g := f.build()
	cs := g.Cycles()
	if len(cs) != 1 {
		t.Fatalf("cycles %v", cs)
	}
	c := cs[0]
	if !slices.Equal(c.Tasks, []string{"task@0xa", "task@0xb"}) || !slices.Equal(c.Threads, []int{0, 0}) ||
		!slices.Equal(c.Resources, []string{"task@0xb", "task@0xa"}) {
		t.Errorf("cycle %+v (%s)", c, c)
	}
	n, ok := g.Task("task@0xa")
	if !ok || n.Kind != TaskNode || !strings.HasPrefix(n.Label, "task producer\na.py:12 in fill") {
		t.Errorf("task node %+v", n)
	}
	// The loop's thread waits on nothing: no edge says the tasks need it.
	if _, ok := g.Resource("loop@0x1"); ok {
		t.Error("a loop node although its thread is not blocked")
	}
}

// TestCycleThroughTheLoop: the loop's thread waits for a lock a suspended
// task of that loop holds; the task runs only on that thread.
func TestCycleThroughTheLoop(t *testing.T) {
	cache := lockRef(0x7f0030, "cache_lock")
	f := newFixture().loop("loop@0x1", 100).thread(100, "MainThread", "lookup", "/srv/app/a.py", 32).
		task("task@0xa", "cache-filler", "loop@0x1").
		wait(100, cache).taskHold("task@0xa", cache, "with block at a.py:27").
		taskWait("task@0xa", locks.Ref{Kind: snapshot.KindEvent, ID: "event@0x9"})
	g := f.build()
	cs := g.Cycles()
	if len(cs) != 1 {
		t.Fatalf("cycles %v", cs)
	}
	c := cs[0]
	if !slices.Equal(c.Threads, []int{100, 0}) || !slices.Equal(c.Tasks, []string{"", "task@0xa"}) ||
		!slices.Equal(c.Resources, []string{cache.ID, "loop@0x1"}) {
		t.Errorf("cycle %+v (%s)", c, c)
	}
	task, _ := g.Task("task@0xa")
	loop, _ := g.Resource("loop@0x1")
	thread, _ := g.Thread(100)
	if e, ok := g.EdgeBetween(task.ID, loop.ID); !ok || e.Kind != EdgeRunsOn {
		t.Errorf("task → loop: %+v", e)
	}
	if e, ok := g.EdgeBetween(loop.ID, thread.ID); !ok || e.Kind != EdgeRunBy {
		t.Errorf("loop → thread: %+v", e)
	}
	dot, err := g.DOT(cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"task:task@0xa" [`, `style="rounded,bold"`, `label="runs only on"`, `label="run by"`} {
		if !strings.Contains(string(dot), want) {
			t.Errorf("DOT lacks %s", want)
		}
	}
	// A task that is running is the thread itself: no edge to the loop.
	f.s.Tasks[0].Running = true
	if cs := f.build().Cycles(); len(cs) != 0 {
		t.Errorf("a running task makes a cycle: %v", cs)
	}
}
