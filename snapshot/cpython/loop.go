package cpython

import (
	"sort"
	"strings"
)

// An asyncio event loop (asyncio.base_events.BaseEventLoop and the selector
// loops built on it) is a Python object; what it could still do is in its
// attributes: callbacks ready to run (_ready), timers (_scheduled), the file
// descriptors its selector watches (_selector._fd_to_key; one is its own
// self-pipe, _ssock, that call_soon_threadsafe() writes to), signal handlers
// (_signal_handlers) and the thread running it (_thread_id).

// Loop is what pyhang reads of one event loop.
type Loop struct {
	Addr uint64
	Type string
	// Known is true for loops built on asyncio's BaseEventLoop, whose
	// attributes the fields below come from; the others (uvloop …) are
	// listed with their type only.
	Known  bool
	Ident  uint64 // _thread_id: the pthread ident of the thread running it, 0 when none
	Closed bool
	// Ready, Timers and Signals are -1 when they could not be read; Timers
	// counts the scheduled callbacks that are not cancelled.
	Ready, Timers, Signals int
	// ReadyCallbacks name the first of the callbacks ready to run
	// (maxReadyNamed), in their order: "Future.set_result", "wakeup".
	ReadyCallbacks []string
	// FDs are the descriptors the selector watches, the self-pipe left out;
	// FDsKnown is false when they could not be read.
	FDs      []int
	FDsKnown bool
	SelfPipe int // -1 when unknown
}

const (
	maxTimers  = 100_000
	maxLoopFDs = 4096
	// maxReadyNamed bounds the ready callbacks EventLoop names.
	maxReadyNamed = 8
)

// baseEventLoop is the class every asyncio loop pyhang can read derives from.
var baseEventLoop = [2]string{"asyncio.base_events", "BaseEventLoop"}

// EventLoop reads the loop at v.
func (p *Process) EventLoop(v uint64) Loop {
	lp := Loop{Addr: v, Ready: -1, Timers: -1, Signals: -1, SelfPipe: -1}
	lp.Type, _ = p.typeName(v)
	if !p.derivesFromClass(v, baseEventLoop) {
		return lp
	}
	lp.Known = true
	attrs := p.InstanceAttrs(v)
	if id, ok := attrs["_thread_id"]; ok && !p.isNone(id) {
		if n, err := p.intObj(id); err == nil && n.IsUint64() {
			lp.Ident = n.Uint64()
		}
	}
	lp.Closed = p.truthy(attrs["_closed"])
	if r, ok := attrs["_ready"]; ok {
		if n, err := p.r.i64(r + obSize); err == nil && n >= 0 {
			lp.Ready = int(n)
			if n > 0 {
				for _, h := range p.dequeItems(r, maxReadyNamed) {
					if name := p.callableName(p.InstanceAttrs(h)["_callback"]); name != "" {
						lp.ReadyCallbacks = append(lp.ReadyCallbacks, name)
					}
				}
			}
		}
	}
	if s, ok := attrs["_scheduled"]; ok {
		if n, err := p.r.i64(s + obSize); err == nil && n == 0 {
			lp.Timers = 0
		} else if items, n, err := p.listItems(s, maxTimers); err == nil && n <= maxTimers {
			lp.Timers = 0
			for _, h := range items {
				if !p.truthy(p.InstanceAttrs(h)["_cancelled"]) {
					lp.Timers++
				}
			}
		}
	}
	if sh, ok := attrs["_signal_handlers"]; ok {
		if n, err := p.r.i64(sh + dictUsed); err == nil && n >= 0 {
			lp.Signals = int(n)
		}
	}
	if ss, ok := attrs["_ssock"]; ok && !p.isNone(ss) {
		if fd, err := p.r.i32(ss + sockFD); err == nil {
			lp.SelfPipe = int(fd)
		}
	}
	if sel, ok := attrs["_selector"]; ok && !p.isNone(sel) {
		if m, ok := p.InstanceAttrs(sel)["_fd_to_key"]; ok {
			if items, err := p.dictItems(m, maxLoopFDs); err == nil {
				lp.FDsKnown = true
				for _, it := range items {
					fd, err := p.smallInt(it.Key)
					if err != nil || fd < 0 || fd > 1<<30 {
						lp.FDsKnown = false
						continue
					}
					if int(fd) != lp.SelfPipe {
						lp.FDs = append(lp.FDs, int(fd))
					}
				}
				sort.Ints(lp.FDs)
			}
		}
	}
	return lp
}

// truthy reads a bool (False, and anything unreadable, is false).
func (p *Process) truthy(v uint64) bool {
	if v == 0 {
		return false
	}
	if tn, err := p.typeName(v); err != nil || tn != "bool" {
		return false
	}
	n, err := p.intObj(v)
	return err == nil && n.Sign() != 0
}

// derivesFromClass reports whether v's class, or a base of it, is the
// Python class (module, name).
func (p *Process) derivesFromClass(v uint64, class [2]string) bool {
	t, err := p.typeOf(v)
	for i := 0; err == nil && t != 0 && i < maxBaseChain; i++ {
		n, e := p.typeNameOfType(t)
		if e != nil {
			return false
		}
		if n == class[1] && p.typeModule(t) == class[0] {
			return true
		}
		t, err = p.r.u64(t + tpBase)
	}
	return false
}

// callableName names a callable the way a person would look it up: a bound
// method as its class's name and the method's ("Future.set_result"), a
// function by its qualified name; "" when v is none of these, or
// unreadable.
func (p *Process) callableName(v uint64) string {
	if v == 0 {
		return ""
	}
	tn, err := p.typeName(v)
	if err != nil {
		return ""
	}
	switch tn {
	case "function":
		c, err := p.codeAt(p.funcCode(v))
		if err != nil {
			return ""
		}
		return c.Qualname
	case "method": // im_func, im_self
		fn, err := p.r.u64(v + methodFunc)
		self, err2 := p.r.u64(v + methodSelf)
		if err != nil || err2 != nil {
			return ""
		}
		name := p.functionName(fn)
		if cls := p.TypeName(self); cls != "" && name != "" {
			return shortClass(cls) + "." + name
		}
		return name
	case "builtin_function_or_method", "builtin_method": // m_ml (PyMethodDef, ml_name first), m_self; builtin_method (3.9+, PyCMethodObject) begins the same
		ml, err := p.r.u64(v + cfuncML)
		self, err2 := p.r.u64(v + cfuncSelf)
		if err != nil || err2 != nil {
			return ""
		}
		np, err := p.r.u64(ml)
		if err != nil {
			return ""
		}
		name, err := p.r.cstring(np, 64)
		if err != nil {
			return ""
		}
		if cls := p.TypeName(self); cls != "" && cls != "module" && self != 0 {
			return shortClass(cls) + "." + name
		}
		return name
	}
	return tn
}

// shortClass is a class name without its module: "Future" for
// "_asyncio.Future".
func shortClass(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// The C function object (PyCFunctionObject) a builtin method is.
const (
	cfuncML   = 16 // m_ml: its PyMethodDef
	cfuncSelf = 24 // m_self
)
