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

// Fork is the os.fork() call the stack of waiting thread tid has gone
// through, when it stands after one in its own function: the innermost frame
// that does. It is nil for a thread that does not wait. It reads source on
// demand (a dump never asks): each file once, for every thread.
func (a *Analysis) Fork(tid int) *ForkCall {
	if fc, ok := a.forks[tid]; ok {
		return fc
	}
	var fc *ForkCall
	if a.Waits[tid] != nil && a.x != nil {
		if th := a.x.thread(tid); th != nil {
			if a.forkSites == nil {
				a.forkSites = map[string][]pysource.Call{}
			}
			fc = forkCallOf(a.x, th, a.forkSites)
		}
	}
	if a.forks == nil {
		a.forks = map[int]*ForkCall{}
	}
	a.forks[tid] = fc
	return fc
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

// forkedFrom reports whether frame of th is one the process inherited from
// the parent it was forked from: a frame outside the one that called
// os.fork() and stands after the call (the parent's, as it forked).
func (a *Analysis) forkedFrom(th *snapshot.Thread, frame int) bool {
	if a.x == nil {
		return false
	}
	if a.forkSites == nil {
		a.forkSites = map[string][]pysource.Call{}
	}
	fc := forkCallOf(a.x, th, a.forkSites)
	return fc != nil && frame > fc.Frame
}

func (x *index) thread(tid int) *snapshot.Thread {
	for i := range x.s.Threads {
		if x.s.Threads[i].TID == tid {
			return &x.s.Threads[i]
		}
	}
	return nil
}
