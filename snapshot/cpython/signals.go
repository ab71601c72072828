package cpython

// CPython runs a Python signal handler from the thread's own evaluation:
// the C handler only records the signal, and the main thread calls the
// Python function later, at an eval-breaker check or when a blocking call
// returns EINTR (_PyErr_CheckSignals / PyErr_CheckSignals). It calls it
// with two arguments: the signal number and the frame object of the frame
// it interrupted, which is the topmost frame of the thread at that moment,
// so the next Python frame outward in the chain. Nothing else in CPython
// calls a function with the frame it interrupts, so that pair of arguments
// marks a handler's frame on every version, without native stacks or
// symbols: up to 3.10 the frame object is the interrupted frame itself;
// from 3.11 it is a PyFrameObject whose f_frame is the interrupted
// _PyInterpreterFrame.

// maxSignal bounds a signal number (SIGRTMAX is 64 on Linux).
const maxSignal = 64

// markSignalHandlers sets Signal on the frames that run a signal handler.
// The handler's arguments are its first locals: (signum, frame) for a
// function, (self, signum, frame) for a bound method or a partial with one
// argument bound.
func (p *Process) markSignalHandlers(frames []Frame) {
	for i := 0; i+1 < len(frames); i++ {
		f := &frames[i]
		for k := 0; k < 2 && k+1 < len(f.Locals); k++ {
			if !p.mayBeFrameOf(f.Locals[k+1].Value, &frames[i+1]) {
				continue
			}
			if n, ok := p.signalNumber(f.Locals[k].Value); ok && p.isFrameOf(f.Locals[k+1].Value, frames[i+1].Addr) {
				f.Signal = n
				break
			}
		}
	}
}

func (p *Process) signalNumber(v uint64) (int, bool) {
	if v == 0 {
		return 0, false
	}
	if tn, err := p.typeName(v); err != nil || tn != "int" {
		return 0, false
	}
	n, err := p.smallInt(v)
	if err != nil || n < 1 || n > maxSignal {
		return 0, false
	}
	return int(n), true
}

// mayBeFrameOf is what the frame itself says of whether v is its frame
// object, without reading v: up to 3.10 a frame is its frame object; from
// 3.11 a frame points at the one made for it, if any (most frames have
// none: CPython makes one only when asked for it, as for a handler's
// argument). A quick test for every frame, before isFrameOf reads v.
func (p *Process) mayBeFrameOf(v uint64, f *Frame) bool {
	if v == 0 {
		return false
	}
	if p.Layout.FrameObjFrame < 0 {
		return v == f.Addr
	}
	return v == f.frameObj
}

// isFrameOf reports whether v is the frame object of the frame at addr.
func (p *Process) isFrameOf(v, addr uint64) bool {
	if v == 0 || addr == 0 {
		return false
	}
	if p.Layout.FrameObjFrame < 0 {
		return v == addr // PyFrameObject is the frame (3.8–3.10)
	}
	if tn, err := p.typeName(v); err != nil || tn != "frame" {
		return false
	}
	f, err := p.r.u64(v + uint64(p.Layout.FrameObjFrame))
	return err == nil && f == addr
}
