package heuristics

import (
	"sort"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// Starved consumers: threads wait, without a timeout, to take from a queue
// that is empty (a queue.Queue, a SimpleQueue, or a hand-off built on a
// Condition), and no thread that could put to it can run. Who could put:
// a thread whose frames refer to the queue (a local, an attribute of self
// or of an object a local holds), or any thread at all when the queue is a
// module global. A thread can run unless it is proven stuck (liveness.go).

// Reasons no producer can come.
const (
	// ReasonNoOtherThread: the consumers are the only threads left; whatever
	// thread put to the queue is gone.
	ReasonNoOtherThread = "no-other-thread"
	// ReasonOthersBlocked: every other thread waits forever itself (a
	// would-be producer blocked, or past its last put and waiting), or only
	// sleeps in an endless loop that does nothing else.
	ReasonOthersBlocked = "others-blocked"
	// ReasonMainSleeps: every other thread waits forever, or only sleeps in
	// an endless loop, and the main thread is one that sleeps: a Python
	// signal handler, which runs on the main thread, is all that could
	// still end the wait (a warning: pyhang does not read which handlers
	// are installed).
	ReasonMainSleeps = "main-sleeps"
	// ReasonNoReference: threads can still run, but the queue is no module
	// global and no frame of theirs refers to it, and every thread that does
	// waits forever (or can run only if those threads feed some queue):
	// they could put to it only through a reference pyhang does not see (a
	// warning).
	ReasonNoReference = "no-reference"
)

// StarvedConsumersDetails is a queue its consumers wait on forever.
type StarvedConsumersDetails struct {
	Queue locks.Ref `json:"queue"`
	// Length is the number of items in the queue (0); null when pyhang
	// cannot count them (a hand-off built on a Condition).
	Length *int `json:"length"`
	// Unfinished is a queue.Queue's unfinished_tasks.
	Unfinished *int `json:"unfinished_tasks,omitempty"`
	// Consumers wait in get() (wait() for a Condition), without a timeout.
	Consumers []ThreadWait `json:"consumers"`
	Reason    string       `json:"reason"`
	// Others are the other threads, each with why it will not put.
	Others []Producer `json:"others"`
	// Ended are Thread objects the frames refer to whose threads have
	// finished: a producer among them is gone.
	Ended []EndedThread `json:"ended,omitempty"`
	// Lockouts are consumers whose would-be producer waits for what they
	// hold while they wait (feeddeadlock.go).
	Lockouts []Lockout `json:"lockouts,omitempty"`
	// Consequence is true when a deadlock or orphaned lock found with it
	// is what keeps the producers blocked (the finding is then info).
	Consequence bool `json:"consequence,omitempty"`
	// StackLost: as AbandonedWaitDetails.StackLost, for the put() that
	// would feed the queue.
	StackLost bool `json:"stack_lost,omitempty"`
}

// Producer is a thread other than the consumers, as a would-be producer.
type Producer struct {
	Thread int `json:"thread"`
	// Refers is true when a frame of the thread refers to the queue.
	Refers bool `json:"refers"`
	// Puts are put() (notify() for a Condition) calls on the queue's names
	// in the functions on the thread's stack, from the source; for an
	// abandoned wait, the calls that would end it (task_done(), set(), a
	// barrier's wait(), get() for a full queue).
	Puts []locks.Site `json:"put_sites,omitempty"`
	// PastPuts is true when the thread stands after every one of them, in
	// the functions that make them: past its last put, if it waits forever.
	PastPuts bool `json:"past_puts,omitempty"`
	// CanRun is true when the thread can still run (only with
	// ReasonNoReference, and then it does not refer to the queue).
	CanRun bool `json:"can_run"`
	// Waits is what the thread waits for, without a timeout, on something
	// of the process.
	Waits *ThreadWait `json:"waits,omitempty"`
	// Sleeps is the endless loop the thread only sleeps in
	// (locks.Analysis.SleepLoop): it runs, but will never do anything else.
	Sleeps *locks.Site `json:"sleeps_in,omitempty"`
}

// EndedThread is a threading.Thread whose thread has finished.
type EndedThread struct {
	Object string `json:"object"` // its id among the objects
	Name   string `json:"name"`   // its threading name
	Ident  uint64 `json:"ident"`
	// NativeID is its kernel thread id, when the object recorded it.
	NativeID int `json:"native_id,omitempty"`
}

// maxEnded bounds the ended threads a finding lists.
const maxEnded = 16

// endedThreads lists the started Thread objects whose thread is gone: no
// live thread has its ident, or the live thread that has it is another
// Thread object's, whose native id is that thread's (glibc hands a dead
// thread's stack, and so its ident, to the next thread started).
func endedThreads(s *snapshot.Snapshot) []EndedThread {
	alive := map[uint64]int{} // ident → tid
	for i := range s.Threads {
		alive[s.Threads[i].Ident] = s.Threads[i].TID
	}
	claimed := map[uint64]string{} // ident → the object whose native id is the live thread's
	for _, ob := range s.Objects {
		if tid, ok := alive[ob.Ident]; ok && ob.Kind == snapshot.KindThread && ob.NativeID > 0 && ob.NativeID == tid {
			claimed[ob.Ident] = ob.ID
		}
	}
	var out []EndedThread
	for _, ob := range s.Objects {
		_, ok := alive[ob.Ident]
		other := claimed[ob.Ident] != "" && claimed[ob.Ident] != ob.ID
		if ob.Kind == snapshot.KindThread && ob.Ident != 0 && (!ok || other) {
			out = append(out, EndedThread{Object: ob.ID, Name: ob.Value, Ident: ob.Ident, NativeID: ob.NativeID})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Object < out[j].Object })
	if len(out) > maxEnded {
		out = out[:maxEnded]
	}
	return out
}

// putCalls are the calls that feed each kind of queue.
var putCalls = map[string][]string{
	snapshot.KindQueue:       {"put", "put_nowait"},
	snapshot.KindSimpleQueue: {"put", "put_nowait"},
	snapshot.KindCondition:   {"notify", "notify_all", "notifyAll"},
}

// takeCalls are the library calls that take from each kind of queue.
var takeCalls = map[string]map[string]bool{
	snapshot.KindQueue:       {"get": true},
	snapshot.KindSimpleQueue: {"get": true},
	snapshot.KindCondition:   {"wait": true, "wait_for": true},
}

// consumersOf groups the threads stuck taking from a queue by the queue.
func consumersOf(s *snapshot.Snapshot, a *locks.Analysis) map[string][]int {
	out := map[string][]int{}
	for i := range s.Threads {
		t := &s.Threads[i]
		w := a.Waits[t.TID]
		if !stuckForever(t, w) || w.Object == "" {
			continue
		}
		ob := s.Objects[w.Object]
		if ob == nil || !takeCalls[ob.Kind][w.Call] || idle(w) {
			continue
		}
		out[ob.ID] = append(out[ob.ID], t.TID)
	}
	return out
}

// idle tells an executor's idle worker: waiting for work is its job.
func idle(w *locks.Wait) bool {
	for _, e := range w.Evidence {
		if e.Basis == locks.BasisIdleWorker {
			return true
		}
	}
	return false
}

// starvedConsumers finds the starved queues. live says which threads can
// run at all (proven); likely which can if only the threads that refer to a
// queue feed it.
func starvedConsumers(s *snapshot.Snapshot, a *locks.Analysis, live, likely map[int]bool) []Finding {
	return eachObject(s, consumersOf(s, a), func(q *snapshot.Object, consumers []int) (Finding, bool) {
		return starvedOn(s, a, live, likely, q, consumers)
	})
}

func starvedOn(s *snapshot.Snapshot, a *locks.Analysis, live, likely map[int]bool, q *snapshot.Object, consumers []int) (Finding, bool) {
	if q.Kind != snapshot.KindCondition && q.Len != nil && *q.Len != 0 {
		return Finding{}, false // items wait: a get() is about to return
	}
	sort.Ints(consumers)
	others, canRun, ok := othersOf(s, a, live, likely, q, consumers, func(t *snapshot.Thread, p *Producer) {
		p.Puts = a.CallsIn(t.TID, q, putCalls[q.Kind]...)
		if p.Waits != nil {
			p.PastPuts = pastAll(t, p.Puts)
		}
	})
	if !ok {
		return Finding{}, false // a producer may still come
	}
	d := &StarvedConsumersDetails{Queue: locks.RefOf(q), Length: q.Len, Unfinished: q.Unfinished, Others: others}
	if q.Kind == snapshot.KindCondition {
		d.Length = nil
	}
	f := Finding{Kind: StarvedConsumers, Threads: consumers, Objects: []string{q.ID}, Details: d}
	d.Reason, f.Severity = noEnder(s, canRun, others)
	if d.Reason == ReasonMainSleeps && mainMayAct(a, s) {
		return Finding{}, false // a handler on the sleeping main thread may feed it
	}
	if handlerMayEnd(s, a, q, putCalls[q.Kind]) {
		return Finding{}, false // a signal handler the program installs may feed it
	}
	if d.Reason != ReasonNoReference {
		// Only where no thread can run is a gone producer the cause.
		d.Ended = endedThreads(s)
	}
	d.Consumers = threadWaits(a, consumers)
	d.StackLost = stackLost(s)
	f.gather(others, d.Ended)
	return f, true
}

// pastAll reports whether the thread stands after each call site, in the
// frame that runs the site's function.
func pastAll(t *snapshot.Thread, sites []locks.Site) bool {
	if len(sites) == 0 {
		return false
	}
	for _, st := range sites {
		past := false
		for i := range t.Frames {
			f := &t.Frames[i]
			if f.File == st.File && f.Qualname == st.Function {
				past = f.Line > st.Line
				break
			}
		}
		if !past {
			return false
		}
	}
	return true
}

// refersTo reports whether a frame of the thread holds the object: as a
// local, an attribute of self, or an attribute of an object of interest a
// local holds (a Thread subclass's self.queue).
func refersTo(s *snapshot.Snapshot, t *snapshot.Thread, id string) bool {
	for i := range t.Frames {
		for _, r := range t.Frames[i].Refs {
			if r == id {
				return true
			}
			if ob := s.Objects[r]; ob != nil {
				for _, sub := range ob.Attrs {
					if sub == id {
						return true
					}
				}
			}
		}
	}
	return false
}
