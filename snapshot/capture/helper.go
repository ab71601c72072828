package capture

// helper is the one goroutine a live snapshot runs beside its own from the
// start: it makes the heap resident (prefault) and runs the side work
// (ahead.go) between two of its chunks, as soon as it is handed over.
//
// A goroutine the snapshot started itself would be queued on the
// snapshot's own P, which the decode keeps without a pause, and the other P
// stays with the helper, which never blocks either: the side work began
// when the scheduler preempted the decode, 10 ms later, and on 100 threads
// the decode then waited 1-4 ms for it to end.
type helper struct {
	work chan func()
	// chunk does a piece of the helper's own work and says whether more is
	// left; nil once none is. Only the helper's goroutine calls it.
	chunk func() bool
}

func newHelper() *helper { return &helper{work: make(chan func(), 1)} }

// do runs f on the helper, or on a goroutine of its own when there is no
// helper (h nil).
func (h *helper) do(f func()) {
	if h == nil {
		go f()
		return
	}
	h.work <- f
}

// hold keeps the helper from its own work until release is called (h may be
// nil): while the target is stopped, its threads need a CPU to reach their
// stops, and the pause lasts until the last one has. 102 threads under
// 3.12, 30 runs: with the helper populating the heap meanwhile, the pause
// was 11 ms at most, 3.9 ms in 9 runs of 10; held, 4.9 and 3.6 ms. The
// helper takes up its work again after the chunk in progress, if any, ends.
func (h *helper) hold() (release func()) {
	if h == nil {
		return func() {}
	}
	resume := make(chan struct{})
	h.do(func() { <-resume })
	return func() { close(resume) }
}

// close tells the helper that no more work comes: it stops once it has run
// what was handed over (h may be nil).
func (h *helper) close() {
	if h != nil {
		close(h.work)
	}
}

// run calls chunk until it says there is no more, running the work handed
// over between two calls, then runs what is handed over until close. After
// close it calls chunk no more: the snapshot is done.
func (h *helper) run(chunk func() bool) {
	h.chunk = chunk
	for h.chunk != nil {
		select {
		case f, ok := <-h.work:
			if !ok {
				return
			}
			f()
		default:
		}
		h.pace()
	}
	for f := range h.work {
		f()
	}
}

// pace does a piece of the helper's own work, when some is left. It is
// called on the helper's goroutine only.
func (h *helper) pace() {
	if h.chunk != nil && !h.chunk() {
		h.chunk = nil
	}
}
