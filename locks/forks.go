package locks

import (
	"github.com/pyhang/pyhang/internal/pysource"
	"github.com/pyhang/pyhang/snapshot"
)

// A process made by fork() starts with one thread, the one that called
// fork, and a copy of its parent's memory: every lock the parent's other
// threads held at that moment stays locked in the child, with nobody there
// to release it. The child's stack shows the fork: the frame that called
// os.fork() (the program's own, or multiprocessing's Popen._launch) stands
// after that call, in the child as in the parent.

// ForkCall is an os.fork() call a thread's stack has gone through.
type ForkCall struct {
	// Frame is the index of the frame that called it, still running.
	Frame int  `json:"frame"`
	Site  Site `json:"site"`
}

// forkCalls finds, for each waiting thread, the innermost frame that stands
// after an os.fork() call in its own function.
func (a *Analysis) forkCalls(x *index) {
	calls := map[string][]pysource.Call{} // os.fork() calls by file, each file scanned once
	for _, tid := range sortedKeys(a.Waits) {
		th := x.thread(tid)
		if th == nil {
			continue
		}
		if fc := forkCallOf(x, th, calls); fc != nil {
			if a.Forks == nil {
				a.Forks = map[int]*ForkCall{}
			}
			a.Forks[tid] = fc
		}
	}
}

func forkCallOf(x *index, th *snapshot.Thread, calls map[string][]pysource.Call) *ForkCall {
	for i := range th.Frames {
		f := &th.Frames[i]
		cs, ok := calls[f.File]
		if !ok {
			if src := x.src.file(f.File); src != nil {
				for _, c := range src.Calls("fork") {
					if c.Receiver == "os" {
						cs = append(cs, c)
					}
				}
			}
			calls[f.File] = cs
		}
		if len(cs) == 0 {
			continue
		}
		def, fn := x.src.def(f.File, f.Line)
		for _, c := range cs {
			if c.Line >= f.Line {
				continue
			}
			if d, _ := x.src.def(f.File, c.Line); d == def {
				return &ForkCall{Frame: i, Site: Site{File: f.File, Line: c.Line, Function: fn, Call: "fork"}}
			}
		}
	}
	return nil
}

func (x *index) thread(tid int) *snapshot.Thread {
	for i := range x.s.Threads {
		if x.s.Threads[i].TID == tid {
			return &x.s.Threads[i]
		}
	}
	return nil
}
