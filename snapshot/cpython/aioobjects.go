package cpython

import (
	"sort"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// maxChildren bounds the children read of one gather().
const maxChildren = 4096

// isAioType reports whether kindOf found v's type to be asyncio's.
func (p *Process) isAioType(v uint64) bool {
	t, err := p.typeOf(v)
	return err == nil && p.aioTypes[t]
}

// aioObject decodes an asyncio task, future, primitive or loop: the state of
// C futures and tasks, and the attributes of the Python-level primitives
// that say whether anyone can still get through them.
func (o *Objects) aioObject(v uint64, ob *snapshot.Object, depth int) {
	p := o.p
	if t, err := p.typeOf(v); err == nil {
		if mod := p.typeModule(t); mod != "" && mod != "builtins" && !strings.Contains(ob.Type, ".") {
			ob.Type = mod + "." + ob.Type
		}
	}
	switch ob.Kind {
	case snapshot.KindTask:
		ob.Value = p.FutureState(v)
		l := p.aioLayout()
		if n, err := p.r.u64(v + uint64(l.TaskName)); err == nil {
			if name := p.taskName(n); name != "" {
				o.Name(ob, name)
			}
		}
		return
	case snapshot.KindFuture:
		ob.Value = p.FutureState(v)
	case snapshot.KindLoop:
		return
	case snapshot.KindTimeout:
		// Its deadline: None for asyncio.timeout(None), which never
		// expires (wait_for(..., timeout=None) makes one from 3.12 on).
		if when, ok := p.InstanceAttrs(v)["_when"]; ok {
			ob.Value, _, _ = p.ReprLimited(when, valueReprLimits)
		}
		return
	}
	attrs := p.InstanceAttrs(v)
	for name, a := range attrs {
		switch name {
		case "_locked":
			locked := p.truthy(a)
			ob.Locked = &locked
		case "_value":
			ob.Value, _, _ = p.ReprLimited(a, valueReprLimits)
		case "_bound_value": // a BoundedSemaphore's
			ob.Initial = p.count(a)
		case "_waiters":
			if !p.isNone(a) {
				if n, err := p.r.i64(a + obSize); err == nil && n >= 0 && ob.Kind != snapshot.KindQueue {
					ln := int(n)
					ob.Len = &ln
				}
			}
		case "_queue":
			if n, err := p.r.i64(a + obSize); err == nil && n >= 0 {
				ln := int(n)
				ob.Len = &ln
			}
		case "_unfinished_tasks": // what join() waits for: items got, not marked done
			if v, err := p.smallInt(a); err == nil && v >= 0 && v <= 1<<40 && ob.Kind == snapshot.KindQueue {
				u := int(v)
				ob.Unfinished = &u
			}
		case "_lock":
			if sub := o.add(a, depth+1); sub != nil {
				if ob.Attrs == nil {
					ob.Attrs = map[string]string{}
				}
				ob.Attrs[name] = sub.ID
			}
		case "_children":
			items, _, err := p.listItems(a, maxChildren)
			if err != nil {
				continue
			}
			for _, c := range items {
				if sub := o.add(c, depth+1); sub != nil {
					ob.Children = append(ob.Children, sub.ID)
				}
			}
		case "_tasks":
			if ob.Kind != snapshot.KindTaskGroup {
				continue
			}
			n := 0
			_ = p.setItems(a, func(c uint64) {
				if n < maxChildren && p.isTask(c) {
					n++
					if sub := o.add(c, depth+1); sub != nil {
						ob.Children = append(ob.Children, sub.ID)
					}
				}
			})
			sort.Strings(ob.Children)
		}
	}
}
