package cpython

import "strings"

// A coroutine handed to a loop from another thread with
// asyncio.run_coroutine_threadsafe() is carried by a
// concurrent.futures.Future that only the loop's thread completes: first
// the loop runs the callback the call scheduled (call_soon_threadsafe),
// which starts the coroutine as a task and chains the future to it; when
// the task ends, the loop sets the future. A thread that waits on the
// future's result() waits for that loop's thread.

// maxReadyRead bounds the ready callbacks of a loop read for submitted
// coroutines.
const maxReadyRead = 1024

// concurrentFuture is the class of the futures run_coroutine_threadsafe()
// returns.
var concurrentFuture = [2]string{"concurrent.futures._base", "Future"}

// closureOf returns what the cells of function fn's closure hold, when fn
// is a function whose qualified name ends with suffix; false otherwise.
func (p *Process) closureOf(fn uint64, suffix string) ([]uint64, bool) {
	if p.TypeName(fn) != "function" {
		return nil, false
	}
	q, err := p.r.u64(fn + uint64(p.Layout.FuncQualname))
	if err != nil {
		return nil, false
	}
	if name, err := p.str(q, maxNameLen); err != nil || !strings.HasSuffix(name, suffix) {
		return nil, false
	}
	closure, err := p.r.u64(fn + uint64(p.Layout.FuncClosure))
	if err != nil || closure == 0 {
		return nil, false
	}
	cells, err := p.tupleItems(closure, 8)
	if err != nil {
		return nil, false
	}
	var out []uint64
	for _, c := range cells {
		if v, err := p.r.u64(c + cellRef); err == nil && v != 0 {
			out = append(out, v)
		}
	}
	return out, true
}

// Submitted returns the concurrent.futures.Future of each coroutine that
// run_coroutine_threadsafe() handed to the loop at v and that waits in the
// loop's ready callbacks (_ready) for the loop to start it: the callback
// holds the future in its closure. Only loops built on BaseEventLoop are
// read.
func (p *Process) Submitted(loop uint64) []uint64 {
	if !p.derivesFromClass(loop, baseEventLoop) {
		return nil
	}
	ready, ok := p.InstanceAttrs(loop)["_ready"]
	if !ok {
		return nil
	}
	handles := p.dequeItems(ready, maxReadyRead)
	var out []uint64
	for _, h := range handles {
		cells, ok := p.closureOf(p.InstanceAttrs(h)["_callback"], "run_coroutine_threadsafe.<locals>.callback")
		if !ok {
			continue
		}
		for _, v := range cells {
			if p.derivesFromClass(v, concurrentFuture) {
				out = append(out, v)
			}
		}
	}
	return out
}

// ChainedLoop returns the event loop whose task or future the
// concurrent.futures.Future at fut is chained to (asyncio's _chain_future,
// as run_coroutine_threadsafe() chains it once the loop has started the
// coroutine): the loop's thread sets it when that task ends. 0 when it is
// chained to none.
func (p *Process) ChainedLoop(fut uint64) uint64 {
	cbs, ok := p.InstanceAttrs(fut)["_done_callbacks"]
	if !ok {
		return 0
	}
	items, _, err := p.listItems(cbs, maxChainCallbacks)
	if err != nil {
		return 0
	}
	for _, cb := range items {
		cells, ok := p.closureOf(cb, "_chain_future.<locals>._call_check_cancel")
		if !ok {
			continue
		}
		for _, v := range cells {
			if p.derivesFromClass(v, baseEventLoop) {
				return v // source_loop: the destination is no asyncio future, so dest_loop is None
			}
		}
	}
	return 0
}
