package heuristics

import (
	"github.com/pyhang/pyhang/locks"
	"github.com/pyhang/pyhang/snapshot"
)

// InHandler says that a thread's wait in a deadlock runs inside a signal
// handler, above the code it interrupted: the handler waits for what that
// code holds, and only that code could release it once the handler returns.
type InHandler struct {
	Thread int `json:"thread"`
	// Frame runs the handler; Interrupted is the frame it interrupted (the
	// next one outward); Holder is the frame that holds the lock.
	Frame       int                  `json:"frame"`
	Interrupted int                  `json:"interrupted"`
	Holder      int                  `json:"holder"`
	Signal      snapshot.FrameSignal `json:"signal"`
}

// handlerOf finds, in a one-thread cycle, a frame running a signal handler
// between the waiting frame and the frame that holds the lock.
func handlerOf(s *snapshot.Snapshot, a *locks.Analysis, d *DeadlockDetails) *InHandler {
	if len(d.Cycle) != 1 {
		return nil
	}
	st := d.Cycle[0]
	t := threadOf(s, st.Thread)
	if t == nil {
		return nil
	}
	holder := -1
	for _, h := range a.Holds[st.Thread] {
		if h.ID == st.Waits.ID && h.Frame > holder {
			holder = h.Frame
		}
	}
	for i := st.Frame; i >= 0 && i < holder && i < len(t.Frames); i++ {
		if sh := t.Frames[i].SignalHandler; sh != nil {
			return &InHandler{Thread: st.Thread, Frame: i, Interrupted: i + 1, Holder: holder, Signal: *sh}
		}
	}
	return nil
}
