package cpython

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot/elfsym"
)

// asyncio keeps every task of the interpreter in a registry, whose shape
// changed twice:
//
//   - 3.8–3.11: asyncio.tasks._all_tasks, a weakref.WeakSet (its `data` is a
//     set of weak references to the tasks);
//   - 3.12–3.13: asyncio.tasks._scheduled_tasks (a WeakSet) and _eager_tasks
//     (a set of the tasks that run eagerly right now);
//   - 3.14: the C tasks sit on a linked list per thread
//     (_PyThreadStateImpl.asyncio_tasks_head, tasks of threads that have gone
//     move to PyInterpreterState.asyncio_tasks_head); the WeakSet and the set
//     keep only tasks that do not derive from the C Task.
//
// A task is read from its C struct: its loop, state, name, the future it
// awaits (task_fut_waiter) and its coroutine, whose await chain gives the
// task's stack (coro.go).

// Task is one asyncio task as read from the target.
type Task struct {
	Addr  uint64
	Type  string
	Name  string
	Loop  uint64
	State int // 0 pending, 1 cancelled, 2 finished (fut_state)
	// Waiter is task_fut_waiter: the future (or task) the coroutine awaits
	// right now; 0 when it awaits nothing (running, scheduled, done).
	Waiter uint64
	// Chain is the await chain, innermost first (see AwaitChain).
	Chain AwaitChain
	Err   error
}

// Future states (enum fut_state), the names asyncio's own Python code uses.
var futureStates = []string{"PENDING", "CANCELLED", "FINISHED"}

// StateName is PENDING, CANCELLED or FINISHED.
func (t *Task) StateName() string { return futStateName(t.State) }

func futStateName(s int) string {
	if s >= 0 && s < len(futureStates) {
		return futureStates[s]
	}
	return "state " + strconv.Itoa(s)
}

const (
	// maxTasks bounds the tasks read from one process; a server may hold
	// tens of thousands, and each is a walk of frames.
	maxTasks = 10_000
	// maxSetSlots bounds the hash table of a set read from the target.
	maxSetSlots = 1 << 22
	// Set and weak reference layout, the same 3.8–3.14 (checked against
	// DWARF by asyncio_dwarf_test.go).
	setMask     = 32
	setTable    = 40
	setEntry    = 16 // {key, hash}
	weakrefObj  = 16 // PyWeakReference.wr_object
	futureIter  = 16 // futureiterobject.future
	asendGen    = 16 // PyAsyncGenASend.ags_gen
	taskTypeTag = "_asyncio.Task"
	futTypeTag  = "_asyncio.Future"
)

// AsyncioTasks returns every task of the interpreter's asyncio, at most
// maxTasks (complete is false when some were left out or a registry could
// not be read). A process that never imported asyncio has none.
func (p *Process) AsyncioTasks(threads []ThreadState) (tasks []Task, complete bool) {
	mod, err := p.Module("asyncio.tasks")
	if err != nil {
		return nil, true
	}
	complete = true
	seen := map[uint64]bool{}
	var addrs []uint64
	add := func(v uint64) {
		if v == 0 || seen[v] || len(addrs) >= maxTasks {
			if len(addrs) >= maxTasks {
				complete = false
			}
			return
		}
		seen[v] = true
		if p.isTask(v) {
			addrs = append(addrs, v)
		}
	}
	for _, name := range []string{"_all_tasks", "_scheduled_tasks"} {
		if ws, ok := p.dictGet(mod, name); ok && !p.isNone(ws) {
			if err := p.weakSet(ws, add); err != nil {
				p.warnf("asyncio.tasks.%s at %#x: %v", name, ws, err)
				complete = false
			}
		}
	}
	if s, ok := p.dictGet(mod, "_eager_tasks"); ok && !p.isNone(s) {
		if err := p.setItems(s, add); err != nil {
			p.warnf("asyncio.tasks._eager_tasks at %#x: %v", s, err)
			complete = false
		}
	}
	if p.Layout.TaskNode >= 0 {
		if !p.taskLists(threads, add) {
			complete = false
		}
	}
	for _, a := range addrs {
		if p.r.spend(costObject) != nil {
			complete = false
			break
		}
		tasks = append(tasks, p.task(a))
	}
	if !complete {
		p.warnf("asyncio: not every task could be read (at most %d are)", maxTasks)
	}
	return tasks, complete
}

func (p *Process) isNone(v uint64) bool {
	tn, err := p.typeName(v)
	return err == nil && tn == "NoneType"
}

// isTask reports whether v's type is the C Task or derives from it.
func (p *Process) isTask(v uint64) bool { return p.derivesFrom(v, taskTypeTag) }

// derivesFrom reports whether v's type is the named C type or a subclass.
func (p *Process) derivesFrom(v uint64, name string) bool {
	t, err := p.typeOf(v)
	for i := 0; err == nil && t != 0 && i < maxBaseChain; i++ {
		n, e := p.typeNameOfType(t)
		if e != nil {
			return false
		}
		if n == name {
			return true
		}
		t, err = p.r.u64(t + tpBase)
	}
	return false
}

// weakSet calls add with every live referent of a weakref.WeakSet.
func (p *Process) weakSet(ws uint64, add func(uint64)) error {
	data, ok := p.InstanceAttrs(ws)["data"]
	if !ok {
		return fmt.Errorf("a WeakSet without data")
	}
	return p.setItems(data, func(ref uint64) {
		tn, err := p.typeName(ref)
		if err != nil || !strings.Contains(tn, "weakref") {
			return // a dummy (deleted) slot, or not a weak reference
		}
		if obj, err := p.r.u64(ref + weakrefObj); err == nil && obj != 0 && !p.isNone(obj) {
			add(obj)
		}
	})
}

// setItems calls add with every key of a set (deleted slots included: the
// caller checks what it gets).
func (p *Process) setItems(set uint64, add func(uint64)) error {
	if tn, err := p.typeName(set); err != nil || (tn != "set" && tn != "frozenset") {
		return fmt.Errorf("not a set (%q)", tn)
	}
	mask, err := p.r.i64(set + setMask)
	if err != nil {
		return err
	}
	if mask < 0 || mask+1 > maxSetSlots || (mask+1)&mask != 0 {
		return fmt.Errorf("implausible hash table mask %d", mask)
	}
	table, err := p.r.u64(set + setTable)
	if err != nil {
		return err
	}
	raw, err := p.r.bytes(table, int(mask+1)*setEntry)
	if err != nil {
		return fmt.Errorf("hash table at %#x: %w", table, err)
	}
	for i := 0; i < len(raw); i += setEntry {
		if k := le64(raw[i:]); k != 0 {
			add(k)
		}
	}
	return nil
}

// maxListNodes bounds the walk of one 3.14 task list.
const maxListNodes = maxTasks + 1

// taskLists walks the 3.14 per-thread and per-interpreter lists of C tasks.
func (p *Process) taskLists(threads []ThreadState, add func(uint64)) bool {
	l := p.aioLayout()
	ok := true
	walk := func(head uint64, where string) {
		node, err := p.r.u64(head)
		for n := 0; err == nil && node != head; n++ {
			if node == 0 || n >= maxListNodes {
				p.warnf("asyncio: the task list of %s is cut at %d nodes", where, n)
				ok = false
				return
			}
			add(node - uint64(l.TaskNode))
			node, err = p.r.u64(node)
		}
		if err != nil {
			p.warnf("asyncio: the task list of %s: %v", where, err)
			ok = false
		}
	}
	interps := map[uint64]bool{}
	for _, t := range threads {
		walk(t.Addr+uint64(l.TstateAsyncioTasks), fmt.Sprintf("thread state %#x", t.Addr))
		interps[t.Interp] = true
	}
	for in := range interps {
		walk(in+uint64(l.InterpAsyncioTasks), fmt.Sprintf("interpreter %#x", in))
	}
	return ok
}

// task reads one task's struct and its await chain.
func (p *Process) task(v uint64) Task {
	l := p.aioLayout()
	t := Task{Addr: v}
	t.Type, _ = p.typeName(v)
	ptr := func(off int64) uint64 {
		w, err := p.r.u64(v + uint64(off))
		if err != nil && t.Err == nil {
			t.Err = fmt.Errorf("task at %#x: %w", v, err)
		}
		return w
	}
	t.Loop, t.Waiter = ptr(l.FutLoop), ptr(l.TaskFutWaiter)
	coro, name := ptr(l.TaskCoro), ptr(l.TaskName)
	if st, err := p.r.i32(v + uint64(l.FutState)); err == nil {
		t.State = int(st)
	}
	t.Name = p.taskName(name)
	if coro != 0 && t.State == 0 {
		t.Chain = p.awaitChain(coro)
	}
	return t
}

// taskName decodes task_name: a str, or an int N that get_name() would turn
// into "Task-N" (3.12+ make the name lazily).
func (p *Process) taskName(v uint64) string {
	if v == 0 {
		return ""
	}
	tn, err := p.typeName(v)
	if err != nil {
		return ""
	}
	switch tn {
	case "str":
		s, _ := p.str(v, maxNameLen)
		return s
	case "int":
		if n, err := p.smallInt(v); err == nil {
			return "Task-" + strconv.FormatInt(n, 10)
		}
	}
	return p.Repr(v)
}

// FutureState reads the state of a C future or task (PENDING, CANCELLED,
// FINISHED), "" for anything else.
func (p *Process) FutureState(v uint64) string {
	if !p.derivesFrom(v, futTypeTag) {
		return ""
	}
	st, err := p.r.i32(v + uint64(p.aioLayout().FutState))
	if err != nil {
		return ""
	}
	return futStateName(int(st))
}

// aioOffsets are the running interpreter's own asyncio offsets, from the
// .AsyncioDebug section of its _asyncio module (3.14+): struct
// _Py_AsyncioModuleDebugOffsets, 13 u64 in three groups.
type aioOffsets struct {
	taskSize, taskName, taskAwaitedBy, taskIsTask, taskAwaitedBySet, taskCoro, taskNode uint64
	interpSize, interpTasks                                                             uint64
	tstateSize, tstateLoop, tstateTask, tstateTasks                                     uint64
}

const aioSection = ".AsyncioDebug"

// aioLayout is the layout with the asyncio offsets the interpreter publishes
// about itself, once they have been read (3.14+).
func (p *Process) aioLayout() *Layout {
	if p.aioDone || p.Layout.TaskNode < 0 {
		return p.Layout
	}
	p.aioDone = true
	warn := func(format string, args ...any) {
		p.warnf(format, args...)
		p.aioWarns = append(p.aioWarns, fmt.Sprintf(format, args...))
	}
	o, path, err := p.readAioOffsets()
	if err != nil {
		warn("asyncio: %v; using the built-in 3.%d table", err, p.Version.Minor)
		return p.Layout
	}
	if o == nil {
		return p.Layout // _asyncio is not loaded: no C task exists
	}
	l := p.Layout
	set := func(dst *int64, v uint64, what string) {
		if *dst != int64(v) {
			warn("Python %s: %s is %d in %s, built-in table says %d; using %d", p.Version, what, v, path, *dst, v)
			*dst = int64(v)
		}
	}
	set(&l.TaskName, o.taskName, "TaskObj.task_name")
	set(&l.TaskCoro, o.taskCoro, "TaskObj.task_coro")
	set(&l.TaskNode, o.taskNode, "TaskObj.task_node")
	set(&l.TstateAsyncioTasks, o.tstateTasks, "_PyThreadStateImpl.asyncio_tasks_head")
	set(&l.InterpAsyncioTasks, o.interpTasks, "PyInterpreterState.asyncio_tasks_head")
	return l
}

// readAioOffsets finds the section in the mapped _asyncio module (or the
// interpreter itself, when _asyncio is built in). nil, nil: not loaded.
func (p *Process) readAioOffsets() (*aioOffsets, string, error) {
	var raw []byte
	var where string
	if p.Bin == nil {
		return nil, "", nil
	}
	if s := p.Bin.Section(aioSection); s != nil {
		b, err := sectionBytes(s.Size, s.ReadAt)
		if err != nil {
			return nil, p.Binary, fmt.Errorf("%s section %s: %w", p.Binary, aioSection, err)
		}
		raw, where = b, p.Binary
	}
	if raw == nil {
		for path := range fileBases(p.Target.Mappings()) {
			if !strings.HasPrefix(filepath.Base(path), "_asyncio.") {
				continue
			}
			b, err := p.aioSectionOf(path)
			if err != nil {
				return nil, path, err
			}
			raw, where = b, path
			break
		}
	}
	if raw == nil {
		return nil, "", nil
	}
	return parseAioOffsets(raw, where)
}

func (p *Process) aioSectionOf(path string) ([]byte, error) {
	f, err := p.Target.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bin, err := elfsym.Open(f, f.Name())
	if err != nil {
		return nil, err
	}
	s := bin.Section(aioSection)
	if s == nil {
		return nil, fmt.Errorf("%s has no %s section", path, aioSection)
	}
	return sectionBytes(s.Size, s.ReadAt)
}

// aioWords is the number of u64 in _Py_AsyncioModuleDebugOffsets (3.14).
const aioWords = 13

func sectionBytes(size uint64, readAt func([]byte, int64) (int, error)) ([]byte, error) {
	if size < 8*aioWords || size > 4096 {
		return nil, fmt.Errorf("implausible size %d", size)
	}
	b := make([]byte, 8*aioWords)
	if _, err := readAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}

// parseAioOffsets checks each offset lies inside its struct.
func parseAioOffsets(b []byte, where string) (*aioOffsets, string, error) {
	w := make([]uint64, aioWords)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	o := &aioOffsets{w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11], w[12]}
	groups := []struct {
		what   string
		size   uint64
		fields []uint64
		max    uint64
	}{
		{"TaskObj", o.taskSize, []uint64{o.taskName, o.taskAwaitedBy, o.taskIsTask, o.taskAwaitedBySet, o.taskCoro, o.taskNode}, 1 << 12},
		{"PyInterpreterState", o.interpSize, []uint64{o.interpTasks}, 1 << 24},
		{"_PyThreadStateImpl", o.tstateSize, []uint64{o.tstateLoop, o.tstateTask, o.tstateTasks}, 1 << 16},
	}
	for _, g := range groups {
		if g.size == 0 || g.size > g.max {
			return nil, where, fmt.Errorf("%s %s: implausible size of %s: %d", where, aioSection, g.what, g.size)
		}
		for _, f := range g.fields {
			if f+8 > g.size {
				return nil, where, fmt.Errorf("%s %s: offset %d is outside %s (%d bytes)", where, aioSection, f, g.what, g.size)
			}
		}
	}
	return o, where, nil
}

// maxChainCallbacks bounds the done-callbacks of a future read for a chain.
const maxChainCallbacks = 16

// ChainedFrom returns, for a C asyncio future chained to another future by
// asyncio's _chain_future (loop.run_in_executor, asyncio.wrap_future), the
// objects the chain's cancel callback holds in its closure: among them the
// source future (a concurrent.futures.Future, whose done-callback completes
// this one). The callback is recognised by its qualified name; nil when the
// future has none. Reads are bounded: a few callbacks, one closure each.
func (p *Process) ChainedFrom(fut uint64) []uint64 {
	if !p.derivesFrom(fut, futTypeTag) {
		return nil
	}
	l := p.aioLayout()
	var callbacks []uint64
	if cb, err := p.r.u64(fut + uint64(l.FutCallback0)); err == nil && cb != 0 {
		callbacks = append(callbacks, cb)
	}
	if lst, err := p.r.u64(fut + uint64(l.FutCallbacks)); err == nil && lst != 0 {
		items, _, _ := p.listItems(lst, maxChainCallbacks)
		for _, it := range items {
			// Each item is a (callback, context) tuple.
			if pair, err := p.tupleItems(it, 2); err == nil && len(pair) > 0 {
				callbacks = append(callbacks, pair[0])
			}
		}
	}
	var out []uint64
	for _, cb := range callbacks {
		if cells, ok := p.closureOf(cb, "_chain_future.<locals>._call_check_cancel"); ok {
			out = append(out, cells...)
		}
	}
	return out
}

// cellRef is PyCellObject.ob_ref, after the object header.
const cellRef = 16
