package waitgraph

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// fixture builds a Snapshot and a hand-made Analysis together, the way
// locks.Analyze would fill them, without needing a process.
type fixture struct {
	s *snapshot.Snapshot
	a *locks.Analysis
}

func newFixture() *fixture {
	s := &snapshot.Snapshot{Schema: snapshot.Schema, Target: snapshot.TargetInfo{Kind: "pid", PID: 4321, Python: "3.12.1"}, Objects: map[string]*snapshot.Object{}}
	return &fixture{s: s, a: &locks.Analysis{Snap: s, Waits: map[int]*locks.Wait{}, Holds: map[int][]locks.Hold{}, Holders: map[string][]int{}}}
}

func strp(s string) *string { return &s }

func lockRef(addr uint64, name string) locks.Ref {
	r := locks.Ref{Kind: snapshot.KindLock, ID: fmt.Sprintf("lock@%#x", addr)}
	if name != "" {
		r.Name = strp(name)
	}
	return r
}

func rlockRef(addr uint64, name string) locks.Ref {
	r := lockRef(addr, name)
	r.Kind, r.ID = snapshot.KindRLock, fmt.Sprintf("rlock@%#x", addr)
	return r
}

func threadRef(tid int, name string) locks.Ref {
	return locks.Ref{Kind: snapshot.KindThread, ID: fmt.Sprintf("thread@%d", tid), Name: strp(name)}
}

// thread adds a snapshot thread whose innermost frame is fn at file:line.
func (f *fixture) thread(tid int, name, fn, file string, line int) *fixture {
	f.s.Threads = append(f.s.Threads, snapshot.Thread{
		TID: tid, Ident: uint64(tid) * 0x1000, Name: name, State: snapshot.StateBlocked, GIL: snapshot.GILNone,
		Frames: []snapshot.Frame{{Function: fn, Qualname: fn, File: file, Line: line}, {Function: "run", File: "/usr/lib/python3.12/threading.py", Line: 1010}},
	})
	return f
}

func (f *fixture) wait(tid int, r locks.Ref, on ...int) *fixture {
	f.a.Waits[tid] = &locks.Wait{Ref: r, Evidence: []locks.Evidence{{Basis: locks.BasisFutex}}, On: on, Object: r.ID}
	return f
}

func (f *fixture) hold(tid int, r locks.Ref, evidence string) *fixture {
	f.a.Holds[tid] = append(f.a.Holds[tid], locks.Hold{Ref: r, Evidence: ev(evidence)})
	f.a.Holders[r.ID] = append(f.a.Holders[r.ID], tid)
	return f
}

func (f *fixture) probable(tid int, r locks.Ref, evidence string) *fixture {
	f.a.Holds[tid] = append(f.a.Holds[tid], locks.Hold{Ref: r, Evidence: ev(evidence), Frame: 0, Probable: true})
	return f
}

// join makes tid wait in Thread.join on target, as locks does: the wait
// names the thread and the target "holds" its own thread object.
func (f *fixture) join(tid, target int, name string) *fixture {
	r := threadRef(target, name)
	f.wait(tid, r, target)
	f.a.Holders[r.ID] = []int{target}
	return f
}

func (f *fixture) build() *Graph { return Build(f.s, f.a) }

// twoCycle is the classic lock-order deadlock: posting holds ledger and wants
// audit, auditing holds audit and wants ledger.
func twoCycle() *fixture {
	ledger, audit := lockRef(0x7f0010, "ledger"), lockRef(0x7f0020, "audit")
	return newFixture().
		thread(4355, "posting", "settle", "/srv/app/h.py", 17).
		thread(4356, "auditing", "check", "/srv/app/h.py", 29).
		hold(4355, ledger, "with block at h.py:15").wait(4355, audit).
		hold(4356, audit, "with block at h.py:27").wait(4356, ledger)
}

// ev turns the short forms the tests write ("with block at h.py:15",
// "inside acquire() at rw.py:12", "RLock owner field (count 2)", joined by
// "; ") into typed evidence.
func ev(s string) []locks.Evidence {
	var out []locks.Evidence
	for _, part := range strings.Split(s, "; ") {
		site := func(prefix string) *locks.Site {
			rest := strings.TrimPrefix(part, prefix)
			if i := strings.Index(rest, " "); i >= 0 {
				rest = rest[:i]
			}
			file, line, _ := strings.Cut(rest, ":")
			n, _ := strconv.Atoi(line)
			return &locks.Site{File: "/src/" + file, Line: n}
		}
		switch {
		case strings.HasPrefix(part, "with block at "):
			out = append(out, locks.Evidence{Basis: locks.BasisWith, At: site("with block at ")})
		case strings.HasPrefix(part, "inside acquire() at "):
			out = append(out, locks.Evidence{Basis: locks.BasisBareAcquire, At: site("inside acquire() at ")})
		case strings.HasPrefix(part, "RLock owner field"):
			out = append(out, locks.Evidence{Basis: locks.BasisOwner, Count: 2})
		}
	}
	return out
}
