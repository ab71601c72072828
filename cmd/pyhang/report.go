package main

import (
	"github.com/pyhang/pyhang/heuristics"
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/waitgraph"
)

// report is the pyhang/1 JSON document: the snapshot, each thread's wait and
// holds, and the findings.
type report struct {
	Schema  string                      `json:"schema"`
	Target  snapshot.TargetInfo         `json:"target"`
	Threads []reportThread              `json:"threads"`
	Objects map[string]*snapshot.Object `json:"objects,omitempty"`
	// Findings is absent from a dump, which does not diagnose, and a list
	// (maybe empty) in a diagnosis.
	Findings *[]heuristics.Finding `json:"findings,omitempty"`
}

type reportThread struct {
	snapshot.Thread
	WaitingOn *locks.Wait  `json:"waiting_on"`
	Holds     []locks.Hold `json:"holds"`
}

// analysis is everything derived from one snapshot.
type analysis struct {
	snap     *snapshot.Snapshot
	locks    *locks.Analysis
	graph    *waitgraph.Graph
	findings []heuristics.Finding
}

func analyse(s *snapshot.Snapshot) *analysis {
	a := locks.Analyze(s)
	g := waitgraph.Build(s, a)
	return &analysis{snap: s, locks: a, graph: g, findings: heuristics.Find(s, a, g)}
}

func (an *analysis) report(withFindings bool) *report {
	r := &report{Schema: an.snap.Schema, Target: an.snap.Target, Objects: an.snap.Objects}
	if withFindings {
		fs := append([]heuristics.Finding{}, an.findings...)
		r.Findings = &fs
	}
	for _, t := range an.snap.Threads {
		rt := reportThread{Thread: t, WaitingOn: an.locks.Waits[t.TID], Holds: an.locks.Holds[t.TID]}
		if rt.Holds == nil {
			rt.Holds = []locks.Hold{}
		}
		r.Threads = append(r.Threads, rt)
	}
	return r
}

// problems reports whether any finding is an error or a warning.
func (an *analysis) problems() bool {
	for _, f := range an.findings {
		if f.Severity == "error" || f.Severity == "warning" {
			return true
		}
	}
	return false
}
