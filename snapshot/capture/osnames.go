package capture

import (
	"maps"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// osNames gives every thread its kernel name. A live process's come from the
// stat lines the stop read, with each thread's state, before interrupting it
// (the pause does not grow for them), or for a thread the stop did not
// list, from /proc once the snapshot has let the threads go;
// a core carries at most the process name, the main thread's (NT_PRPSINFO,
// as the kernel writes it).
func osNames(s *snapshot.Snapshot, t target.Target) {
	if t.Kind() == "pid" {
		names := map[int]string{}
		for _, kt := range t.Threads() {
			if kt.Name != "" {
				names[kt.TID] = kt.Name
			}
		}
		var tids []int
		for _, th := range s.Threads {
			if _, ok := names[th.TID]; th.TID != 0 && !ok {
				tids = append(tids, th.TID)
			}
		}
		if len(tids) > 0 {
			maps.Copy(names, live.ThreadNames(t.PID(), tids))
		}
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
	if n, ok := t.(interface{ ThreadNamesNoted() bool }); ok && n.ThreadNamesNoted() {
		s.Target.OSNames = snapshot.OSNamesCore
	} else if len(byTID) > 0 {
		s.Target.OSNames = snapshot.OSNamesProcess
	}
}
