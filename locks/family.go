package locks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// Waits across processes: a thread that waits for a child process (wait4,
// waitid) or reads a pipe waits on another process of its family. They are
// known from the snapshots of the processes together: the child's pid, the
// pipe's inode and which processes hold its write end.

// KindPipe is a pipe a thread reads, a resource across processes (beside
// KindProcess, a child a thread waits for).
const KindPipe = "pipe"

// CrossWait is a thread's wait on other processes.
type CrossWait struct {
	Thread int `json:"thread"` // tid of the waiting thread
	PID    int `json:"pid"`    // its process
	Waits  Ref `json:"waits_for"`
	// Processes are the processes that can end the wait: the child waited
	// for, or those that hold the pipe's write end (the waiter's own
	// included, which then never sees the end of the pipe while it keeps it).
	Processes []int `json:"processes"`
	// On are the main threads of the other processes among them: a process
	// ends, or writes, only if its threads run. For a shared lock
	// (KindSharedLock), the threads of other processes that hold it.
	On []int `json:"on,omitempty"`
	// Probable are the threads, of other processes, that probably hold a
	// shared lock no thread provably holds (each stands after a bare
	// acquire() of it, before the release(): Hold.Probable), as
	// {pid, thread}. They are no proof, so they are kept out of Processes
	// and On, which the family's cycles are built from.
	Probable []ProcessThread `json:"probably_held_by,omitempty"`
}

// ProcessThread is a thread of one process of a family.
type ProcessThread struct {
	PID    int `json:"pid"`
	Thread int `json:"thread"`
}

// CrossWaits finds the waits of every thread of snaps (one process each) on
// the other processes among them.
func CrossWaits(snaps []*snapshot.Snapshot) []CrossWait {
	mainTID := map[int]int{} // pid → its main thread
	writers := map[uint64][]int{}
	for _, s := range snaps {
		for _, t := range s.Threads {
			if t.Main {
				mainTID[s.Target.PID] = t.TID
			}
		}
		for _, p := range s.Target.OpenPipes {
			if p.Write && !containsInt(writers[p.Inode], s.Target.PID) {
				writers[p.Inode] = append(writers[p.Inode], s.Target.PID)
			}
		}
	}
	var out []CrossWait
	for _, s := range snaps {
		pid := s.Target.PID
		for _, t := range s.Threads {
			k := t.Kernel
			if k == nil {
				continue
			}
			var w *CrossWait
			switch {
			case k.WaitPID != nil:
				var procs []int
				switch wp := *k.WaitPID; {
				case wp > 0:
					procs = []int{wp}
				case wp == -1:
					for _, c := range s.Target.Children {
						procs = append(procs, c.PID)
					}
				}
				id := fmt.Sprintf("%s@%d", KindProcess, *k.WaitPID)
				name := fmt.Sprintf("pid %d", *k.WaitPID)
				if *k.WaitPID == -1 {
					id, name = fmt.Sprintf("%s@children-of-%d", KindProcess, pid), "any child"
				}
				w = &CrossWait{Thread: t.TID, PID: pid, Waits: Ref{Kind: KindProcess, ID: id, Name: &name}, Processes: procs}
			case k.PipeInode != 0 && (k.Syscall == "read" || k.Syscall == "readv"):
				id := fmt.Sprintf("%s@%d", KindPipe, k.PipeInode)
				name := fmt.Sprintf("pipe:[%d]", k.PipeInode)
				w = &CrossWait{Thread: t.TID, PID: pid, Waits: Ref{Kind: KindPipe, ID: id, Name: &name},
					Processes: append([]int(nil), writers[k.PipeInode]...)}
			}
			if w == nil {
				continue
			}
			sort.Ints(w.Processes)
			for _, p := range w.Processes {
				if m, ok := mainTID[p]; ok && p != pid {
					w.On = append(w.On, m)
				}
			}
			out = append(out, *w)
		}
	}
	return out
}

// KindSharedLock is a lock shared between processes (a multiprocessing
// lock), as a resource across processes: it is known by the file its
// semaphore is in, which every process sharing it maps.
const KindSharedLock = "shared-lock"

// SharedWaits finds the waits, in each process of parts (one analysis
// each), for a lock shared between processes that no thread of the
// waiter's own process holds (Wait.AnotherProcess), and the threads of the
// other processes that hold the same lock: the same semaphore file, mapped
// by both (snapshot.Object.SharedFile).
func SharedWaits(parts []*Analysis) []CrossWait {
	holders := map[string][]ProcessThread{}  // semaphore file → its holders
	probable := map[string][]ProcessThread{} // … and its probable ones
	for _, a := range parts {
		for _, tid := range sortedKeys(a.Holds) {
			for _, h := range a.Holds[tid] {
				if ob := a.Snap.Objects[h.ID]; ob != nil && ob.Shared && ob.SharedFile != "" {
					k, pt := sharedKey(ob.SharedFile), ProcessThread{a.Snap.Target.PID, tid}
					if h.Probable {
						probable[k] = append(probable[k], pt)
					} else {
						holders[k] = append(holders[k], pt)
					}
				}
			}
		}
	}
	var out []CrossWait
	for _, a := range parts {
		pid := a.Snap.Target.PID
		for _, tid := range sortedKeys(a.Waits) {
			w := a.Waits[tid]
			ob := a.Snap.Objects[w.Object]
			if !w.AnotherProcess || ob == nil || ob.SharedFile == "" {
				continue
			}
			k := sharedKey(ob.SharedFile)
			name := k
			if w.Name != nil {
				name = *w.Name
			}
			cw := CrossWait{Thread: tid, PID: pid, Waits: Ref{Kind: KindSharedLock, ID: KindSharedLock + "@" + k, Name: &name}}
			for _, h := range holders[k] {
				if h.PID != pid {
					cw.Processes = append(cw.Processes, h.PID)
					cw.On = append(cw.On, h.Thread)
				}
			}
			if len(holders[k]) == 0 {
				for _, h := range probable[k] {
					if h.PID != pid {
						cw.Probable = append(cw.Probable, h)
					}
				}
			}
			out = append(out, cw)
		}
	}
	return out
}

// sharedKey is a semaphore file's path as every process names it: /proc
// marks it deleted once it is unlinked, which the processes that had it
// open see at different times.
func sharedKey(path string) string {
	return strings.TrimSuffix(path, " (deleted)")
}
