package cpython

import (
	"fmt"
)

// Interpreter is one PyInterpreterState: the main interpreter or a
// subinterpreter. Each has its own modules (so its own threading module and
// thread names), its own collector (3.9+) and, from 3.12, maybe its own GIL.
type Interpreter struct {
	Addr uint64
	ID   int64 // 0 for the main interpreter
	Main bool
	// Finalizing says the interpreter is being torn down: Py_EndInterpreter
	// for a subinterpreter, Py_FinalizeEx for the main one. FinalizingTstate
	// is the thread state doing it, where the version records one (3.12+).
	Finalizing       bool
	FinalizingTstate uint64
	// GCCollecting says a collection of this interpreter's objects is
	// running (3.8: the one collector of the runtime).
	GCCollecting bool
	// GCCallbacks are the code objects of the functions in gc.callbacks,
	// which every collection calls at its start and its end.
	GCCallbacks []uint64
	// Err is set when part of the state above could not be read.
	Err error
}

// maxGCCallbacks bounds the gc.callbacks entries looked at.
const maxGCCallbacks = 64

// MainInterpreter returns the address of the main interpreter.
func (p *Process) MainInterpreter() (uint64, error) {
	a := p.Runtime + uint64(p.Layout.RuntimeInterpMain)
	m, err := p.r.u64(a)
	if err != nil {
		return 0, fmt.Errorf("_PyRuntime.interpreters.main at %#x: %w", a, err)
	}
	if m == 0 {
		return 0, fmt.Errorf("no main interpreter in _PyRuntime at %#x (not started, or finalised)", p.Runtime)
	}
	return m, nil
}

// RuntimeFinalizing returns the thread state running Py_FinalizeEx, 0 while
// the runtime is not shutting down.
func (p *Process) RuntimeFinalizing() (uint64, error) {
	a := p.Runtime + uint64(p.Layout.RuntimeFinalizing)
	ts, err := p.r.u64(a)
	if err != nil {
		return 0, fmt.Errorf("_PyRuntime._finalizing at %#x: %w", a, err)
	}
	return ts, nil
}

// Interpreters lists every interpreter, newest first (the order of
// _PyRuntime.interpreters), with its state.
func (p *Process) Interpreters() ([]Interpreter, error) {
	l := p.Layout
	head, err := p.r.u64(p.Runtime + uint64(l.RuntimeInterpHead))
	if err != nil {
		return nil, fmt.Errorf("_PyRuntime.interpreters.head at %#x: %w", p.Runtime+uint64(l.RuntimeInterpHead), err)
	}
	main, mainErr := p.MainInterpreter()
	var out []Interpreter
	seen := map[uint64]bool{}
	for interp := head; interp != 0 && !seen[interp] && len(out) < maxInterpreters; {
		seen[interp] = true
		in := p.interpreter(interp)
		in.Main = mainErr == nil && interp == main
		out = append(out, in)
		if interp, err = p.r.u64(interp + uint64(l.InterpNext)); err != nil {
			return out, fmt.Errorf("interpreter %#x: next: %w", in.Addr, err)
		}
	}
	return out, mainErr
}

func (p *Process) interpreter(addr uint64) Interpreter {
	l := p.Layout
	in := Interpreter{Addr: addr}
	var err error
	if in.ID, err = p.r.i64(addr + uint64(l.InterpID)); err != nil {
		in.Err = fmt.Errorf("interpreter %#x: id: %w", addr, err)
		return in
	}
	if l.Minor >= 12 {
		// The thread state running Py_EndInterpreter or Py_FinalizeEx.
		if ts, e := p.r.u64(addr + uint64(l.InterpFinalizing)); e == nil {
			in.Finalizing, in.FinalizingTstate = ts != 0, ts
		} else {
			err = e
		}
	} else if f, e := p.r.i32(addr + uint64(l.InterpFinalizing)); e == nil {
		in.Finalizing = f != 0 // set by Py_EndInterpreter only
	} else {
		err = e
	}
	gc := addr + uint64(l.InterpGC)
	if l.RuntimeGC >= 0 {
		gc = p.Runtime + uint64(l.RuntimeGC)
	}
	if c, e := p.r.i32(gc + uint64(l.GCCollecting)); e == nil {
		in.GCCollecting = c != 0
	} else if err == nil {
		err = e
	}
	if cbs, e := p.r.u64(gc + uint64(l.GCCallbacks)); e == nil && cbs != 0 {
		in.GCCallbacks = p.callbackCodes(cbs)
	}
	if err != nil {
		in.Err = fmt.Errorf("interpreter %#x: %w", addr, err)
	}
	return in
}

// callbackCodes returns the code objects of the functions (and methods) in
// the gc.callbacks list.
func (p *Process) callbackCodes(list uint64) []uint64 {
	if tn, err := p.typeName(list); err != nil || tn != "list" {
		return nil
	}
	items, _, err := p.listItems(list, maxGCCallbacks)
	if err != nil {
		return nil
	}
	var out []uint64
	for _, fn := range items {
		tn, err := p.typeName(fn)
		if err != nil {
			continue
		}
		if tn == "method" { // a bound method: its im_func
			if fn, err = p.r.u64(fn + 16); err != nil {
				continue
			}
			if tn, err = p.typeName(fn); err != nil {
				continue
			}
		}
		if tn == "function" {
			if c := p.funcCode(fn); c != 0 {
				out = append(out, c)
			}
		}
	}
	return out
}

// GILOf returns the GIL an interpreter's threads take: the runtime's one GIL
// up to 3.11, the interpreter's own (or the main one it shares) from 3.12.
func (p *Process) GILOf(interp uint64) (GIL, error) {
	l := p.Layout
	var g GIL
	if l.RuntimeGIL >= 0 {
		g.Addr = p.Runtime + uint64(l.RuntimeGIL)
	} else {
		a, err := p.r.u64(interp + uint64(l.InterpGILPtr))
		if err != nil {
			return g, fmt.Errorf("interpreter %#x: ceval.gil: %w", interp, err)
		}
		if a == 0 {
			return g, fmt.Errorf("interpreter %#x has no GIL", interp)
		}
		g.Addr = a
	}
	locked, err := p.r.i32(g.Addr + uint64(l.GILLocked))
	if err != nil {
		return g, fmt.Errorf("GIL at %#x: %w", g.Addr, err)
	}
	g.Locked = locked != 0
	// Both only describe; a GIL whose state reads still has its holder.
	g.Switches, _ = p.r.u64(g.Addr + uint64(l.GILSwitches))
	g.Interval, _ = p.r.u64(g.Addr + uint64(l.GILInterval))
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

// ThreadObjectsIn maps thread idents to threading.Thread objects from the
// threading._active of one interpreter: each interpreter has its own
// threading module, which names the threads that run in it.
func (p *Process) ThreadObjectsIn(interp uint64) (map[uint64]uint64, error) {
	mod, err := p.ModuleIn(interp, "threading")
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

// ModuleIn returns the dict of a module imported in one interpreter, from
// its sys.modules.
func (p *Process) ModuleIn(interp uint64, name string) (uint64, error) {
	mods, err := p.r.u64(interp + uint64(p.Layout.InterpModules))
	if err != nil {
		return 0, fmt.Errorf("interpreter %#x: sys.modules: %w", interp, err)
	}
	if mods == 0 {
		return 0, fmt.Errorf("interpreter %#x has no sys.modules yet", interp)
	}
	m, ok := p.dictGet(mods, name)
	if !ok {
		return 0, fmt.Errorf("module %s is not in sys.modules (not imported, or the interpreter is shutting down)", name)
	}
	d, err := p.r.u64(m + moduleDict)
	if err != nil || d == 0 {
		return 0, fmt.Errorf("module %s at %#x: no dict", name, m)
	}
	return d, nil
}

// ThreadDaemon returns a threading.Thread's daemon flag (its _daemonic
// attribute); ok is false when it cannot be read.
func (p *Process) ThreadDaemon(obj uint64) (daemon, ok bool) {
	v, found := p.InstanceAttrs(obj)["_daemonic"]
	if !found {
		return false, false
	}
	if tn, err := p.typeName(v); err != nil || tn != "bool" {
		return false, false
	}
	n, err := p.intObj(v)
	if err != nil {
		return false, false
	}
	return n.Sign() != 0, true
}
