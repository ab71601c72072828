package capture

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// A thread that could end a wait can reach the awaited object through what
// its frames hold, and any function through what a module holds: a dict of
// queues (QUEUES["a"]), an object two attributes down (app.pipeline.jobs),
// the items of a list of pairs (REGISTRY[0][1]). The objects of interest a
// local or a module global leads to, a few steps down, are its references
// too: the frame refers to them ("obj.jobs"), and a module global's are
// module globals themselves. Without them, a consumer waiting on such a
// queue while a thread that can feed it ran was "probably starved".

// reachSteps is how many steps (an attribute, an item, a module's global)
// are followed from a local or a module global.
const reachSteps = 3

// reachVisits bounds the objects one walk looks at, and maxReachItems the
// items or attributes of one container.
const (
	reachVisits   = 48
	maxReachItems = 16
)

// reachedObject is an object of interest and the path to it from where the
// walk began: ".jobs", "['a']", "[0][1]".
type reachedObject struct {
	path string
	ob   *snapshot.Object
}

// reachCache remembers walks by where they began: the locals of a deep
// recursion are the same few objects in every frame. noneSeen holds, by
// address bits, values lately found to lead to nothing.
type reachCache struct {
	from     map[uint64][]reachedObject
	noneSeen [256]uint64
}

// reach returns the objects of interest v leads to (v itself is not one),
// in a fixed order: the walk goes through attributes and str keys sorted.
func (b *memBuilder) reach(v uint64) []reachedObject {
	c := &b.reached
	slot := &c.noneSeen[(v/16)%uint64(len(c.noneSeen))]
	if v == 0 || *slot == v {
		return nil
	}
	if r, ok := c.from[v]; ok {
		return r
	}
	w := &walk{b: b, seen: map[uint64]bool{v: true}}
	w.from(v, "", reachSteps)
	if len(w.out) == 0 {
		*slot = v
		return nil
	}
	if c.from == nil {
		c.from = map[uint64][]reachedObject{}
	}
	c.from[v] = w.out
	return w.out
}

// walk is one walk from a value.
type walk struct {
	b      *memBuilder
	seen   map[uint64]bool
	visits int
	out    []reachedObject
}

// from follows v's attributes, items or globals, steps deep.
func (w *walk) from(v uint64, path string, steps int) {
	if steps == 0 {
		return
	}
	p := w.b.p
	switch c := p.Container(v); c {
	case "dict":
		items := p.DictSubscripts(v, maxReachItems)
		for _, k := range slices.Sorted(maps.Keys(items)) {
			w.step(items[k], path+"["+k+"]", steps)
		}
	case "list", "tuple": // a namedtuple's fields too
		for i, c := range p.Items(v, maxReachItems) {
			w.step(c, path+"["+strconv.Itoa(i)+"]", steps)
		}
	}
	switch tn := p.TypeName(v); {
	case tn == "module":
		if d := p.ProgramModule(v); d != 0 {
			w.attrs(p.DictStrItems(d, maxGlobals), path, steps)
		}
	case p.IsInstance(v) || tn == "types.SimpleNamespace" || tn == "functools.partial":
		w.attrs(p.InstanceAttrs(v), path, steps)
	case tn == "method": // a bound method leads to its object: q.put to q
		w.step(p.InstanceAttrs(v)["__self__"], path+".__self__", steps)
	}
}

// attrs steps into each attribute, sorted, but the dunder ones.
func (w *walk) attrs(attrs map[string]uint64, path string, steps int) {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if !strings.HasPrefix(k, "__") {
			w.step(attrs[k], path+"."+k, steps)
		}
	}
}

// step looks at c, reached by path: an object of interest ends the path,
// anything else is followed further.
func (w *walk) step(c uint64, path string, steps int) {
	if c == 0 || w.seen[c] || w.visits >= reachVisits {
		return
	}
	w.seen[c] = true
	w.visits++
	if ob := w.b.d.objs.Add(c); ob != nil {
		w.out = append(w.out, reachedObject{path: path, ob: ob})
		return
	}
	w.from(c, path, steps-1)
}

// oneStep says whether a path is a single attribute (".jobs").
func oneStep(path string) bool {
	return strings.HasPrefix(path, ".") && !strings.ContainsAny(path[1:], ".[")
}

// setGlobal gives ob the global name name when it has none or a worse one:
// the one of fewer steps (ledger before G['ledger'] when G = globals()),
// then the first in order, so that every look names it alike.
func setGlobal(ob *snapshot.Object, name string) {
	if ob.Global == "" || steps(name) < steps(ob.Global) || steps(name) == steps(ob.Global) && name < ob.Global {
		ob.Global = name
	}
}

// steps counts the attributes and items of a path ("a.b['c']": 2).
func steps(path string) int {
	return strings.Count(path, ".") + strings.Count(path, "[")
}
