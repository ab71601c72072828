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
	binary chan string // the interpreter's file, once cpython.Open has parsed it
	err    error
	kin    *kin
}

// startAhead starts that work on peek, opened with ThreadsLater, on h (nil:
// a goroutine of its own). seize says whether the stop will be peek's own
// (live.Process.Stop).
func startAhead(peek *live.Process, seize bool, mods *native.Modules, h *helper) *ahead {
	a := &ahead{done: make(chan struct{}), binary: make(chan string, 1)}
	h.do(func() {
		defer close(a.done)
		if a.err = peek.ReadThreads(); a.err != nil {
			return
		}
		if seize {
			if a.err = peek.Seize(); a.err != nil {
				return
			}
		}
		a.kin = readKin(peek.PID())
		pipeHoldersAhead(peek, a.kin)
		// The interpreter's own file is left alone: cpython.Open parsed it
		// and the decode uses it now; finish adopts it (Modules.Adopt).
		binary, ok := <-a.binary
		if !ok {
			return
		}
		maps := peek.Mappings()
		for _, th := range peek.Threads() {
			if th.Regs != nil && !inFile(maps, th.Regs.RIP, binary) {
				mods.Symbolize(th.Regs.RIP, true, false)
			}
		}
	})
	return a
}

// interpreter tells the side work which file cpython.Open took for the
// interpreter (p nil: none, it failed).
func (a *ahead) interpreter(p *cpython.Process) {
	if p == nil {
		close(a.binary)
		return
	}
	a.binary <- p.Binary
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
