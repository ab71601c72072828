package cpython

import (
	"encoding/binary"
)

// A thread can block on a lock that no frame refers to any more (taken through
// an expression, or by C code). Its futex still names the lock: before 3.13.1
// the futex word is the sem_t the lock object points at, so a bounded scan of
// the writable anonymous memory for that pointer finds the object; from
// 3.13.1 the parked address is inside the object itself.

const (
	scanChunk      = 1 << 20
	lockSemOffset  = 16 // lock_lock / rlock_lock, and the PyMutex of 3.13.1+
	maxScanMapping = 1 << 30
)

// LockForWait returns the lock or RLock object a thread blocked on futex
// (parked: the 3.13+ parked address, or 0) waits for. The bytes scanned are
// drawn from the snapshot's budget; the scan leaves scanReserve of it.
//
// Results of the scan are kept across Rebind: a lock object does not move,
// and a snapshot of a live process reads its memory twice.
func (p *Process) LockForWait(futex, parked uint64) (uint64, bool) {
	if parked > lockSemOffset && p.isLock(parked-lockSemOffset) {
		return parked - lockSemOffset, true
	}
	if futex == 0 || futex%8 != 0 {
		return 0, false
	}
	if obj, ok := p.scanned[futex]; ok {
		return obj, obj != 0 && p.isLock(obj)
	}
	obj, ok, done := p.scanFor(futex)
	if done {
		p.scanned[futex] = obj
	}
	return obj, ok
}

// scanFor reads the writable anonymous memory for a lock object pointing at
// futex; done is false when the budget stopped it before the end.
func (p *Process) scanFor(futex uint64) (obj uint64, ok, done bool) {
	var want [8]byte
	binary.LittleEndian.PutUint64(want[:], futex)
	if p.scanBuf == nil {
		if p.r.spend(scanChunk) != nil {
			return 0, false, false
		}
		p.scanBuf = make([]byte, scanChunk)
	}
	buf := p.scanBuf
	scanned := uint64(0)
	for _, m := range p.Target.Mappings() {
		if len(m.Perms) < 2 || m.Perms[0] != 'r' || m.Perms[1] != 'w' || (m.Path != "" && m.Path != "[heap]") {
			continue
		}
		if m.End-m.Start > maxScanMapping {
			continue
		}
		for at := m.Start; at < m.End; at += scanChunk {
			n := min(uint64(scanChunk), m.End-at)
			if p.r.budget.left-int64(n) < scanReserve {
				p.warnf("the search of the heap for the lock behind futex %#x stopped after %d MiB: "+
					"the snapshot's read budget is nearly spent", futex, scanned>>20)
				return 0, false, false
			}
			p.r.spend(int(n))
			scanned += n
			got, _ := p.Target.ReadAt(buf[:n], at)
			for off := 0; off+8 <= got; off += 8 {
				if buf[off] != want[0] || string(buf[off:off+8]) != string(want[:]) {
					continue
				}
				obj := at + uint64(off) - lockSemOffset
				if p.isLock(obj) {
					return obj, true, true
				}
			}
		}
	}
	return 0, false, true
}

func (p *Process) isLock(obj uint64) bool {
	tn, err := p.typeName(obj)
	return err == nil && (tn == "_thread.lock" || tn == "_thread.RLock")
}
