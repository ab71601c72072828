package cpython

import (
	"github.com/pyhang/pyhang/snapshot"
)

// Fields of the Python-level objects behind the hangs that are not lock
// waits: an import lock's owner, a Barrier's parties, an executor's size and
// queued work, a Popen's child. All are instance attributes, read by name.

// _queue.SimpleQueue (the executor's work queue) items, read to find the
// work items waiting in it. Checked against DWARF in layout_dwarf_test.go.
const (
	sqLst         = 32  // 3.8–3.12: PyObject *lst (a list)
	sqLstPos      = 40  // 3.8–3.12: Py_ssize_t lst_pos, the first unread item
	sqRingGetIdx  = 32  // 3.13+: buf.get_idx
	sqRingItems   = 40  // 3.13+: buf.items (PyObject **)
	sqRingCap     = 48  // 3.13+: buf.items_cap
	sqRingNum     = 56  // 3.13+: buf.num_items
	setUsed       = 24  // PySetObject.used: the number of items of a set
	semLockHandle = 16  // _multiprocessing.SemLock's SEM_HANDLE (sem_t *)
	maxWorkers    = 256 // worker Process objects read from one Pool
	maxQueued     = 64  // work items read from one queue
)

// collections.deque: a list of blocks of dequeBlockLen slots, its items
// from leftindex in the leftmost block on. Checked against DWARF in
// layout_dwarf_test.go.
const (
	dequeLeftBlock = 24  // block *leftblock
	dequeLeftIndex = 40  // Py_ssize_t leftindex
	dequeBlockData = 8   // block.data[dequeBlockLen]
	dequeBlockNext = 520 // block.rightlink
	dequeBlockLen  = 64
	methodFunc     = 16 // PyMethodObject.im_func (a bound method)
	methodSelf     = 24 // PyMethodObject.im_self
)

// barrierStates are threading.Barrier's _state values.
var barrierStates = map[int64]string{0: "filling", 1: "draining", -1: "resetting", -2: "broken"}

// kindAttrs decodes the attributes a kind needs beyond the generic ones.
func (o *Objects) kindAttrs(ob *snapshot.Object, attrs map[string]uint64) {
	p := o.p
	num := func(name string) (int64, bool) {
		v, ok := attrs[name]
		if !ok {
			return 0, false
		}
		if tn, err := p.typeName(v); err != nil || (tn != "int" && tn != "bool") {
			return 0, false
		}
		n, err := p.smallInt(v)
		return n, err == nil
	}
	switch ob.Kind {
	case snapshot.KindModuleLock:
		if s, err := p.str(attrs["name"], maxNameLen); err == nil {
			ob.Module = s
		}
		if id, ok := num("owner"); ok && id > 0 {
			ob.Owner = uint64(id)
		}
		// count is an int up to 3.11, a list of True since 3.12.
		if n, ok := num("count"); ok && n >= 0 && n < 1<<30 {
			ob.Count = int(n)
		} else if c, ok := attrs["count"]; ok {
			if tn, _ := p.typeName(c); tn == "list" {
				if n, err := p.r.i64(c + obSize); err == nil && n >= 0 && n < 1<<30 {
					ob.Count = int(n)
				}
			}
		}
	case snapshot.KindBarrier:
		parties, ok1 := num("_parties")
		count, ok2 := num("_count")
		state, ok3 := num("_state")
		if ok1 && ok2 && ok3 && parties > 0 && parties < 1<<30 && count >= 0 && count <= parties {
			ob.Barrier = &snapshot.BarrierInfo{Parties: int(parties), Waiting: int(count), State: barrierStates[state]}
		}
	case snapshot.KindExecutor:
		max, ok := num("_max_workers")
		if !ok || max <= 0 || max > 1<<20 {
			return
		}
		ex := &snapshot.ExecutorInfo{MaxWorkers: int(max)}
		if set, ok := attrs["_threads"]; ok {
			if tn, _ := p.typeName(set); tn == "set" {
				if n, err := p.r.i64(set + setUsed); err == nil && n >= 0 && n < 1<<20 {
					ex.Threads = int(n)
				}
			}
		}
		if sd, ok := num("_shutdown"); ok {
			ex.Shutdown = sd != 0
		}
		ob.Executor = ex
	case snapshot.KindPopen:
		pid, ok := num("pid")
		if !ok || pid <= 0 || pid > 1<<22 {
			return
		}
		c := &snapshot.ChildInfo{PID: int(pid)}
		if rc, ok := num("returncode"); ok {
			r := int(rc)
			c.ReturnCode = &r
		}
		for _, s := range []string{"stdin", "stdout", "stderr"} {
			if v, ok := attrs[s]; ok {
				if tn, err := p.typeName(v); err == nil && tn != "NoneType" {
					c.Pipes = append(c.Pipes, s)
				}
			}
		}
		if a, ok := attrs["args"]; ok {
			c.Args = p.Repr(a)
		}
		ob.Child = c
	case snapshot.KindMPPool:
		n, ok := num("_processes")
		if !ok || n < 0 || n > 1<<20 {
			return
		}
		mp := &snapshot.MPPoolInfo{Processes: int(n), Workers: []string{}}
		if l, ok := attrs["_pool"]; ok {
			for _, w := range p.Items(l, maxWorkers) {
				if wo := o.add(w, maxObjDepth-1); wo != nil && wo.Kind == snapshot.KindMPProcess {
					mp.Workers = append(mp.Workers, wo.ID)
				}
			}
		}
		if c, ok := attrs["_cache"]; ok {
			if used, err := p.r.i64(c + dictUsed); err == nil && used >= 0 && used < 1<<30 {
				mp.Pending = int(used)
			}
		}
		ob.MPPool = mp
	case snapshot.KindMPResult:
		job, ok := num("_job")
		if !ok || job < 0 || job > 1<<40 {
			return
		}
		r := &snapshot.MPResultInfo{Job: int(job)}
		if left, ok := num("_number_left"); ok && left >= 0 && left < 1<<40 {
			l := int(left)
			r.Left = &l
		}
		ob.MPResult = r
	case snapshot.KindMPProcess:
		pop, ok := attrs["_popen"]
		if !ok {
			return
		}
		pa := p.InstanceAttrs(pop)
		pidObj, ok := pa["pid"]
		if !ok {
			return
		}
		if tn, _ := p.typeName(pidObj); tn != "int" {
			return
		}
		pid, err := p.smallInt(pidObj)
		if err != nil || pid <= 0 || pid > 1<<22 {
			return
		}
		mp := &snapshot.MPProcessInfo{PID: int(pid)}
		if rc, ok := pa["returncode"]; ok {
			if tn, _ := p.typeName(rc); tn == "int" {
				if v, err := p.smallInt(rc); err == nil && v > -256 && v < 256 {
					c := int(v)
					mp.ExitCode = &c
				}
			}
		}
		if args, ok := attrs["_args"]; ok {
			for _, a := range p.Items(args, 16) {
				if ao := o.add(a, maxObjDepth-1); ao != nil {
					mp.Args = append(mp.Args, ao.ID)
				}
			}
		}
		ob.MPProcess = mp
	case snapshot.KindMPQueue:
		q := &snapshot.MPQueueInfo{}
		if r, ok := attrs["_reader"]; ok {
			if h, ok := p.InstanceAttrs(r)["_handle"]; ok {
				if tn, _ := p.typeName(h); tn == "int" {
					if fd, err := p.smallInt(h); err == nil && fd >= 0 && fd < 1<<20 {
						f := int(fd)
						q.ReaderFD = &f
					}
				}
			}
		}
		if h, ok := p.semHandle(attrs["_rlock"]); ok {
			q.ReadLock = snapshot.Addr(h)
		}
		// A JoinableQueue: join() waits in its condition's wait semaphore
		// while _unfinished_tasks, a semaphore, is above zero.
		if c, ok := attrs["_cond"]; ok {
			if h, ok := p.semHandle(p.InstanceAttrs(c)["_wait_semaphore"]); ok {
				q.JoinWait = snapshot.Addr(h)
			}
		}
		if u, ok := p.semHandle(attrs["_unfinished_tasks"]); ok && p.Target.Kind() == "pid" {
			// The semaphore is in shared memory, which a core seldom holds.
			if word, err := p.r.u32(u); err == nil {
				n := int(word & semValueMask)
				ob.Unfinished = &n
			}
		}
		ob.MPQueue = q
	}
}

// dequeItems returns the first items of a collections.deque, leftmost
// first.
func (p *Process) dequeItems(v uint64, max int) []uint64 {
	n, err1 := p.r.i64(v + obSize)
	block, err2 := p.r.u64(v + dequeLeftBlock)
	idx, err3 := p.r.i64(v + dequeLeftIndex)
	if err1 != nil || err2 != nil || err3 != nil || n < 0 || idx < 0 || idx >= dequeBlockLen {
		return nil
	}
	n = min(n, int64(max))
	out := make([]uint64, 0, n)
	for i := int64(0); i < n; i++ {
		if idx == dequeBlockLen {
			if block, err1 = p.r.u64(block + dequeBlockNext); err1 != nil || block == 0 {
				break
			}
			idx = 0
		}
		it, err := p.r.u64(block + dequeBlockData + uint64(idx)*8)
		if err != nil {
			break
		}
		out = append(out, it)
		idx++
	}
	return out
}

// simpleQueueItems returns the first items of a _queue.SimpleQueue, oldest
// first.
func (p *Process) simpleQueueItems(v uint64, max int) []uint64 {
	if p.Layout.Minor >= 13 {
		get, err1 := p.r.i64(v + sqRingGetIdx)
		items, err2 := p.r.u64(v + sqRingItems)
		cp, err3 := p.r.i64(v + sqRingCap)
		n, err4 := p.r.i64(v + sqRingNum)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || cp <= 0 || cp > 1<<28 || n < 0 || n > cp || get < 0 || get >= cp {
			return nil
		}
		n = min(n, int64(max))
		out := make([]uint64, 0, n)
		for i := int64(0); i < n; i++ {
			it, err := p.r.u64(items + uint64((get+i)%cp)*8)
			if err != nil {
				break
			}
			out = append(out, it)
		}
		return out
	}
	lst, err1 := p.r.u64(v + sqLst)
	pos, err2 := p.r.i64(v + sqLstPos)
	if err1 != nil || err2 != nil || lst == 0 || pos < 0 {
		return nil
	}
	n, err1 := p.r.i64(lst + obSize)
	items, err2 := p.r.u64(lst + listItems)
	if err1 != nil || err2 != nil || pos > n {
		return nil
	}
	out, err := p.ptrArray(items+uint64(pos)*8, n-pos, max, lst)
	if err != nil {
		return nil
	}
	return out
}

// queuedFutures records the futures of the work items waiting in an
// executor's work queue.
func (o *Objects) queuedFutures(v uint64, ob *snapshot.Object, depth int) {
	for _, it := range o.p.simpleQueueItems(v, maxQueued) {
		if tn, err := o.p.typeName(it); err != nil || tn != "_WorkItem" {
			continue
		}
		fut, ok := o.p.InstanceAttrs(it)["future"]
		if !ok {
			continue
		}
		if f := o.add(fut, depth+1); f != nil && f.Kind == snapshot.KindFuture {
			ob.Queued = append(ob.Queued, f.ID)
		}
	}
}

// flagHeapType is Py_TPFLAGS_HEAPTYPE: a type made by a class statement.
const flagHeapType = 1 << 9

// IsInstance reports whether v is an instance of a Python class (its type is
// a heap type): an object whose attributes may hold objects of interest.
func (p *Process) IsInstance(v uint64) bool {
	t, err := p.typeOf(v)
	if err != nil {
		return false
	}
	flags, err := p.r.u64(t + tpFlags)
	return err == nil && flags&flagHeapType != 0
}
