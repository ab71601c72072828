package capture

import (
	"runtime/debug"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/cpython"
	"github.com/pyhang/pyhang/snapshot/live"
	"github.com/pyhang/pyhang/snapshot/target"
)

// Looker takes repeated snapshots of a running process without stopping it
// (--nonblocking reads), finding its interpreter once: the series of looks
// that shows which threads move. Each look may be inconsistent; findings
// come from one consistent snapshot taken apart from them.
type Looker struct {
	pid  int
	p    *cpython.Process
	opts Options
	view *fileView // read once for all looks
}

// NewLooker finds the interpreter of the running process pid. A process
// that is not Python fails like Take does.
func NewLooker(pid int, opts Options) (*Looker, error) {
	t, err := live.Attach(pid, live.Options{NonBlocking: true})
	if err != nil {
		return nil, err
	}
	defer t.Close()
	p, err := cpython.Open(t)
	if err != nil {
		return nil, err
	}
	opts.NonBlocking, opts.NoSource = true, true
	return &Looker{pid: pid, p: p, opts: opts, view: liveView(pid)}, nil
}

// Look reads the process once more: its snapshot, and the kernel's view of
// each of its threads (their system calls and arguments).
func (l *Looker) Look() (*snapshot.Snapshot, []target.Thread, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	t, err := live.Attach(l.pid, live.Options{NonBlocking: true})
	if err != nil {
		return nil, nil, err
	}
	defer t.Close()
	l.p.Rebind(t)
	s, err := read(t, l.p, l.opts, nil)
	if err != nil {
		return nil, nil, err
	}
	// No line is quoted, but the analysis of a look may read the source
	// (a bare acquire()), once for all looks.
	s.Files = l.view
	return s, t.Threads(), nil
}
