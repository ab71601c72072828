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
	// Frames are the thread's frames, innermost first; nil once ThreadsEach
	// has handed them over, which leaves Kept in their place.
	Frames []Frame
	// Kept holds, one for each frame and in the same order, what
	// ThreadsEach keeps of the frames it handed over.
	Kept []FrameKept
	Err  error // the frame walk stopped early
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

// FrameKept is what is still needed of a frame once a snapshot has converted
// it into its own (ThreadsEach): its code object (the collector's callbacks
// are known by theirs), its activation (the native frames are placed by it)
// and its locals bound to a str (read again for a thread found in I/O, for
// the URL it was fetching). The frame's other locals go with its frames.
type FrameKept struct {
	Code       uint64
	Locals     []Var
	Activation int
}

// Threads returns every thread state of every interpreter.
func (p *Process) Threads() ([]ThreadState, error) { return p.threads(nil) }

// ThreadsEach is Threads, handing each thread state to each as soon as its
// frames are read, then keeping of them only what FrameKept holds: the next
// thread's frames are read into the same memory. A snapshot converts the
// frames into its own as they come; keeping both, each frame took 216 bytes
// more, 2.7 MB on 100 threads 120 frames deep, and every fresh page costs a
// fault, and the kernel's work again when the process exits.
func (p *Process) ThreadsEach(each func(*ThreadState)) ([]ThreadState, error) {
	return p.threads(each)
}

func (p *Process) threads(each func(*ThreadState)) ([]ThreadState, error) {
	refs, listErr := p.ThreadList()
	if len(refs) == 0 && listErr != nil {
		return nil, listErr
	}
	// Every thread's frame chain starts in memory read ahead in one go.
	p.PrefetchThreads(refs)
	out := make([]ThreadState, 0, len(refs))
	for _, ref := range refs {
		t, err := p.ThreadEach(ref, each)
		if err != nil {
			return out, err
		}
		out = append(out, t)
	}
	return out, listErr
}

// ThreadRef is a thread state in its interpreter's list.
type ThreadRef struct{ Addr, Interp uint64 }

// ThreadList returns the thread states of every interpreter, in list order,
// each once however the lists loop into each other. An error says where a
// list could not be read further; the states before it are returned.
func (p *Process) ThreadList() ([]ThreadRef, error) {
	l := p.Layout
	interp, err := p.r.u64(p.Runtime + uint64(l.RuntimeInterpHead))
	if err != nil {
		return nil, fmt.Errorf("_PyRuntime.interpreters.head at %#x: %w", p.Runtime+uint64(l.RuntimeInterpHead), err)
	}
	if interp == 0 {
		return nil, fmt.Errorf("the interpreter has not started or has already finalised (no interpreter in _PyRuntime at %#x)", p.Runtime)
	}
	var out []ThreadRef
	interps := map[uint64]bool{}
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
			out = append(out, ThreadRef{Addr: ts, Interp: interp})
			next, err := p.r.u64(ts + uint64(l.TstateNext))
			if err != nil {
				return out, fmt.Errorf("thread state %#x: next: %w", ts, err)
			}
			ts = next
		}
		if interp, err = p.r.u64(interp + uint64(l.InterpNext)); err != nil {
			break
		}
	}
	return out, nil
}

// ThreadEach reads the thread state ref and its frames. With each, it hands
// the state to each, then keeps of its frames only what FrameKept holds
// (see ThreadsEach).
func (p *Process) ThreadEach(ref ThreadRef, each func(*ThreadState)) (ThreadState, error) {
	vars := p.varBuf
	t, err := p.threadState(ref.Addr, ref.Interp)
	if err != nil || each == nil {
		return t, err
	}
	each(&t)
	t.Kept = p.keptOf(t.Frames)
	p.releaseFrames(t.Frames)
	p.releaseVars(vars)
	t.Frames = nil
	return t, nil
}

// PrefetchThreads reads ahead what the frame chains of refs start in
// (prefetchFrames).
func (p *Process) PrefetchThreads(refs []ThreadRef) {
	addrs := make([]uint64, len(refs))
	for i, ref := range refs {
		addrs[i] = ref.Addr
	}
	p.prefetchFrames(addrs)
}

// prefetchFrames reads ahead, for the thread states of a list, the memory
// their frame chains start in (reader.prefetch): the frame object (3.8-3.10),
// or the current frame's part of its data stack chunk, with the frames under
// it (3.11+), after the _PyCFrame on the thread's C stack that points to it
// (3.11, 3.12). Each thread's frames are then decoded from pages read
// already: 102 threads under 3.12 made 320 reads fewer, of 783.
func (p *Process) prefetchFrames(tstates []uint64) {
	l := p.Layout
	next := make([]uint64, 0, len(tstates))
	for _, ts := range tstates {
		if f, err := p.r.u64(ts + uint64(l.TstateFrame)); err == nil && f != 0 {
			next = append(next, f)
		}
	}
	if l.Minor <= 10 {
		p.r.prefetch(next, 0)
		return
	}
	if l.CFrameCurrentFrame >= 0 {
		p.r.prefetch(next, 0)
		frames := next[:0]
		for _, cf := range next {
			if f, err := p.r.u64(cf + uint64(l.CFrameCurrentFrame)); err == nil && f != 0 {
				frames = append(frames, f)
			}
		}
		next = frames
	}
	p.r.prefetch(next, frameChunkBelow)
}

// frameChunkBelow is how much of a data stack chunk under a thread's current
// frame is read ahead with it: the frames that called it, 120 of them in
// about 11 KiB under 3.12 (a thread's first chunk holds 16 KiB). For a
// shallower stack, the pages read for nothing cost less than a read each.
const frameChunkBelow = 12 << 10

func (p *Process) threadState(ts, interp uint64) (ThreadState, error) {
	l := p.Layout
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
	return p.r.u64(p.Runtime + uint64(p.Layout.RuntimeMainThread))
}

// GIL describes the GIL of the main interpreter.
type GIL struct {
	Addr   uint64 // struct _gil_runtime_state
	Locked bool
	Holder uint64 // thread state holding it, 0 when none or unknown
	// Switches counts the times a thread took the GIL from another one
	// (switch_number); Interval is how long, in microseconds, a waiter lets
	// the holder run before it asks it to let go (sys.getswitchinterval()).
	Switches, Interval uint64
}

// gilCondOff and gilCondEnd bound the condition variable a GIL waiter sleeps
// on (cond at +32, mutex at +80 in every supported version).
const gilCondOff, gilCondEnd = 32, 80

// WaitsForGIL reports whether a futex word lies in the GIL's cond.
func (g GIL) WaitsForGIL(futex uint64) bool {
	return g.Addr != 0 && futex >= g.Addr+gilCondOff && futex < g.Addr+gilCondEnd
}

// GIL reads the state of the main interpreter's GIL.
func (p *Process) GIL() (GIL, error) {
	main, err := p.MainInterpreter()
	if err != nil {
		return GIL{}, err
	}
	return p.GILOf(main)
}

// ThreadObjects maps thread idents to the main interpreter's
// threading.Thread objects (see ThreadObjectsIn).
func (p *Process) ThreadObjects() (map[uint64]uint64, error) {
	main, err := p.MainInterpreter()
	if err != nil {
		return nil, err
	}
	return p.ThreadObjectsIn(main)
}

// ThreadName returns a Thread object's name (its _name attribute).
func (p *Process) ThreadName(obj uint64) string {
	s, _ := p.str(p.InstanceAttrs(obj)["_name"], 256)
	return s
}

// Module returns the dict of a module imported in the main interpreter.
func (p *Process) Module(name string) (uint64, error) {
	main, err := p.MainInterpreter()
	if err != nil {
		return 0, err
	}
	return p.ModuleIn(main, name)
}
