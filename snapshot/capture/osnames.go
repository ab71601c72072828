package capture

import (
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// osNames gives every thread its kernel name. A live process's threads are
// read from /proc once the snapshot has let them go (names are not part of
// the instant a snapshot copies, and reading them costs the pause nothing);
// a core carries at most the process name, the main thread's (NT_PRPSINFO,
// as the kernel writes it).
func osNames(s *snapshot.Snapshot, t target.Target) {
	if t.Kind() == "pid" {
		tids := make([]int, 0, len(s.Threads))
		for _, th := range s.Threads {
			if th.TID != 0 {
				tids = append(tids, th.TID)
			}
		}
		names := live.ThreadNames(t.PID(), tids)
		for i := range s.Threads {
			s.Threads[i].OSName = names[s.Threads[i].TID]
		}
		s.Target.OSNames = snapshot.OSNamesKernel
		return
	}
	byTID := map[int]string{}
	for _, kt := range t.Threads() {
		if kt.Name != "" {
			byTID[kt.TID] = kt.Name
		}
	}
	for i := range s.Threads {
		s.Threads[i].OSName = byTID[s.Threads[i].TID]
	}
	s.Target.OSNames = snapshot.OSNamesNone
	if len(byTID) > 0 {
		s.Target.OSNames = snapshot.OSNamesProcess
	}
}
