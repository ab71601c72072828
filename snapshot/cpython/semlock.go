package cpython

import (
	"github.com/pyhang/pyhang/snapshot"
)

// A multiprocessing Lock or RLock is a Python object whose _semlock is a
// _multiprocessing.SemLock: a POSIX semaphore (sem_t) in memory the
// processes that share the lock map, a blocked acquire() waiting on its
// futex word, and what this process knows of its own acquisitions.
// Modules/_multiprocessing/semaphore.c, SemLockObject; checked against
// DWARF in layout_dwarf_test.go.
const (
	semLockLastTid = 24 // unsigned long last_tid: the thread that last acquired it here
	semLockCount   = 32 // int count: acquisitions by this process not yet released
	semLockKind    = 40 // int kind: RECURSIVE_MUTEX (an RLock) or SEMAPHORE
	semLockSize    = 44 // the fields read, from the start of the object
	// semRecursiveMutex is SemLockObject.kind of an RLock, whose release()
	// only its owner may call: last_tid and count name the owner exactly.
	semRecursiveMutex = 0
	// semValueMask is where a semaphore's value is in the first word of
	// sem_t: glibc's struct new_sem on x86-64 keeps it in the low 32 bits
	// of its 64-bit data word (the futex word), its waiters above.
	semValueMask = 0xffffffff
)

// mpLockTypes name the multiprocessing lock classes as the report shows
// them: their tp_name is only "Lock" or "RLock".
var mpLockTypes = map[string]string{snapshot.KindLock: "multiprocessing.Lock", snapshot.KindRLock: "multiprocessing.RLock"}

// semLock decodes a multiprocessing Lock or RLock at v. Its wait key is the
// sem_t, where sem_wait() parks. Locked comes from the semaphore's value
// (live only); an RLock's owner and depth from last_tid and count. Shared
// says that other processes can hold and release it.
func (p *Process) semLock(v uint64, ob *snapshot.Object) {
	ob.Shared = true
	if t, ok := mpLockTypes[ob.Kind]; ok {
		ob.Type = t
	}
	sl, ok := p.InstanceAttrs(v)["_semlock"]
	if !ok {
		return
	}
	if tn, _ := p.typeName(sl); tn != "_multiprocessing.SemLock" {
		return
	}
	raw, err := p.r.bytes(sl, semLockSize)
	if err != nil {
		return
	}
	handle := le64(raw[semLockHandle:])
	if handle == 0 {
		return
	}
	ob.WaitKey = snapshot.Addr(handle)
	ob.SharedFile = p.mappedFile(handle)
	// A core holds the semaphore only if its writer dumped shared file
	// mappings (gcore may, the kernel by default does not), and a read of
	// memory it lacks is reported as missing: the value is not needed to
	// judge a hang (a with block holds the lock either way), so it is read
	// from a live process only.
	if p.Target.Kind() == "pid" {
		if word, err := p.r.u32(handle); err == nil {
			locked := word&semValueMask == 0
			ob.Locked = &locked
		}
	}
	count := int32(le32(raw[semLockCount:]))
	kind := int32(le32(raw[semLockKind:]))
	if ob.Kind == snapshot.KindRLock && kind == semRecursiveMutex && count > 0 {
		ob.Owner, ob.Count = le64(raw[semLockLastTid:]), int(count)
	}
}

// semEvent decodes a multiprocessing Event at v, and says whether it is
// one (else it is threading's, or asyncio's). Its waiters wait in
// _cond.wait(), parked on the condition's _wait_semaphore: that semaphore's
// sem_t is its wait key. Whether it is set is the value of its _flag
// semaphore (live only, as a lock's state is: Value "True" or "False").
func (p *Process) semEvent(v uint64, ob *snapshot.Object) bool {
	attrs := p.InstanceAttrs(v)
	flag, ok := p.semHandle(attrs["_flag"])
	if !ok {
		return false
	}
	ob.Shared, ob.Type = true, "multiprocessing.Event"
	if cond, ok := attrs["_cond"]; ok {
		if h, ok := p.semHandle(p.InstanceAttrs(cond)["_wait_semaphore"]); ok {
			ob.WaitKey = snapshot.Addr(h)
			ob.SharedFile = p.mappedFile(h)
		}
	}
	if p.Target.Kind() == "pid" {
		if word, err := p.r.u32(flag); err == nil {
			ob.Value = "False"
			if word&semValueMask != 0 {
				ob.Value = "True"
			}
		}
	}
	return true
}

// semHandle is the sem_t of the multiprocessing semaphore (Lock, Semaphore
// …) at v: its _semlock's handle.
func (p *Process) semHandle(v uint64) (uint64, bool) {
	if v == 0 {
		return 0, false
	}
	sl, ok := p.InstanceAttrs(v)["_semlock"]
	if !ok {
		return 0, false
	}
	if tn, _ := p.typeName(sl); tn != "_multiprocessing.SemLock" {
		return 0, false
	}
	h, err := p.r.u64(sl + semLockHandle)
	return h, err == nil && h != 0
}

// mappedFile is the path of the file the target maps at addr ("" for
// memory that is no file's).
func (p *Process) mappedFile(addr uint64) string {
	for _, m := range p.Target.Mappings() {
		if addr >= m.Start && addr < m.End {
			return m.Path
		}
	}
	return ""
}
