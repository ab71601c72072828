package heuristics

import (
	"slices"
	"time"

	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/motion"
	"github.com/pyhang/pyhang/snapshot"
)

// LockStarvation is a thread that waits for a lock other threads keep passing
// among themselves: it needs looks over time, not one snapshot.
const LockStarvation Kind = "lock-starvation"

// StarvationDetails is a thread stuck on a lock that stayed locked while
// the threads holding it changed, some of them still running.
type StarvationDetails struct {
	ThreadWait
	// For is how long the thread was seen stuck there, in seconds (at least).
	For motion.Seconds `json:"blocked_for_s"`
	// Holders are the threads seen holding the lock (surely or probably)
	// over the looks; Running those of them, or of the threads naming the
	// lock, that kept moving.
	Holders []int `json:"holders"`
	Running []int `json:"running"`
}

// starvable are the waits a thread can be starved in: a lock it never gets.
var starvable = map[string]bool{snapshot.KindLock: true, snapshot.KindRLock: true}

// Starved finds the threads starved of a lock: stuck waiting for it, without
// a timeout, for at least minFor (a single snapshot cannot tell), while the
// lock stayed locked and passed between at least two other threads (seen
// holding it at different looks) and one of those, or of the other threads
// that name the lock, kept moving — the writer of a readers-preferring
// RW lock that readers who keep coming never release. s and a are the
// consistent snapshot and its analysis; looks and m the looks before it and
// how each thread moved over them.
func Starved(s *snapshot.Snapshot, a *locks.Analysis, looks []motion.Look, m map[int]motion.Thread, minFor time.Duration) []Finding {
	var out []Finding
	for i := range s.Threads {
		t := &s.Threads[i]
		w := a.Waits[t.TID]
		mt, seen := m[t.TID]
		if w == nil || !starvable[w.Kind] || w.Timed() || !seen || mt.Class != motion.Stuck || mt.SameFor.Duration() < minFor {
			continue
		}
		holders, users := map[int]bool{}, map[int]bool{}
		for _, h := range a.Holders[w.ID] {
			holders[h] = true
		}
		for _, l := range looks {
			if l.Locks != nil {
				for tid, hs := range l.Locks.Holds {
					for _, h := range hs {
						if h.ID == w.ID {
							holders[tid] = true
						}
					}
				}
			}
			for tid, tl := range l.Threads {
				if slices.Contains(tl.Refs, w.ID) {
					users[tid] = true
				}
			}
		}
		delete(holders, t.TID)
		delete(users, t.TID)
		if len(holders) < 2 {
			continue
		}
		d := &StarvationDetails{ThreadWait: threadWait(a, t.TID), For: mt.SameFor}
		for tid := range holders {
			d.Holders = append(d.Holders, tid)
			users[tid] = true
		}
		for tid := range users {
			if mu, ok := m[tid]; ok && mu.Class != motion.Stuck {
				d.Running = append(d.Running, tid)
			}
		}
		if len(d.Running) == 0 {
			continue
		}
		slices.Sort(d.Holders)
		slices.Sort(d.Running)
		f := Finding{Kind: LockStarvation, Severity: Warning, Threads: append([]int{t.TID}, d.Running...),
			Objects: []string{w.ID}, Details: d}
		out = append(out, f)
	}
	return out
}
