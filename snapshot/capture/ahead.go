package capture

import (
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/native"
	"github.com/pyhang/pyhang/snapshot/target"
)

// ahead is the work of a live snapshot that needs the running process but
// not its memory: reading the threads from /proc, seizing them for the
// stop, reading the children. Each costs a /proc read or a system call per
// thread (on 100 threads about 3 ms together); run beside the first decode,
// which reads memory alone, they cost the snapshot no time on a machine with
// a second CPU, and nothing of the pause. Last it loads the symbols of the
// modules the blocked threads are in (the C library, mostly), which finish
// names their innermost functions with.
//
// The helper runs it whole as soon as it is handed over (in small pages,
// once it has made the range's first part resident: smallLead), and
// populates the heap after (helper): with a huge page populated between two
// threads read, the work ended after the heap was whole, 5-23 ms later, and
// the decode waited for it; run first, 102 threads took 1 ms less back to
// back, 7-10 ms less each after 3 s idle (21 and 8 paired runs).
type ahead struct {
	done   chan struct{}
	interp chan interpInfo // once cpython.Open has parsed the interpreter
	err    error
	kin    *kin
	seized bool
	// pipeEnds, when not nil, are the awaited pipe ends whose holders the
	// scan looks for after the first decode (pipesAfter).
	pipeEnds []live.PipeEndRef
}

// seizeMode says whether the side work seizes the threads for peek's own
// stop (live.Process.Stop).
type seizeMode int

const (
	seizeNever  seizeMode = iota // the stop is another's (Options.Stop)
	seizeAlways                  // the snapshot stops the target
	// seizeUnlessAsleep: the snapshot may prove the threads idle instead
	// (live.Runs), which a thread seen running rules out.
	seizeUnlessAsleep
)

// startAhead starts that work on peek, opened with ThreadsLater, on h (nil:
// a goroutine of its own).
func startAhead(peek *live.Process, seize seizeMode, mods *native.Modules, h *helper) *ahead {
	a := &ahead{done: make(chan struct{}), interp: make(chan interpInfo, 1)}
	h.do(func() {
		defer close(a.done)
		if a.err = peek.ReadThreads(); a.err != nil {
			return
		}
		in, ok := <-a.interp
		if seize == seizeAlways || seize == seizeUnlessAsleep && !(ok && in.nativeIDs && asleep(peek.Threads())) {
			if a.err = peek.Seize(); a.err != nil {
				return
			}
			a.seized = true
		}
		a.kin = readKin(peek.PID())
		if seize == seizeUnlessAsleep && !a.seized {
			a.pipeEnds = awaitedPipeEnds(peek)
		} else {
			pipeHoldersAhead(peek, a.kin)
		}
		if !ok {
			return
		}
		// The interpreter's own file is left alone: cpython.Open parsed it
		// and the decode uses it now; finish adopts it (Modules.Adopt).
		maps := peek.Mappings()
		for _, th := range peek.Threads() {
			if th.Regs != nil && !inFile(maps, th.Regs.RIP, in.binary) {
				mods.Symbolize(th.Regs.RIP, true, false)
			}
		}
	})
	return a
}

// pipesAfter starts the scan for the holders of the pipes the threads wait
// on, when the side work left it for after the first decode (having read
// which they are), on h (nil: a goroutine of its own), and returns what
// waits for it to end. Where the target may be read without a stop, no
// pause waits for the helper, and the scan (every process's descriptors:
// 2-3 ms on 80 processes) runs beside the join's reads and the second look
// at the threads instead of ahead of the helper's share of the decode.
// Call it after wait.
func (a *ahead) pipesAfter(pid int, h *helper) (wait func()) {
	if len(a.pipeEnds) == 0 || a.kin == nil {
		return func() {}
	}
	done := make(chan struct{})
	h.do(func() {
		defer close(done)
		a.kin.pipesHeld = pipeHolders(pid, a.kin, a.pipeEnds)
	})
	return func() { <-done }
}

// asleep says whether every thread sleeps (S) or waits in the kernel (D).
func asleep(ts []target.Thread) bool {
	for _, t := range ts {
		if t.State != "S" && t.State != "D" {
			return false
		}
	}
	return true
}

// interpInfo is what the side work learns of the interpreter.
type interpInfo struct {
	binary string // the file cpython.Open took it from
	// nativeIDs: its thread states record their kernel thread (3.11+).
	// Without, a thread is told by its fs_base register, which only a
	// stop reads (see namedByNativeID).
	nativeIDs bool
}

// interpreter tells the side work which interpreter cpython.Open found
// (p nil: none, it failed).
func (a *ahead) interpreter(p *cpython.Process) {
	if p == nil {
		close(a.interp)
		return
	}
	a.interp <- interpInfo{binary: p.Binary, nativeIDs: p.Layout.TstateNativeThreadID >= 0}
}

// inFile says whether addr lies in a mapping of file path.
func inFile(maps []target.Mapping, addr uint64, path string) bool {
	for _, m := range maps {
		if addr >= m.Start && addr < m.End {
			return m.Path == path
		}
	}
	return false
}

// wait waits for the work to end and says whether it failed.
func (a *ahead) wait() error {
	<-a.done
	return a.err
}

// first is the error to report when reading memory failed with err: the
// side work's own, when it failed too (the process exited, or may not be
// traced), since that says why.
func (a *ahead) first(err error) error {
	if aerr := a.wait(); aerr != nil {
		return aerr
	}
	return err
}
