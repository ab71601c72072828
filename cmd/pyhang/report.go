package main

import (
	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/motion"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// report is the pyhang/1 JSON document: the snapshot, each thread's wait and
// holds, and the findings.
type report struct {
	Schema  string                      `json:"schema"`
	Target  snapshot.TargetInfo         `json:"target"`
	Threads []reportThread              `json:"threads"`
	Objects map[string]*snapshot.Object `json:"objects"`
	// Loops and Tasks are the asyncio event loops and their tasks, each task
	// with what it waits on and holds.
	Loops []snapshot.Loop `json:"loops,omitempty"`
	Tasks []reportTask    `json:"tasks,omitempty"`
	// Findings is absent from a dump, which does not diagnose, and a list
	// (maybe empty) in a diagnosis.
	Findings *[]reportFinding `json:"findings,omitempty"`
	// Looks are the looks taken before the snapshot (diagnose --samples).
	Looks *looksInfo `json:"looks,omitempty"`
	// Subprocesses are the reports of the target's descendants, with
	// --subprocesses: one per process, each a whole report (without
	// subprocesses of its own), or, for a process pyhang could not read
	// (not Python, gone, not permitted), its target and Error.
	Subprocesses []*report `json:"subprocesses,omitempty"`
	// CrossWaits are the waits of threads on other processes of the family
	// (a child waited for, a pipe read), with --subprocesses.
	CrossWaits []locks.CrossWait `json:"cross_waits,omitempty"`
	// SharedLockDeadlocks are the deadlocks across processes of the family
	// through locks they share, with --subprocesses (a diagnosis).
	SharedLockDeadlocks []heuristics.SharedLockDeadlock `json:"shared_lock_deadlocks,omitempty"`
	// Error says why a subprocess has no threads.
	Error string `json:"error,omitempty"`

	ahead *encodedAhead // the frames and objects in JSON, when encoded ahead
}

// reportTask is an asyncio task with what it waits on and holds, as a
// thread is.
type reportTask struct {
	snapshot.Task
	WaitingOn *reportWait  `json:"waiting_on"`
	Holds     []reportHold `json:"holds"`
}

type reportThread struct {
	snapshot.Thread
	WaitingOn *reportWait  `json:"waiting_on"`
	Holds     []reportHold `json:"holds"`
	// Motion is how the thread moved over the looks (diagnose --samples).
	Motion *motion.Thread `json:"motion,omitempty"`
}

// reportWait and reportHold carry the typed evidence ("basis") and the same
// in words ("evidence").
type reportWait struct {
	*locks.Wait
	Words string `json:"evidence"`
}

type reportHold struct {
	locks.Hold
	Words string `json:"evidence"`
}

// reportFinding is a finding with its summary and evidence in words.
type reportFinding struct {
	heuristics.Finding
	Summary  string   `json:"summary"`
	Evidence []string `json:"evidence"`
}

// analysis is everything derived from one snapshot.
type analysis struct {
	snap     *snapshot.Snapshot
	locks    *locks.Analysis
	graph    *waitgraph.Graph
	findings []heuristics.Finding
	// inferred are the edges the findings inferred (feed-site), which the
	// picture draws beside the graph's own.
	inferred []waitgraph.Inferred
	motion   map[int]motion.Thread // by tid, with looks
	looks    *looksInfo
	ahead    *encodedAhead // the frames and objects in JSON, encoded beside the analysis; or nil
}

// analyseLocks is the analysis a dump needs: each thread's wait and holds,
// without the graph and the heuristics.
func analyseLocks(s *snapshot.Snapshot) *analysis {
	return &analysis{snap: s, locks: locks.Analyze(s)}
}

// snapshotOnly is what a text dump needs: the snapshot, no analysis (the
// lock analysis of 102 threads took 2.7 ms, and a text dump printed none
// of it).
func snapshotOnly(s *snapshot.Snapshot) *analysis {
	return &analysis{snap: s}
}

func analyse(s *snapshot.Snapshot) *analysis {
	a := locks.Analyze(s)
	g := waitgraph.Build(s, a)
	an := &analysis{snap: s, locks: a, graph: g, findings: heuristics.Find(s, a, g)}
	if an.inferred = inferredEdges(an.findings); len(an.inferred) > 0 {
		an.graph = waitgraph.BuildInferred(s, a, an.inferred)
	}
	return an
}

// inferredEdges are the holders the deadlock findings inferred that no
// analysis holds: the thread whose code would end a wait (feed-site).
func inferredEdges(fs []heuristics.Finding) []waitgraph.Inferred {
	var out []waitgraph.Inferred
	for _, f := range fs {
		d, ok := f.Details.(*heuristics.DeadlockDetails)
		if !ok {
			continue
		}
		for _, st := range d.Cycle {
			for _, h := range st.HeldBy {
				if h.Probable && len(h.Evidence) > 0 && h.Evidence[0].Basis == locks.BasisFeedSite {
					out = append(out, waitgraph.Inferred{Resource: st.Waits.ID, Thread: h.Thread, Evidence: h.Evidence})
				}
			}
		}
	}
	return out
}

func (an *analysis) report(withFindings bool) *report {
	w := jsonWords(an)
	r := &report{Schema: an.snap.Schema, Target: an.snap.Target, Objects: map[string]*snapshot.Object{}, Looks: an.looks, ahead: an.ahead}
	for id, ob := range an.snap.Objects {
		r.Objects[id] = ob
	}
	for id, ob := range an.locks.Extra {
		r.Objects[id] = ob
	}
	if withFindings {
		fs := []reportFinding{}
		for i := range an.findings {
			f := &an.findings[i]
			fs = append(fs, reportFinding{Finding: *f, Summary: w.summary(f), Evidence: w.findingEvidence(f)})
		}
		r.Findings = &fs
	}
	r.Loops = an.snap.Loops
	for _, t := range an.snap.Tasks {
		rt := reportTask{Task: t, Holds: []reportHold{}}
		if wt := an.locks.TaskWaits[t.ID]; wt != nil {
			rt.WaitingOn = &reportWait{Wait: wt, Words: w.waitEvidence(wt)}
		}
		for _, h := range an.locks.TaskHolds[t.ID] {
			rt.Holds = append(rt.Holds, reportHold{Hold: h, Words: w.evidence(h.Evidence)})
		}
		r.Tasks = append(r.Tasks, rt)
	}
	for _, t := range an.snap.Threads {
		rt := reportThread{Thread: t, Holds: []reportHold{}}
		if m, ok := an.motion[t.TID]; ok {
			rt.Motion = &m
		}
		if wt := an.locks.Waits[t.TID]; wt != nil {
			rt.WaitingOn = &reportWait{Wait: wt, Words: w.waitEvidence(wt)}
		}
		for _, h := range an.locks.Holds[t.TID] {
			rt.Holds = append(rt.Holds, reportHold{Hold: h, Words: w.evidence(h.Evidence)})
		}
		r.Threads = append(r.Threads, rt)
	}
	return r
}

// status is the exit status of a diagnosis: problems found, incomplete, or
// nil for healthy.
func (an *analysis) status() error {
	switch {
	case an.problems():
		return problemsError{}
	case len(an.snap.Target.Missing) > 0:
		return incompleteError{}
	}
	return nil
}

// problems reports whether any finding is an error or a warning.
func (an *analysis) problems() bool {
	for i := range an.findings {
		if an.findings[i].Problem() {
			return true
		}
	}
	return false
}
