package cpython

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/pyhang/pyhang/snapshot"
)

// What a Thread is given to run with is in its attributes, one step down:
// the items of _args and _kwargs (a Timer's args and kwargs), the object
// of the bound method it runs (a Timer's function, q.put), what a
// functools.partial target holds. The thread uses them when it runs, and a
// thread whose frames hold the Thread object can reach them: a Timer that
// will put to a queue in ten minutes is that queue's producer, and was
// taken for none.

// maxThreadArgs bounds the items looked at in one attribute of a Thread.
const maxThreadArgs = 16

// inside is a value held inside another, and the path to it: "[0]",
// "['q']", ".__self__", ".args[1]".
type inside struct {
	path string
	v    uint64
}

// threadArgs records in ob.Attrs the objects of interest held inside the
// attributes of a Thread (names sorted, attrs by name) that are not of
// interest themselves, under the attribute's name and the path inside it:
// "_args[0]", "function.__self__".
func (o *Objects) threadArgs(ob *snapshot.Object, names []string, attrs map[string]uint64, depth int) {
	for _, n := range names {
		if _, done := ob.Attrs[n]; done || len(n) > 1 && n[:2] == "__" {
			continue
		}
		for _, in := range o.p.insideOf(attrs[n], 2) {
			if sub := o.add(in.v, depth+1); sub != nil {
				if ob.Attrs == nil {
					ob.Attrs = map[string]string{}
				}
				ob.Attrs[n+in.path] = sub.ID
			}
		}
	}
}

// insideOf returns what v holds, when it is a tuple, a list or a dict (the
// str keys, sorted), a bound method (its object) or a functools.partial
// (its function, arguments and keywords, levels deep); nil for anything
// else.
func (p *Process) insideOf(v uint64, levels int) []inside {
	if v == 0 || levels <= 0 {
		return nil
	}
	var out []inside
	switch p.Container(v) {
	case "list", "tuple":
		for i, c := range p.Items(v, maxThreadArgs) {
			out = append(out, inside{"[" + strconv.Itoa(i) + "]", c})
		}
		return out
	case "dict":
		items := p.DictStrItems(v, maxThreadArgs)
		for _, k := range slices.Sorted(maps.Keys(items)) {
			out = append(out, inside{"[" + SubscriptKey(k) + "]", items[k]})
		}
		return out
	}
	switch p.TypeName(v) {
	case "method":
		if self := p.InstanceAttrs(v)["__self__"]; self != 0 {
			out = append(out, inside{".__self__", self})
		}
	case "functools.partial":
		attrs := p.InstanceAttrs(v)
		for _, n := range []string{"args", "func", "keywords"} {
			a := attrs[n]
			if a == 0 {
				continue
			}
			out = append(out, inside{"." + n, a})
			for _, in := range p.insideOf(a, levels-1) {
				out = append(out, inside{"." + n + in.path, in.v})
			}
		}
	}
	return out
}

// SubscriptKey is a str dict key as Python writes it in a subscript: 'a'.
func SubscriptKey(s string) string {
	if strings.ContainsAny(s, `'\`) || strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return strconv.Quote(s)
	}
	return "'" + s + "'"
}
