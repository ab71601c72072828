package cpython

import (
	"cmp"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// The objects a hang analysis needs: synchronisation primitives, queues,
// threads, futures and sockets. They are recognised by type name; Python-level
// classes by (module, class) anywhere in their base chain, so user subclasses
// of threading.Thread or queue.Queue count too.

var cTypes = map[string]string{
	"_thread.lock":          snapshot.KindLock,
	"_thread.RLock":         snapshot.KindRLock,
	"_thread._ThreadHandle": snapshot.KindHandle,
	"_queue.SimpleQueue":    snapshot.KindSimpleQueue,
	"collections.deque":     snapshot.KindDeque,
	"generator":             snapshot.KindGenerator,
}

var pyClasses = map[[2]string]string{
	{"threading", "Condition"}:                          snapshot.KindCondition,
	{"threading", "Event"}:                              snapshot.KindEvent,
	{"threading", "Semaphore"}:                          snapshot.KindSemaphore,
	{"threading", "BoundedSemaphore"}:                   snapshot.KindSemaphore,
	{"threading", "Thread"}:                             snapshot.KindThread,
	{"queue", "Queue"}:                                  snapshot.KindQueue,
	{"concurrent.futures._base", "Future"}:              snapshot.KindFuture,
	{"socket", "socket"}:                                snapshot.KindSocket,
	{"concurrent.futures.thread", "_WorkItem"}:          "",
	{"concurrent.futures.thread", "ThreadPoolExecutor"}: snapshot.KindExecutor,
	{"threading", "Barrier"}:                            snapshot.KindBarrier,
	{"subprocess", "Popen"}:                             snapshot.KindPopen,
	// importlib._bootstrap runs frozen, as _frozen_importlib.
	{"_frozen_importlib", "_ModuleLock"}:       snapshot.KindModuleLock,
	{"importlib._bootstrap", "_ModuleLock"}:    snapshot.KindModuleLock,
	{"multiprocessing.pool", "Pool"}:           snapshot.KindMPPool,
	{"multiprocessing.pool", "ApplyResult"}:    snapshot.KindMPResult,
	{"multiprocessing.process", "BaseProcess"}: snapshot.KindMPProcess,
	{"multiprocessing.queues", "Queue"}:        snapshot.KindMPQueue,
	{"multiprocessing.queues", "SimpleQueue"}:  snapshot.KindMPQueue,
	// A multiprocessing lock: a semaphore shared between processes
	// (semlock.go).
	{"multiprocessing.synchronize", "Lock"}:  snapshot.KindLock,
	{"multiprocessing.synchronize", "RLock"}: snapshot.KindRLock,
	// A multiprocessing Event: its waiters park on a semaphore the
	// processes share (semlock.go).
	{"multiprocessing.synchronize", "Event"}: snapshot.KindEvent,
}

// aioClasses are asyncio's own primitives: the same kinds as threading's
// (a task waits on an asyncio.Lock as a thread waits on a Lock), decoded
// from their Python attributes, and named module.Class in Object.Type.
var aioClasses = map[[2]string]string{
	{"asyncio.locks", "Lock"}:                snapshot.KindLock,
	{"asyncio.locks", "Event"}:               snapshot.KindEvent,
	{"asyncio.locks", "Condition"}:           snapshot.KindCondition,
	{"asyncio.locks", "Semaphore"}:           snapshot.KindSemaphore,
	{"asyncio.locks", "BoundedSemaphore"}:    snapshot.KindSemaphore,
	{"asyncio.queues", "Queue"}:              snapshot.KindQueue,
	{"asyncio.base_events", "BaseEventLoop"}: snapshot.KindLoop,
	{"asyncio.timeouts", "Timeout"}:          snapshot.KindTimeout,
	{"asyncio.taskgroups", "TaskGroup"}:      snapshot.KindTaskGroup,
}

// aioCTypes are asyncio's C types, found anywhere in the base chain
// (asyncio.gather's _GatheringFuture derives from the C Future).
var aioCTypes = map[string]string{
	taskTypeTag: snapshot.KindTask,
	futTypeTag:  snapshot.KindFuture,
}

const (
	tpBase        = 256
	maxBaseChain  = 16
	maxObjects    = 20000
	maxObjDepth   = 4
	maxAttrs      = 256
	handlePtr     = 16 // PyThreadHandleObject.handle → ThreadHandle (3.13+)
	handleIdent   = 32 // ThreadHandle.ident
	handleEvent   = 57 // ThreadHandle.thread_is_exiting, the PyEvent a joiner parks on
	sockFD        = 16
	sockFamily    = 20 // PySocketSockObject.sock_family, after sock_fd
	sockTimeoutNS = 40
)

// familyName names a socket's address family.
func familyName(f int32) string {
	switch f {
	case 1:
		return "AF_UNIX"
	case 2:
		return "AF_INET"
	case 10:
		return "AF_INET6"
	}
	return "AF_" + strconv.Itoa(int(f))
}

// valueReprLimits bound the repr of a primitive's value (a semaphore's
// count, an event's flag, a future's state).
var valueReprLimits = ReprLimits{Depth: 0, Items: 0, Width: 80}

// kindOf classifies the object at v; "" means not of interest.
func (p *Process) kindOf(v uint64) (kind, typeName string) {
	t, err := p.typeOf(v)
	if err != nil {
		return "", ""
	}
	if k, ok := p.kinds[t]; ok {
		if k == "" {
			return "", "" // most locals: not of interest, known by their type
		}
		n, _ := p.typeNameOfType(t)
		return k, n
	}
	name, _ := p.typeNameOfType(t)
	kind = cTypes[name]
	for b, i := t, 0; kind == "" && b != 0 && i < maxBaseChain; i++ {
		bn, err := p.typeNameOfType(b)
		if err != nil {
			break
		}
		if k, ok := aioCTypes[bn]; ok {
			kind = k
			p.aioTypes[t] = true
			break
		}
		mod := p.typeModule(b)
		if k, ok := pyClasses[[2]string{mod, bn}]; ok {
			kind = k
			break
		}
		if k, ok := aioClasses[[2]string{mod, bn}]; ok {
			kind = k
			p.aioTypes[t] = true
			break
		}
		if b, err = p.r.u64(b + tpBase); err != nil {
			break
		}
	}
	p.kinds[t] = kind
	return kind, name
}

// Objects collects decoded objects of interest, each once.
type Objects struct {
	p      *Process
	byAddr map[uint64]*snapshot.Object
	// plain holds values lately found to be of no interest and to lead
	// nowhere (Walkable: a frame's locals are searched for what they
	// lead to), by address bits: the locals of a deep recursion are the same few ints,
	// strings and functions in every frame, and looking each up again (its
	// type, then the kind of the type) was a third of the objects' time.
	plain [plainValues]uint64
}

// plainValues is how many values Objects.plain holds.
const plainValues = 256

// NewObjects starts a collection.
func (p *Process) NewObjects() *Objects {
	return &Objects{p: p, byAddr: map[uint64]*snapshot.Object{}}
}

// Clone returns a collection holding the same objects, to which further
// objects can be added without changing this one.
func (o *Objects) Clone() *Objects {
	c := &Objects{p: o.p, byAddr: make(map[uint64]*snapshot.Object, len(o.byAddr)), plain: o.plain}
	for a, ob := range o.byAddr {
		c.byAddr[a] = ob
	}
	return c
}

// Merge adds the objects of other, a collection of the same snapshot made
// by a fork of o's process (Process.Fork): an object both hold keeps o's
// decode, with the names and the global name of both.
func (o *Objects) Merge(other *Objects) {
	for a, ob := range other.byAddr {
		mine, ok := o.byAddr[a]
		if !ok {
			if len(o.byAddr) < maxObjects {
				o.byAddr[a] = ob
			}
			continue
		}
		for _, n := range ob.Names {
			o.Name(mine, n)
		}
		if ob.Global != "" && (mine.Global == "" || ob.Global < mine.Global) {
			mine.Global = ob.Global
		}
	}
}

// All returns the collected objects by id.
func (o *Objects) All() map[string]*snapshot.Object {
	out := make(map[string]*snapshot.Object, len(o.byAddr))
	for _, ob := range o.byAddr {
		out[ob.ID] = ob
	}
	return out
}

// Each calls fn with every collected object, in no order.
func (o *Objects) Each(fn func(*snapshot.Object)) {
	for _, ob := range o.byAddr {
		fn(ob)
	}
}

// Plain reports whether v was lately found to be of no interest, and to
// lead to nothing (Walkable; false when it is not known).
func (o *Objects) Plain(v uint64) bool { return v != 0 && o.plain[(v/16)%plainValues] == v }

// Add decodes v if it is of interest and returns it (nil otherwise).
func (o *Objects) Add(v uint64) *snapshot.Object { return o.add(v, 0) }

// AddOther records v as an object that is not of interest in itself but is
// referred to (a context manager of unknown kind whose with block is live),
// so that every id of the snapshot names an entry of its objects.
func (o *Objects) AddOther(v uint64) *snapshot.Object {
	if ob, ok := o.byAddr[v]; ok {
		return ob
	}
	if v == 0 || len(o.byAddr) >= maxObjects {
		return nil
	}
	tn, _ := o.p.typeName(v)
	ob := &snapshot.Object{ID: snapshot.KindOther + "@" + snapshot.Addr(v).String(), Kind: snapshot.KindOther, Type: tn, Addr: snapshot.Addr(v)}
	o.byAddr[v] = ob
	o.managerLocks(v, ob)
	o.generatorWithin(v, ob)
	o.exitStackWithin(v, ob)
	return ob
}

// exitStackWithin records in ob.Within the contexts an ExitStack entered
// (enter_context) and has not exited: it keeps each one's __exit__ bound to
// it, as a (is_sync, callback) tuple in the deque _exit_callbacks, for as
// long as the stack's own with block lasts.
func (o *Objects) exitStackWithin(v uint64, ob *snapshot.Object) {
	if ob.Type != "ExitStack" && ob.Type != "AsyncExitStack" {
		return
	}
	cbs, ok := o.p.InstanceAttrs(v)["_exit_callbacks"]
	if !ok {
		return
	}
	if tn, _ := o.p.typeName(cbs); tn != "collections.deque" {
		return
	}
	for _, it := range o.p.dequeItems(cbs, maxQueued) {
		pair, err := o.p.tupleItems(it, 2)
		if err != nil || len(pair) != 2 {
			continue
		}
		if tn, _ := o.p.typeName(pair[1]); tn != "method" {
			continue // a callback pushed by callback() or push(), not a context
		}
		fn, err1 := o.p.r.u64(pair[1] + methodFunc)
		self, err2 := o.p.r.u64(pair[1] + methodSelf)
		if err1 != nil || err2 != nil || !o.p.isUnboundExit(fn) {
			continue
		}
		if a := o.add(self, 1); a != nil && !slices.Contains(ob.Within, a.ID) {
			ob.Within = append(ob.Within, a.ID)
		}
	}
}

// generatorWithin records in ob.Within what a @contextmanager manager's
// generator holds: suspended at its yield inside `with lock:`, the generator
// frame keeps that lock's __exit__ on its value stack, as a thread's frame
// does, for as long as the manager's own with block lasts. Without such a
// block, ob.Suspended keeps the generator's frame and the locks its locals
// hold, for the analysis to place it after an acquire().
func (o *Objects) generatorWithin(v uint64, ob *snapshot.Object) {
	if ob.Type != "_GeneratorContextManager" && ob.Type != "_AsyncGeneratorContextManager" {
		return
	}
	gen, ok := o.p.InstanceAttrs(v)["gen"]
	if !ok || gen == 0 {
		return
	}
	f, state, err := o.p.genFrame(gen)
	if err != nil || state != genSuspended {
		return
	}
	fr, ok, err := o.p.decodeGenFrame(f)
	if err != nil || !ok {
		return
	}
	for _, m := range fr.With {
		if a := o.add(m, 1); a != nil {
			ob.Within = append(ob.Within, a.ID)
		}
	}
	if len(ob.Within) > 0 {
		return
	}
	// No with block: the generator may have taken a lock with acquire()
	// before its yield (`l.acquire(); try: yield; finally: l.release()`),
	// which only its frame's place in the source tells.
	out := &snapshot.Frame{Function: fr.Function, Qualname: fr.Qualname, File: fr.File, Line: fr.Line,
		FirstLine: fr.FirstLine, Addr: snapshot.Addr(f)}
	for _, l := range fr.Locals {
		a := o.add(l.Value, 1)
		if a == nil || (a.Kind != snapshot.KindLock && a.Kind != snapshot.KindRLock && a.Kind != snapshot.KindSemaphore) {
			continue
		}
		if out.Refs == nil {
			out.Refs = map[string]string{}
		}
		out.Refs[l.Name] = a.ID
		o.Name(a, l.Name)
	}
	if out.Refs != nil {
		ob.Suspended = out
	}
}

// managerLocks records in ob.Attrs the locks a context manager of the
// program's own keeps as attributes (self._lock): a class whose __enter__
// takes such a lock holds it for the with block, which only the manager
// on the frame's value stack shows (locks.probableHolds).
func (o *Objects) managerLocks(v uint64, ob *snapshot.Object) {
	attrs := o.p.InstanceAttrs(v)
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := o.add(attrs[n], 1)
		if a == nil || (a.Kind != snapshot.KindLock && a.Kind != snapshot.KindRLock) {
			continue
		}
		if ob.Attrs == nil {
			ob.Attrs = map[string]string{}
		}
		ob.Attrs[n] = a.ID
		if ob.Type != "" {
			o.Name(a, ob.Type[strings.LastIndexByte(ob.Type, '.')+1:]+"."+n)
		}
	}
}

// count decodes a non-negative int attribute (nil when it is none).
func (p *Process) count(a uint64) *int {
	v, err := p.smallInt(a)
	if err != nil || v < 0 || v > 1<<40 {
		return nil
	}
	u := int(v)
	return &u
}

// NameParts names the locks and conditions that are parts of a named
// object and have no name of their own after it: a Condition's _lock
// ("cond._lock"), a Queue's mutex ("jobs.mutex"), an Event's _cond. Call it
// once every object is collected and named.
func (o *Objects) NameParts() {
	// The objects with parts, in address order (the same names on every
	// look), each with its attributes in order, and the objects that can
	// be parts, by id: worked out once for the three rounds.
	type whole struct {
		addr  uint64
		ob    *snapshot.Object
		attrs []string
	}
	var wholes []whole
	parts := map[string]*snapshot.Object{}
	for a, ob := range o.byAddr {
		if len(ob.Attrs) > 0 {
			wholes = append(wholes, whole{addr: a, ob: ob})
		}
		switch ob.Kind {
		case snapshot.KindLock, snapshot.KindRLock, snapshot.KindCondition:
			parts[ob.ID] = ob
		}
	}
	if len(wholes) == 0 || len(parts) == 0 {
		return
	}
	slices.SortFunc(wholes, func(a, b whole) int { return cmp.Compare(a.addr, b.addr) })
	for i := range wholes {
		wholes[i].attrs = slices.Sorted(maps.Keys(wholes[i].ob.Attrs))
	}
	for range 3 { // an Event's _cond's _lock is named in the second round
		for _, w := range wholes {
			ob := w.ob
			if !hasHandle(ob) {
				continue
			}
			for _, attr := range w.attrs {
				part := parts[ob.Attrs[attr]]
				if part == nil || hasHandle(part) {
					continue
				}
				for _, n := range ob.Names {
					if n != "self" && n != "cls" && len(part.Names) < 4 {
						part.Names = append(part.Names, n+"."+attr)
					}
				}
				if ob.Global != "" && !slices.Contains(ob.Names, ob.Global) {
					part.Names = append(part.Names, ob.Global+"."+attr)
				}
			}
		}
	}
}

// hasHandle reports whether an object has a name a person can use: one
// other than the self or cls of its own methods.
func hasHandle(ob *snapshot.Object) bool {
	return ob.Global != "" || slices.ContainsFunc(ob.Names, func(n string) bool { return n != "self" && n != "cls" })
}

// Name records a human handle for an object.
func (o *Objects) Name(ob *snapshot.Object, name string) {
	for _, n := range ob.Names {
		if n == name {
			return
		}
	}
	if len(ob.Names) < 16 {
		ob.Names = append(ob.Names, name)
		sort.Strings(ob.Names)
	}
}

func (o *Objects) add(v uint64, depth int) *snapshot.Object {
	plain := &o.plain[(v/16)%plainValues]
	if v == 0 || *plain == v {
		return nil
	}
	if ob, ok := o.byAddr[v]; ok {
		if ob.Kind == snapshot.KindOther {
			return nil // only referred to, not of interest
		}
		return ob
	}
	if len(o.byAddr) >= maxObjects || depth > maxObjDepth {
		return nil
	}
	kind, tn := o.p.kindOf(v)
	if kind == "" {
		if !o.p.Walkable(v) {
			*plain = v
		}
		return nil
	}
	if o.p.r.spend(costObject) != nil {
		return nil
	}
	ob := &snapshot.Object{ID: kind + "@" + snapshot.Addr(v).String(), Kind: kind, Type: tn, Addr: snapshot.Addr(v)}
	o.byAddr[v] = ob
	p := o.p
	if p.isAioType(v) {
		o.aioObject(v, ob, depth)
		return ob
	}
	switch kind {
	case snapshot.KindLock, snapshot.KindRLock:
		if tn != "_thread.lock" && tn != "_thread.RLock" {
			p.semLock(v, ob) // the one Python-level class of these kinds
			break
		}
		if st := p.lockState(v, tn); st != nil {
			ob.Locked = &st.locked
			ob.Owner, ob.Count = st.owner, st.count
			ob.WaitKey = snapshot.Addr(st.waitKey)
		}
	case snapshot.KindHandle:
		// The Python object points at the C ThreadHandle that holds the
		// ident and the event a joiner parks on.
		if h, err := p.r.u64(v + handlePtr); err == nil && h != 0 {
			ob.Ident, _ = p.r.u64(h + handleIdent)
			ob.WaitKey = snapshot.Addr(h + handleEvent)
		}
	case snapshot.KindSimpleQueue:
		p.simpleQueue(v, ob)
		o.queuedFutures(v, ob, depth)
	case snapshot.KindGenerator:
		if !o.generator(v, ob, depth) {
			delete(o.byAddr, v)
			*plain = v
			return nil
		}
	case snapshot.KindDeque:
		if n, err := p.r.i64(v + obSize); err == nil && n >= 0 {
			ln := int(n)
			ob.Len = &ln
		}
	case snapshot.KindSocket:
		if fd, err := p.r.i32(v + sockFD); err == nil {
			f := int(fd)
			ob.FD = &f
		}
		if fam, err := p.r.i32(v + sockFamily); err == nil {
			ob.Family = familyName(fam)
		}
		if ns, err := p.r.i64(v + sockTimeoutNS); err == nil {
			t := -1.0
			if ns >= 0 {
				t = float64(ns) / 1e9
			}
			ob.Timeout = &t
		}
	default:
		if kind == snapshot.KindEvent && p.semEvent(v, ob) {
			break
		}
		o.pyAttrs(v, ob, depth)
	}
	return ob
}

// pyAttrs decodes the attributes of a Python-level primitive that matter.
func (o *Objects) pyAttrs(v uint64, ob *snapshot.Object, depth int) {
	p := o.p
	attrs := p.InstanceAttrs(v) // a thread's are read for its name and flag too
	if attrs == nil {
		return
	}
	names := make([]string, 0, len(attrs))
	values := make([]uint64, 0, len(attrs))
	for n, a := range attrs {
		names = append(names, n)
		values = append(values, a)
	}
	sort.Strings(names)
	p.r.prefetch(values, 0) // most are looked at: read together
	for _, n := range names {
		a := attrs[n]
		switch n {
		case "_name":
			if s, err := p.str(a, 256); err == nil {
				ob.Value = s
			}
			continue
		case "_ident":
			if id, err := p.intObj(a); err == nil && id.IsUint64() {
				ob.Ident = id.Uint64()
			}
			continue
		case "_native_id":
			if tn, _ := p.typeName(a); tn == "int" {
				if id, err := p.smallInt(a); err == nil && id > 0 && id < 1<<22 {
					ob.NativeID = int(id)
				}
			}
			continue
		case "_initial_value": // a BoundedSemaphore's
			ob.Initial = p.count(a)
			continue
		case "maxsize": // a queue.Queue's
			if ob.Kind == snapshot.KindQueue {
				ob.Maxsize = p.count(a)
			}
			continue
		case "_value", "_flag", "_state", "unfinished_tasks":
			if ob.Kind != snapshot.KindThread {
				ob.Value, _, _ = p.ReprLimited(a, valueReprLimits)
			}
			if n == "unfinished_tasks" {
				if v, err := p.smallInt(a); err == nil && v >= 0 && v <= 1<<40 {
					u := int(v)
					ob.Unfinished = &u
				}
			}
			continue
		case "queue", "_waiters":
			if sub := o.add(a, depth+1); sub != nil && sub.Len != nil {
				ob.Len = sub.Len
			}
		}
		if sub := o.add(a, depth+1); sub != nil {
			if ob.Attrs == nil {
				ob.Attrs = map[string]string{}
			}
			ob.Attrs[n] = sub.ID
		}
	}
	if ob.Kind == snapshot.KindThread {
		o.threadArgs(ob, names, attrs, depth)
	}
	o.kindAttrs(ob, attrs)
}

type lockInfo struct {
	locked  bool
	waitKey uint64
	owner   uint64
	count   int
}

// lockState decodes a _thread.lock or _thread.RLock.
func (p *Process) lockState(v uint64, tn string) *lockInfo {
	raw, err := p.r.bytes(v, 40)
	if err != nil {
		return nil
	}
	li := &lockInfo{}
	switch {
	case tn == "_thread.lock" && p.Layout.LockLockAddr: // sem_t* @16, char locked @32
		li.waitKey, li.locked = le64(raw[16:]), raw[32] != 0
	case tn == "_thread.lock": // PyMutex @16
		li.waitKey, li.locked = v+16, raw[16]&1 != 0
	case p.Layout.RLockMutex: // _PyRecursiveMutex {PyMutex, thread, level}
		li.waitKey, li.owner = v+16, le64(raw[24:])
		if li.owner != 0 {
			li.count = int(le64(raw[32:])) + 1
		}
		li.locked = raw[16]&1 != 0
	default: // sem_t* @16, owner @24, count @32
		li.waitKey, li.owner, li.count = le64(raw[16:]), le64(raw[24:]), int(le64(raw[32:]))
		li.locked = li.count > 0
	}
	if li.count < 0 || li.count > 1<<30 {
		li.count = 0
	}
	return li
}

// simpleQueue decodes a _queue.SimpleQueue (the idle pool workers' queue).
func (p *Process) simpleQueue(v uint64, ob *snapshot.Object) {
	if p.Layout.Minor >= 13 {
		ob.WaitKey = snapshot.Addr(v + 16)
		if n, err := p.r.i64(v + sqRingNum); err == nil && n >= 0 {
			ln := int(n)
			ob.Len = &ln
		}
		return
	}
	if k, err := p.r.u64(v + 16); err == nil {
		ob.WaitKey = snapshot.Addr(k)
	}
	lst, err1 := p.r.u64(v + sqLst)
	pos, err2 := p.r.i64(v + sqLstPos)
	if err1 == nil && err2 == nil {
		if n, err := p.r.i64(lst + obSize); err == nil && n-pos >= 0 {
			ln := int(n - pos)
			ob.Len = &ln
		}
	}
}

// InstanceAttrs exposes the attribute pointers of a plain instance (for naming
// the primitives reachable from `self`).
//
// The result is memoised per object (the same self recurs in every frame of
// a recursion) and must not be modified.
func (p *Process) InstanceAttrs(v uint64) map[string]uint64 {
	if m, ok := p.attrs[v]; ok {
		return m
	}
	m, err := p.instanceAttrs(v, maxAttrs)
	if err == errBudget {
		return nil // not read, and not remembered as unreadable
	}
	if err != nil {
		m = nil
	}
	p.attrs[v] = m
	return m
}

// TypeName exposes the type name of an object.
func (p *Process) TypeName(v uint64) string {
	n, _ := p.typeName(v)
	return n
}

// DictStrItems returns up to max str-keyed items of a dict.
// DictSubscripts returns up to max items of a dict by the subscript a
// reader writes for their keys: 'name' for a str key, 12 for an int one;
// items under other keys are left out.
func (p *Process) DictSubscripts(dict uint64, max int) map[string]uint64 {
	items, err := p.dictItems(dict, max)
	if err != nil {
		return nil
	}
	out := make(map[string]uint64, len(items))
	for _, it := range items {
		switch tn, _ := p.typeName(it.Key); tn {
		case "str":
			if s, err := p.str(it.Key, maxNameLen); err == nil {
				out[SubscriptKey(s)] = it.Value
			}
		case "int":
			if n, err := p.smallInt(it.Key); err == nil {
				out[strconv.FormatInt(n, 10)] = it.Value
			}
		}
	}
	return out
}

func (p *Process) DictStrItems(dict uint64, max int) map[string]uint64 {
	items, err := p.dictItems(dict, max)
	if err != nil {
		return nil
	}
	out := make(map[string]uint64, len(items))
	for _, it := range items {
		if s, err := p.str(it.Key, maxNameLen); err == nil {
			out[s] = it.Value
		}
	}
	return out
}
