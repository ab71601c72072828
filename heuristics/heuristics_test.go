package heuristics

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// load reads a stored snapshot (see testdata/README.md).
func load(t *testing.T, name string) *snapshot.Snapshot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), "@REPO@", repo))
	var s snapshot.Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s.Files = hostFiles{}
	return &s
}

// hostFiles reads the stored snapshots' sources from this checkout, where
// their paths point once @REPO@ is put back.
type hostFiles struct{}

func (hostFiles) Text(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

func threadByTID(s *snapshot.Snapshot, tid int) *snapshot.Thread {
	for i := range s.Threads {
		if s.Threads[i].TID == tid {
			return &s.Threads[i]
		}
	}
	return nil
}

func nameOf(ob *snapshot.Object) string { return locks.BestName(ob) }

func run(t *testing.T, name string) (*snapshot.Snapshot, *locks.Analysis, []Finding) {
	s := load(t, name)
	a := locks.Analyze(s)
	return s, a, Find(s, a, waitgraph.Build(s, a))
}

// names returns the thread names of tids, sorted.
func names(s *snapshot.Snapshot, tids []int) []string {
	var out []string
	for _, tid := range tids {
		if th := threadByTID(s, tid); th != nil {
			out = append(out, th.Name)
		}
	}
	sort.Strings(out)
	return out
}

func objectNames(s *snapshot.Snapshot, ids []string) []string {
	var out []string
	for _, id := range ids {
		if ob := s.Objects[id]; ob != nil && nameOf(ob) != "" {
			out = append(out, nameOf(ob))
		} else {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func errors(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Problem() {
			out = append(out, f)
		}
	}
	return out
}

func TestDeadlocks(t *testing.T) {
	for _, tc := range []struct {
		prog    string
		threads []string
		objects []string
	}{
		{"deadlock", []string{"audit", "posting"}, []string{"audit_log", "ledger"}},
		{"self_deadlock", []string{"reloader"}, []string{"config_lock"}},
		{"deadlock_rlock_join", []string{"indexer", "loader", "warmer"}, []string{"cache_lock", "registry", "thread@"}},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			s, _, fs := run(t, tc.prog)
			errs := errors(fs)
			if len(errs) != 1 || errs[0].Kind != Deadlock {
				t.Fatalf("findings = %+v, want one deadlock", fs)
			}
			if got := names(s, errs[0].Threads); strings.Join(got, ",") != strings.Join(tc.threads, ",") {
				t.Errorf("deadlock threads = %v, want %v", got, tc.threads)
			}
			got := objectNames(s, errs[0].Objects)
			for i, want := range tc.objects {
				if i >= len(got) || !strings.HasPrefix(got[i], want) {
					t.Errorf("deadlock objects = %v, want %v", got, tc.objects)
					break
				}
			}
			if d := errs[0].Details.(*DeadlockDetails); len(d.Cycle) != len(tc.threads) {
				t.Errorf("cycle = %+v, want %d steps", d.Cycle, len(tc.threads))
			}
		})
	}
}

func TestOrphanedLock(t *testing.T) {
	s, a, fs := run(t, "orphaned_lock")
	errs := errors(fs)
	if len(errs) != 1 || errs[0].Kind != OrphanedLock {
		t.Fatalf("findings = %+v, want one orphaned-lock", fs)
	}
	f := errs[0]
	if got := objectNames(s, f.Objects); len(got) != 1 || got[0] != "ReadersWriters.file_lock" {
		t.Errorf("orphaned lock = %v, want ReadersWriters.file_lock", got)
	}
	if got := names(s, f.Threads); strings.Join(got, ",") != "sync_0,sync_1,sync_2,sync_3" {
		t.Errorf("waiters = %v", got)
	}
	var site *locks.Site
	for _, st := range a.BareSites[f.Objects[0]] {
		if st.Call == "acquire" {
			st := st
			site = &st
		}
	}
	if site == nil || filepath.Base(site.File) != "talk_readers_writers.py" || site.Function != "ReadersWriters.read" {
		t.Fatalf("bare acquire site = %+v, want ReadersWriters.read in talk_readers_writers.py", site)
	}
	d := f.Details.(*OrphanedLockDetails)
	if d.Cause != CauseBareAcquire || len(d.Acquires) != 1 || d.Acquires[0] != *site {
		t.Errorf("details = %+v, want the bare acquire() site %+v", d, *site)
	}
}

// TestAllBlocked: every thread waits on another; the consumer's queue is
// starved (its only producer waits for a lock the consumer holds), and
// all-blocked is noted as the consequence.
func TestAllBlocked(t *testing.T) {
	s, _, fs := run(t, "all_blocked")
	errs := errors(fs)
	if len(errs) != 1 || errs[0].Kind != StarvedConsumers {
		t.Fatalf("findings = %+v, want starved-consumers", fs)
	}
	d := errs[0].Details.(*StarvedConsumersDetails)
	if got := nameOf(s.Objects[d.Queue.ID]); got != "jobs" || d.Reason != ReasonOthersBlocked {
		t.Errorf("queue %s, reason %s; want jobs, %s", got, d.Reason, ReasonOthersBlocked)
	}
	var producer *Producer
	for i := range d.Others {
		if threadByTID(s, d.Others[i].Thread).Name == "producer" {
			producer = &d.Others[i]
		}
	}
	if producer == nil || len(producer.Puts) != 1 || producer.PastPuts || producer.Waits == nil ||
		producer.Waits.Waits.Name == nil || *producer.Waits.Waits.Name != "stock_lock" {
		t.Errorf("producer %+v: want a put() site ahead of it, waiting for stock_lock", producer)
	}
	last := fs[len(fs)-1]
	if last.Kind != AllBlocked || last.Severity != Info || len(last.Threads) != len(s.Threads) {
		t.Errorf("last finding %+v, want all-blocked over all %d threads, as info", last, len(s.Threads))
	}
}

func TestStarvedConsumers(t *testing.T) {
	for _, tc := range []struct {
		prog, queue string
		consumers   []string
		length      *int
		others      []string
	}{
		{"talk_job_queue", "jobs", nil, new(int), []string{"MainThread"}},
		{"starved_handoff", "Mailbox.ready", []string{"reader"}, nil, []string{"MainThread"}},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			s, _, fs := run(t, tc.prog)
			errs := errors(fs)
			if len(errs) != 1 || errs[0].Kind != StarvedConsumers || errs[0].Severity != Error {
				t.Fatalf("findings = %+v, want one starved-consumers error", fs)
			}
			d := errs[0].Details.(*StarvedConsumersDetails)
			if got := nameOf(s.Objects[d.Queue.ID]); got != tc.queue {
				t.Errorf("queue %s, want %s", got, tc.queue)
			}
			if (d.Length == nil) != (tc.length == nil) || d.Length != nil && *d.Length != *tc.length {
				t.Errorf("length %v, want %v", d.Length, tc.length)
			}
			var consumers, others []int
			for _, c := range d.Consumers {
				consumers = append(consumers, c.Thread)
			}
			for _, o := range d.Others {
				others = append(others, o.Thread)
			}
			want := tc.consumers
			if want == nil { // every worker still alive: the race decides which one finished
				for _, th := range s.Threads {
					if strings.HasPrefix(th.Name, "worker-") {
						want = append(want, th.Name)
					}
				}
				sort.Strings(want)
				if len(want) == 0 || len(want) == 10 {
					t.Fatalf("%d workers alive, want 1 to 9", len(want))
				}
			}
			if got := names(s, consumers); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("consumers %v, want %v", got, want)
			}
			if got := names(s, others); strings.Join(got, ",") != strings.Join(tc.others, ",") || d.Reason != ReasonOthersBlocked {
				t.Errorf("others %v (%s), want %v blocked", got, d.Reason, tc.others)
			}
		})
	}
}

// TestStarvedEndedWriter: the hand-off's writer thread is gone, and the
// finding says so.
func TestStarvedEndedWriter(t *testing.T) {
	_, _, fs := run(t, "starved_handoff")
	d := fs[0].Details.(*StarvedConsumersDetails)
	if len(d.Ended) != 1 || d.Ended[0].Name != "writer" {
		t.Errorf("ended threads %+v, want the writer", d.Ended)
	}
}

// TestStarvedWhenTheProducerStops: the healthy producer, made to wait
// forever on a lock its consumer holds, no longer feeds the queues; made to
// wait on a lock a running thread holds, it still may. (The fixture's main
// thread sleeps in a loop that does nothing else: holding the lock there,
// it would never let go.)
func TestStarvedWhenTheProducerStops(t *testing.T) {
	s := load(t, "healthy_producer")
	producer, consumer, main := threadNamed(s, "producer"), threadNamed(s, "consumer"), threadNamed(s, "MainThread")
	lock := &snapshot.Object{ID: "lock@0x1000", Kind: snapshot.KindLock, Type: "_thread.lock", Addr: 0x1000, Locked: new(bool), WaitKey: 0x2000}
	*lock.Locked = true
	s.Objects[lock.ID] = lock
	producer.State = snapshot.StateBlocked
	producer.Kernel = &snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: 0x2000}
	holdWith := func(th *snapshot.Thread) {
		for i := range s.Threads {
			for j := range s.Threads[i].Frames {
				s.Threads[i].Frames[j].With = nil
			}
		}
		th.Frames[len(th.Frames)-1].With = []string{lock.ID}
	}

	holdWith(main) // main runs: it may let go, the producer may put again
	main.State = snapshot.StateRunning
	a := locks.Analyze(s)
	if fs := Find(s, a, waitgraph.Build(s, a)); len(fs) != 0 {
		t.Fatalf("producer waits on a lock a sleeping thread holds: findings %+v, want none", fs)
	}

	holdWith(consumer)
	a = locks.Analyze(s)
	fs := Find(s, a, waitgraph.Build(s, a))
	var starved []string
	for _, f := range fs {
		if f.Kind == StarvedConsumers {
			starved = append(starved, names(s, f.Details.(*StarvedConsumersDetails).consumerTIDs())...)
		}
	}
	sort.Strings(starved)
	// The consumer holds the lock: the producer waits forever. The main
	// thread sleeps and could run, but neither queue is global and main's
	// frames do not refer to them: a warning, not an error.
	if strings.Join(starved, ",") != "consumer,fast-consumer" {
		t.Fatalf("starved consumers %v (findings %+v), want consumer and fast-consumer", starved, fs)
	}
	for _, f := range fs {
		if f.Kind != StarvedConsumers {
			continue
		}
		d := f.Details.(*StarvedConsumersDetails)
		ok := f.Severity == Warning && d.Reason == ReasonNoReference
		for _, o := range d.Others {
			switch o.Thread {
			case main.TID:
				ok = ok && o.CanRun && !o.Refers && o.Waits == nil
			case producer.TID:
				ok = ok && o.Refers && len(o.Puts) == 1 && o.Waits != nil && o.Waits.Waits.ID == lock.ID
			}
		}
		if !ok {
			t.Errorf("%s: severity %s, reason %s, others %+v; want a warning: MainThread can run and does not refer to it, the producer waits for the lock", nameOf(s.Objects[d.Queue.ID]), f.Severity, d.Reason, d.Others)
		}
	}
	// With the main thread joining the consumer, nothing can run at all.
	main.State = snapshot.StateBlocked
	main.Kernel = &snapshot.Kernel{Syscall: "futex", Nr: 202, Futex: 0x3000}
	handle := &snapshot.Object{ID: "thread-handle@0x3000", Kind: snapshot.KindHandle, Addr: 0x3000, WaitKey: 0x3000, Ident: consumer.Ident}
	s.Objects[handle.ID] = handle
	a = locks.Analyze(s)
	errs := 0
	for _, f := range Find(s, a, waitgraph.Build(s, a)) {
		if f.Kind == StarvedConsumers {
			if f.Severity != Error || f.Details.(*StarvedConsumersDetails).Reason != ReasonOthersBlocked {
				t.Errorf("%+v: want an error, every other thread blocked", f)
			}
			errs++
		}
	}
	if errs != 2 {
		t.Errorf("%d starved queues, want both", errs)
	}
}

func (d *StarvedConsumersDetails) consumerTIDs() []int {
	var out []int
	for _, c := range d.Consumers {
		out = append(out, c.Thread)
	}
	return out
}

func threadNamed(s *snapshot.Snapshot, name string) *snapshot.Thread {
	for i := range s.Threads {
		if s.Threads[i].Name == name {
			return &s.Threads[i]
		}
	}
	return nil
}

func TestStuckIO(t *testing.T) {
	s, _, fs := run(t, "talk_http_pool")
	errs := errors(fs)
	if len(errs) != 1 || errs[0].Kind != StuckIO || errs[0].Severity != Warning {
		t.Fatalf("findings = %+v, want one stuck-io warning", fs)
	}
	d := errs[0].Details.(*StuckIODetails)
	var tids []int
	for _, st := range d.Stuck {
		tids = append(tids, st.Thread)
		if st.Op != OpRead || st.Timeout >= 0 || st.Peer == "" || st.State != "ESTABLISHED" || !strings.HasPrefix(st.URL, "http://127.0.0.1:") || st.URLLocal != "url" {
			t.Errorf("stuck thread %+v: want a read with no timeout, its peer and its url", st)
		}
		if f := threadByTID(s, st.Thread).Frames[st.Frame]; f.Function != "fetch" {
			t.Errorf("thread %d's own frame is %s, want fetch", st.Thread, f.Function)
		}
	}
	if got := names(s, tids); strings.Join(got, ",") != "poller_0,poller_1,poller_2,poller_3,poller_4" {
		t.Errorf("stuck threads %v", got)
	}
	if len(d.Pools) != 1 || d.Pools[0].Stuck != 5 || len(d.Pools[0].Workers) != 5 || d.Pools[0].Waiting == nil || *d.Pools[0].Waiting != 10 {
		t.Errorf("pools %+v, want 5 of 5 stuck, 10 waiting", d.Pools)
	}
	if len(d.Dependents) != 1 || threadByTID(s, d.Dependents[0].Thread).Name != "MainThread" {
		t.Errorf("dependents %+v, want MainThread", d.Dependents)
	}
}

// TestStuckIONeedsNoTimeout: the same workers, their sockets given a
// timeout, or seen in a core (where a poll's socket state is unknown), or
// polling a listening socket, are not stuck.
func TestStuckIONeedsNoTimeout(t *testing.T) {
	stuck := func(s *snapshot.Snapshot) int {
		a := locks.Analyze(s)
		for _, f := range Find(s, a, waitgraph.Build(s, a)) {
			if f.Kind == StuckIO {
				return len(f.Details.(*StuckIODetails).Stuck)
			}
		}
		return 0
	}
	s := load(t, "talk_http_pool")
	for _, ob := range s.Objects {
		if ob.Kind == snapshot.KindSocket && ob.Timeout != nil && *ob.Timeout < 0 {
			*ob.Timeout = 30
		}
	}
	if n := stuck(s); n != 0 {
		t.Errorf("sockets with a timeout: %d stuck, want 0", n)
	}

	// A poll without a timeout on a connected socket is stuck on a live
	// target, unknown (so not reported) in a core, and never on a listener.
	s = load(t, "talk_http_pool")
	for i := range s.Threads {
		if k := s.Threads[i].Kernel; k != nil && k.Syscall == "recvfrom" {
			k.Syscall, k.Nr, k.FDs, k.FD = "poll", 7, []int{*k.FD}, nil
		}
	}
	if n := stuck(s); n != 5 {
		t.Errorf("live poll forever: %d stuck, want 5", n)
	}
	// The poll's timeout, not the socket's, bounds it: a non-blocking
	// socket (timeout 0) polled forever is stuck too, unless the poll also
	// waits on a descriptor that is no connected socket (a wake-up pipe).
	for _, ob := range s.Objects {
		if ob.Kind == snapshot.KindSocket && ob.Timeout != nil && *ob.Timeout < 0 {
			*ob.Timeout = 0
		}
	}
	if n := stuck(s); n != 5 {
		t.Errorf("live poll forever of non-blocking sockets: %d stuck, want 5", n)
	}
	for i := range s.Threads {
		if k := s.Threads[i].Kernel; k != nil && k.Syscall == "poll" {
			k.FDs = append(k.FDs, 1000)
		}
	}
	if n := stuck(s); n != 0 {
		t.Errorf("poll of a socket and a wake-up descriptor: %d stuck, want 0", n)
	}
	for i := range s.Threads {
		if k := s.Threads[i].Kernel; k != nil && k.Syscall == "poll" {
			k.FDs = k.FDs[:len(k.FDs)-1]
		}
	}
	for _, ob := range s.Objects {
		if ob.Socket != nil && ob.Socket.State == "ESTABLISHED" {
			ob.Socket.State = "LISTEN"
		}
	}
	if n := stuck(s); n != 0 {
		t.Errorf("poll of listening sockets: %d stuck, want 0", n)
	}
	for _, ob := range s.Objects {
		ob.Socket = nil
	}
	if n := stuck(s); n != 0 {
		t.Errorf("poll forever in a core: %d stuck, want 0 (the socket's state is unknown)", n)
	}
}

// TestHealthy: look-alikes of the problems must get no finding at all.
func TestHealthy(t *testing.T) {
	for _, prog := range []string{"held_by_bare_acquire", "healthy_condition", "healthy_rlock", "healthy_producer", "healthy_sockets", "healthy_idle_pool"} {
		t.Run(prog, func(t *testing.T) {
			_, a, fs := run(t, prog)
			if len(fs) != 0 {
				t.Fatalf("findings on a healthy program: %+v", fs)
			}
			if prog == "held_by_bare_acquire" {
				found := false
				for _, hs := range a.Holds {
					for _, h := range hs {
						found = found || (h.Probable && h.Name != nil && *h.Name == "journal_lock")
					}
				}
				if !found {
					t.Errorf("compactor is not named as journal_lock's probable holder: %+v", a.Holds)
				}
			}
		})
	}
}

// TestRoundTrip: a snapshot survives JSON unchanged, so stored ones are faithful.
func TestRoundTrip(t *testing.T) {
	s := load(t, "deadlock")
	s.Files = nil
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back snapshot.Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Fatal("snapshot changed through a JSON round trip")
	}
}

// TestFromFrames: gcores of Debian unstable's 3.13/3.14 (glibc 2.43) lost
// the waiters' C stacks, with the wait entries that tie a parked thread to
// its lock. The waits are named from the innermost Python frame's call, and
// the findings come out as from a whole core, saying what they rest on.
func TestFromFrames(t *testing.T) {
	for _, tc := range []struct {
		snap     string
		kind     Kind // "" = no finding at all
		threads  []string
		objects  []string
		indirect []string // threads whose wait is named from the frame
	}{
		{"gcore-3.14-deadlock", Deadlock, []string{"audit", "posting"}, []string{"audit_log", "ledger"}, []string{"audit", "posting"}},
		{"gcore-3.13-orphaned_lock", OrphanedLock, []string{"sync_0", "sync_1", "sync_2", "sync_3"}, []string{"ReadersWriters.file_lock"},
			[]string{"sync_0", "sync_1", "sync_2", "sync_3"}},
		// The consumer is starved: its producer waits for a lock the consumer
		// holds, named from its frame.
		{"gcore-3.14-all_blocked", StarvedConsumers, []string{"MainThread", "consumer", "notifier", "producer"}, nil, []string{"producer"}},
		{"gcore-3.13-held_by_bare_acquire", "", nil, nil, []string{"appender-0", "appender-1"}},
	} {
		t.Run(tc.snap, func(t *testing.T) {
			s, a, fs := run(t, tc.snap)
			var indirect []string
			for _, th := range s.Threads {
				w := a.Waits[th.TID]
				if w == nil || len(w.Evidence) == 0 || w.Evidence[0].Basis != locks.BasisPythonFrame {
					continue
				}
				indirect = append(indirect, th.Name)
				if ob := s.Objects[w.ID]; ob == nil || th.Frames[0].Calling == nil || th.Frames[0].Calling.Object != w.ID {
					t.Errorf("%s waits for %s from its frame, which is calling %+v", th.Name, w.ID, th.Frames[0].Calling)
				}
			}
			sort.Strings(indirect)
			if strings.Join(indirect, ",") != strings.Join(tc.indirect, ",") {
				t.Errorf("waits named from the frame: %v, want %v", indirect, tc.indirect)
			}
			errs := errors(fs)
			if tc.kind == "" {
				if len(fs) != 0 {
					t.Fatalf("findings = %+v, want none", fs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Kind != tc.kind {
				t.Fatalf("findings = %+v, want one %s", fs, tc.kind)
			}
			if got := names(s, errs[0].Threads); strings.Join(got, ",") != strings.Join(tc.threads, ",") {
				t.Errorf("threads = %v, want %v", got, tc.threads)
			}
			if tc.objects != nil {
				if got := objectNames(s, errs[0].Objects); strings.Join(got, ",") != strings.Join(tc.objects, ",") {
					t.Errorf("objects = %v, want %v", got, tc.objects)
				}
			}
			// The finding carries each wait's basis, so it can say it rests on
			// the frames.
			var waits []ThreadWait
			switch d := errs[0].Details.(type) {
			case *DeadlockDetails:
				for _, st := range d.Cycle {
					waits = append(waits, st.ThreadWait)
				}
			case *OrphanedLockDetails:
				waits = d.Waiters
			case *AllBlockedDetails:
				waits = d.Waits
			case *StarvedConsumersDetails:
				waits = d.Consumers
				for _, o := range d.Others {
					if o.Waits != nil {
						waits = append(waits, *o.Waits)
					}
				}
			}
			marked := 0
			for _, w := range waits {
				for _, e := range w.Evidence {
					if e.Basis == locks.BasisPythonFrame {
						marked++
					}
				}
			}
			if marked != len(tc.indirect) {
				t.Errorf("%d of the finding's waits carry the python-frame basis, want %d", marked, len(tc.indirect))
			}
		})
	}
}

// TestAllBlockedStateLost: a thread whose state a truncated core lost is not
// a thread without Python: the threads that remain, all blocked, do not make
// the process all-blocked, since what the lost one does is unknown.
func TestAllBlockedStateLost(t *testing.T) {
	s := load(t, "all_blocked")
	for i := range s.Threads {
		if th := &s.Threads[i]; th.Name == "notifier" {
			*th = snapshot.Thread{TID: th.TID, Ident: th.Ident, StateLost: true, StackLost: true,
				GIL: snapshot.GILUnknown, State: th.State, Kernel: th.Kernel, Frames: []snapshot.Frame{}}
		}
	}
	a := locks.Analyze(s)
	for _, f := range Find(s, a, waitgraph.Build(s, a)) {
		if f.Kind == AllBlocked {
			t.Errorf("all-blocked over %v with a thread whose state was lost: %+v", f.Threads, f)
		}
	}
}

// TestAbandonedStateLost: nor does an event's wait stand abandoned when a
// core lost the state of a thread besides its waiter, even one whose futex
// shows it parked forever: the claim that no thread will set the event
// rests on every other thread, as all-blocked's does.
func TestAbandonedStateLost(t *testing.T) {
	s := load(t, "all_blocked")
	whole := locks.Analyze(s)
	if !slices.ContainsFunc(Find(s, whole, waitgraph.Build(s, whole)), func(f Finding) bool { return f.Kind == AbandonedWait }) {
		t.Fatal("the whole snapshot shows no abandoned wait: the fixture no longer tests this")
	}
	for i := range s.Threads {
		if th := &s.Threads[i]; th.Name == "consumer" {
			th.StateLost, th.StackLost, th.Name, th.Frames = true, true, "", []snapshot.Frame{}
		}
	}
	a := locks.Analyze(s)
	for _, f := range Find(s, a, waitgraph.Build(s, a)) {
		if f.Kind == AbandonedWait {
			t.Errorf("abandoned wait over %v with another thread's state lost: %+v", f.Threads, f)
		}
	}
}
