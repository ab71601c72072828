package cpython

// maxStackScan bounds the C stack scanned for one thread (from its stack
// pointer up): the thread state a thread runs is passed down every call of
// the interpreter, so it lies near the top of the stack.
const maxStackScan = 256 << 10

// FirstOnStack scans a thread's C stack from sp (its stack pointer) up to
// end (the end of its stack mapping), at most maxStackScan bytes, for the
// first aligned word that is one of want, and returns it. Used to tell which
// thread state a thread is running: CPython 3.8–3.12 runs a subinterpreter's
// code on the calling thread with a thread state whose thread_id names the
// thread that created the interpreter (gh-109860), so the id alone can lie;
// the running thread's stack cannot.
func (p *Process) FirstOnStack(sp, end uint64, want map[uint64]bool) (uint64, bool) {
	if sp == 0 || end <= sp {
		return 0, false
	}
	end = min(end, sp+maxStackScan)
	for a := sp &^ 7; a+8 <= end; {
		pageEnd := min((a&^(pageSize-1))+pageSize, end)
		b, err := p.r.view(a, int(pageEnd-a))
		if err != nil {
			return 0, false
		}
		for i := 0; i+8 <= len(b); i += 8 {
			if v := le64(b[i:]); want[v] {
				return v, true
			}
		}
		a = pageEnd
	}
	return 0, false
}
