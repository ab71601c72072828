package cpython

import (
	"fmt"
)

// ThreadState is one PyThreadState.
type ThreadState struct {
	Addr     uint64
	Interp   uint64
	Ident    uint64 // thread_id: the pthread_t, = threading.get_ident()
	NativeID int    // kernel tid (3.11+; 0 when the version does not record it)
	Frames   []Frame
	Err      error // the frame walk stopped early
	// EvalMarkers holds, for each activation of the interpreter loop
	// (Frame.Activation), an address inside that activation's own C stack
	// frame: its _PyCFrame (3.11) or its entry frame (3.12+). Empty before
	// 3.11, where nothing on the C stack marks an activation.
	EvalMarkers []uint64
}

const (
	maxInterpreters = 64
	maxThreads      = 100_000
)

// Threads returns every thread state of every interpreter.
func (p *Process) Threads() ([]ThreadState, error) {
	l := p.L
	interp, err := p.r.u64(p.Runtime + uint64(l.RuntimeInterpHead))
	if err != nil {
		return nil, fmt.Errorf("_PyRuntime.interpreters.head at %#x: %w", p.Runtime+uint64(l.RuntimeInterpHead), err)
	}
	if interp == 0 {
		return nil, fmt.Errorf("the interpreter has not started or has already finalised (no interpreter in _PyRuntime at %#x)", p.Runtime)
	}
	var out []ThreadState
	interps := map[uint64]bool{}
	// One set for every interpreter's threads: a thread state is read once,
	// however the lists loop into each other.
	seen := map[uint64]bool{}
	for n := 0; interp != 0 && !interps[interp] && n < maxInterpreters; n++ {
		interps[interp] = true
		ts, err := p.r.u64(interp + uint64(l.InterpThreadsHead))
		if err != nil {
			return out, fmt.Errorf("interpreter %#x: threads head: %w", interp, err)
		}
		for ts != 0 && !seen[ts] && len(out) < maxThreads {
			if err := p.r.spend(costThread); err != nil {
				return out, fmt.Errorf("thread state %#x: %w", ts, err)
			}
			seen[ts] = true
			t, err := p.threadState(ts, interp)
			if err != nil {
				return out, err
			}
			out = append(out, t)
			if ts, err = p.r.u64(ts + uint64(l.TstateNext)); err != nil {
				return out, fmt.Errorf("thread state %#x: next: %w", t.Addr, err)
			}
		}
		if interp, err = p.r.u64(interp + uint64(l.InterpNext)); err != nil {
			break
		}
	}
	return out, nil
}

func (p *Process) threadState(ts, interp uint64) (ThreadState, error) {
	l := p.L
	t := ThreadState{Addr: ts, Interp: interp}
	var err error
	if t.Ident, err = p.r.u64(ts + uint64(l.TstateThreadID)); err != nil {
		return t, fmt.Errorf("thread state %#x: thread_id: %w", ts, err)
	}
	if l.TstateNativeThreadID >= 0 {
		if id, err := p.r.u64(ts + uint64(l.TstateNativeThreadID)); err == nil && id < 1<<22 {
			t.NativeID = int(id)
		}
	}
	t.Frames, t.EvalMarkers, t.Err = p.frames(ts)
	p.markSignalHandlers(t.Frames)
	return t, nil
}

// MainThreadIdent is the pthread ident of the main thread.
func (p *Process) MainThreadIdent() (uint64, error) {
	return p.r.u64(p.Runtime + uint64(p.L.RuntimeMainThread))
}

// GIL describes the GIL of the main interpreter.
type GIL struct {
	Addr   uint64 // struct _gil_runtime_state
	Locked bool
	Holder uint64 // thread state holding it, 0 when none or unknown
}

// gilCondOff and gilCondEnd bound the condition variable a GIL waiter sleeps
// on (cond at +32, mutex at +80 in every supported version).
const gilCondOff, gilCondEnd = 32, 80

// WaitsForGIL reports whether a futex word lies in the GIL's cond.
func (g GIL) WaitsForGIL(futex uint64) bool {
	return g.Addr != 0 && futex >= g.Addr+gilCondOff && futex < g.Addr+gilCondEnd
}

// GIL reads the GIL state.
func (p *Process) GIL() (GIL, error) {
	l := p.L
	var g GIL
	if l.RuntimeGIL >= 0 {
		g.Addr = p.Runtime + uint64(l.RuntimeGIL)
	} else {
		interp, err := p.r.u64(p.Runtime + uint64(l.RuntimeInterpHead))
		if err != nil {
			return g, err
		}
		if g.Addr, err = p.r.u64(interp + uint64(l.InterpGILPtr)); err != nil {
			return g, err
		}
	}
	locked, err := p.r.i32(g.Addr + uint64(l.GILLocked))
	if err != nil {
		return g, fmt.Errorf("GIL at %#x: %w", g.Addr, err)
	}
	g.Locked = locked != 0
	if !g.Locked {
		return g, nil
	}
	if l.RuntimeGILCurrent >= 0 {
		g.Holder, err = p.r.u64(p.Runtime + uint64(l.RuntimeGILCurrent))
	} else {
		g.Holder, err = p.r.u64(g.Addr + uint64(l.GILLastHolder))
	}
	return g, err
}

// ThreadNames maps thread idents to threading.Thread names, from
// threading._active; also the Thread objects, for later decoding.
func (p *Process) ThreadObjects() (map[uint64]uint64, error) {
	mod, err := p.Module("threading")
	if err != nil {
		return nil, err
	}
	active, ok := p.dictGet(mod, "_active")
	if !ok {
		return nil, fmt.Errorf("threading._active not found")
	}
	items, err := p.dictItems(active, maxThreads)
	if err != nil {
		return nil, fmt.Errorf("threading._active at %#x: %w", active, err)
	}
	out := map[uint64]uint64{}
	for _, it := range items {
		id, err := p.intObj(it.Key)
		if err != nil || !id.IsUint64() {
			continue
		}
		out[id.Uint64()] = it.Value
	}
	return out, nil
}

// ThreadName returns a Thread object's name (its _name attribute).
func (p *Process) ThreadName(obj uint64) string {
	attrs, err := p.instanceAttrs(obj, 64)
	if err != nil {
		return ""
	}
	s, _ := p.str(attrs["_name"], 256)
	return s
}

// Module returns the dict of an imported module, from sys.modules.
func (p *Process) Module(name string) (uint64, error) {
	interp, err := p.r.u64(p.Runtime + uint64(p.L.RuntimeInterpHead))
	if err != nil {
		return 0, err
	}
	mods, err := p.r.u64(interp + uint64(p.L.InterpModules))
	if err != nil {
		return 0, fmt.Errorf("sys.modules: %w", err)
	}
	m, ok := p.dictGet(mods, name)
	if !ok {
		return 0, fmt.Errorf("module %s is not imported", name)
	}
	d, err := p.r.u64(m + moduleDict)
	if err != nil || d == 0 {
		return 0, fmt.Errorf("module %s at %#x: no dict", name, m)
	}
	return d, nil
}
