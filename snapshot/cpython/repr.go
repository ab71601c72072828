package cpython

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pyhang/pyhang/snapshot"
	"github.com/pyhang/pyhang/snapshot/target"
)

// ReprLimits bound the repr of a local: it is a hint for a person, and the
// object graph behind it comes from the target, so every repr is bounded.
type ReprLimits struct {
	// Depth is how many levels of nested containers are shown; deeper ones
	// show only their length.
	Depth int
	// Items is how many items of one container are shown.
	Items int
	// Width is about how many characters one repr may take: strings are cut
	// to what is left of it, and containers stop adding items once it is
	// spent (the closing brackets and the notes on what was cut still follow).
	Width int
}

// DefaultReprLimits are the limits of --locals.
var DefaultReprLimits = ReprLimits{Depth: 3, Items: 10, Width: 200}

// FullReprLimits are the limits of --locals=full: everything a person could
// want to read, still bounded against a hostile or huge object graph.
var FullReprLimits = ReprLimits{Depth: 64, Items: 100_000, Width: 1 << 20}

// maxReprNodes bounds the objects one repr visits.
const maxReprNodes = 200_000

// reprNotRead stands for the repr of a value left unread when the snapshot's
// budget was spent.
const reprNotRead = "<not read: the snapshot's budget is spent>"

// shortReprLimits bound a repr that only mentions a value in passing.
var shortReprLimits = ReprLimits{Depth: 2, Items: 5, Width: 80}

// Repr returns a short repr of the object at v, for mentioning it in passing
// (--locals uses ReprLimited with the limits asked for).
func (p *Process) Repr(v uint64) string {
	s, _, _ := p.ReprLimited(v, shortReprLimits)
	return s
}

// ReprLimited returns the repr of the object at v, in the spirit of
// Python's repr, within lim, and what it left out. Anything pyhang does not
// decode is <Type object at 0x…>. Where something is cut, the text says how
// much: "'abc'…(1200 more characters)", "[1, 2, …(98 more)]", "[…(12 items)]".
// A part whose memory cannot be read (a core that did not keep it) is
// <unreadable Type object at 0x…>, and the error is the first such read's:
// the caller says the snapshot lacks it.
func (p *Process) ReprLimited(v uint64, lim ReprLimits) (string, snapshot.Cut, error) {
	if p.r.budget.spent {
		return reprNotRead, snapshot.Cut{}, nil
	}
	r := &reprer{p: p, lim: lim, budget: lim.Width}
	r.repr(v, 0)
	return r.b.String(), r.cut, r.lost
}

type reprer struct {
	p      *Process
	lim    ReprLimits
	b      strings.Builder
	budget int // characters left of lim.Width
	nodes  int
	cut    snapshot.Cut
	// open are the containers being written, outermost first: one met
	// again inside itself is written as Python does, "[...]".
	open []uint64
	lost error // the first read of memory the target does not hold
}

// unreadable reports whether err is a read of memory the target does not
// hold, and notes the first.
func (r *reprer) unreadable(err error) bool {
	if !errors.Is(err, target.ErrUnreadable) {
		return false
	}
	if r.lost == nil {
		r.lost = err
	}
	return true
}

// enter reports whether container v may be written (it is not already
// being written further out), and notes it; leave undoes that.
func (r *reprer) enter(v uint64) bool {
	for _, o := range r.open {
		if o == v {
			return false
		}
	}
	r.open = append(r.open, v)
	return true
}

func (r *reprer) leave() { r.open = r.open[:len(r.open)-1] }

func (r *reprer) write(s string) {
	r.b.WriteString(s)
	r.budget -= utf8.RuneCountInString(s)
	r.p.r.spend(2 * len(s)) // the text and the parts it was built from
}

func (r *reprer) repr(v uint64, depth int) {
	p := r.p
	r.nodes++
	if v == 0 {
		r.write("<NULL>")
		return
	}
	tn, err := p.typeName(v)
	if err != nil {
		r.unreadable(err)
		r.write(fmt.Sprintf("<unreadable object at %#x>", v))
		return
	}
	// other stands for a value pyhang does not decode, or one whose fields
	// make no sense; never for one whose memory is missing, which is said
	// to be unreadable: the two must not look alike.
	other := func(err error) {
		if r.unreadable(err) {
			r.write(fmt.Sprintf("<unreadable %s object at %#x>", tn, v))
			return
		}
		r.write(fmt.Sprintf("<%s object at %#x>", tn, v))
	}
	switch tn {
	case "NoneType":
		r.write("None")
	case "bool":
		n, err := p.intObj(v)
		switch {
		case err != nil:
			other(err)
		case n.Sign() != 0:
			r.write("True")
		default:
			r.write("False")
		}
	case "int":
		n, err := p.intObj(v)
		if err != nil {
			other(err)
			return
		}
		r.writeDigits(n.String())
	case "float":
		f, err := p.r.f64(v + floatValue)
		if err != nil {
			other(err)
			return
		}
		r.write(formatFloat(f))
	case "str":
		keep := max(r.budget-2, 1)
		s, n, err := p.strTotal(v, keep)
		if err != nil {
			other(err)
			return
		}
		s = fitStr(s, keep) // escapes print wider than the characters they stand for
		r.write(strRepr(s))
		if shown := utf8.RuneCountInString(s); shown < n {
			r.cut.Chars += n - shown
			r.write(fmt.Sprintf("…(%d more characters)", n-shown))
		}
	case "bytes":
		keep := max(r.budget-3, 1)
		b, cut, err := p.bytesObj(v, keep)
		if err != nil {
			other(err)
			return
		}
		if fit := fitBytes(b, keep); len(fit) < len(b) {
			b, cut = fit, true
		}
		r.write(bytesRepr(b))
		if cut {
			n, _ := p.r.i64(v + obSize)
			r.cut.Bytes += int(n) - len(b)
			r.write(fmt.Sprintf("…(%d more bytes)", int(n)-len(b)))
		}
	case "complex":
		re, err1 := p.r.f64(v + complexReal)
		im, err2 := p.r.f64(v + complexImag)
		if err1 != nil || err2 != nil {
			other(cmp.Or(err1, err2))
			return
		}
		r.write(complexRepr(re, im))
	case "tuple", "list", "dict", "set", "frozenset":
		if !r.enter(v) {
			r.write(map[string]string{"tuple": "(...)", "list": "[...]", "dict": "{...}", "set": "set(...)", "frozenset": "frozenset(...)"}[tn])
			return
		}
		defer r.leave()
		switch tn {
		case "dict":
			r.dict(v, depth, other)
		case "set", "frozenset":
			r.set(v, tn, depth, other)
		default:
			r.sequence(v, tn, depth, other)
		}
	case "function":
		q, err := p.r.u64(v + uint64(p.Layout.FuncQualname))
		name, serr := p.str(q, maxNameLen)
		if err != nil || serr != nil {
			other(cmp.Or(err, serr))
			return
		}
		r.write(fmt.Sprintf("<function %s at %#x>", name, v))
	case "type":
		if name, ok := r.className(v); ok {
			r.write("<class '" + name + "'>")
			return
		}
		other(nil)
	case "_thread.lock", "_thread.RLock":
		if o := p.lockState(v, tn); o != nil {
			state := "unlocked"
			if o.locked {
				state = "locked"
			}
			r.write(fmt.Sprintf("<%s %s object at %#x>", state, tn, v))
			return
		}
		other(nil)
	default:
		other(nil)
	}
}

// more writes "…(N more)" for the items of a container of n that were not
// shown, and says whether there were any.
func (r *reprer) more(n, shown int) bool {
	rest := n - shown
	if rest <= 0 {
		return false
	}
	r.cut.Items += rest
	if shown > 0 {
		r.write(", ")
	}
	r.write(fmt.Sprintf("…(%d more)", rest))
	return true
}

// room says whether another item may be shown.
func (r *reprer) room(shown int) bool {
	return shown < r.lim.Items && r.budget > 0 && r.nodes < maxReprNodes && !r.p.r.budget.spent
}

func (r *reprer) sequence(v uint64, tn string, depth int, other func(error)) {
	p := r.p
	n, err := p.r.i64(v + obSize)
	if err != nil || n < 0 || n > 1<<28 {
		other(err)
		return
	}
	open, close := "[", "]"
	if tn == "tuple" {
		open, close = "(", ")"
	}
	if n > 0 && depth >= r.lim.Depth {
		r.cut.Collapsed++
		r.write(fmt.Sprintf("%s…(%d items)%s", open, n, close))
		return
	}
	want := min(int(n), r.lim.Items)
	var items []uint64
	if tn == "tuple" {
		items, err = p.tupleItems(v, want)
	} else {
		items, _, err = p.listItems(v, want)
	}
	if err != nil {
		other(err)
		return
	}
	r.write(open)
	shown := 0
	for _, it := range items {
		if !r.room(shown) {
			break
		}
		if shown > 0 {
			r.write(", ")
		}
		r.repr(it, depth+1)
		shown++
	}
	if !r.more(int(n), shown) && tn == "tuple" && n == 1 {
		r.write(",")
	}
	r.write(close)
}

func (r *reprer) dict(v uint64, depth int, other func(error)) {
	p := r.p
	used, err := p.r.i64(v + dictUsed)
	if err != nil || used < 0 || used > 1<<28 {
		other(err)
		return
	}
	if used > 0 && depth >= r.lim.Depth {
		r.cut.Collapsed++
		r.write(fmt.Sprintf("{…(%d items)}", used))
		return
	}
	items, err := p.dictItems(v, min(int(used), r.lim.Items))
	if err != nil {
		other(err)
		return
	}
	r.write("{")
	shown := 0
	for _, it := range items {
		if !r.room(shown) {
			break
		}
		if shown > 0 {
			r.write(", ")
		}
		r.repr(it.Key, depth+1)
		r.write(": ")
		r.repr(it.Value, depth+1)
		shown++
	}
	r.more(int(used), shown)
	r.write("}")
}

// writeDigits writes an int's digits, cut to what is left of the width
// like a str (an int of 10**5000 is 5,001 characters): "1234…(4998 more
// digits)", counted as characters cut.
func (r *reprer) writeDigits(s string) {
	shown, cut := cutDigits(s, max(r.budget, 1))
	r.cut.Chars += cut
	r.write(shown)
}

// cutDigits keeps the first keep characters of an int's digits and says how
// many it cut.
func cutDigits(s string, keep int) (string, int) {
	if len(s) <= keep {
		return s, 0
	}
	return s[:keep] + fmt.Sprintf("…(%d more digits)", len(s)-keep), len(s) - keep
}

// formatFloat is Python's repr of a float: the shortest digits that read
// back the same, in positional notation for exponents from -4 up to 15 and
// in scientific notation outside them (1e-05, 1e+16), ".0" after an
// integral value, and nan, inf and -inf.
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	exp, err := strconv.Atoi(e[strings.LastIndexByte(e, 'e')+1:])
	if err == nil && f != 0 && (exp < -4 || exp >= 16) {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// bytesRepr renders b as Python does: b'…' with \xNN escapes.
func bytesRepr(b []byte) string {
	q := byte('\'')
	if bytes.IndexByte(b, '\'') >= 0 && bytes.IndexByte(b, '"') < 0 {
		q = '"'
	}
	var sb strings.Builder
	sb.WriteByte('b')
	sb.WriteByte(q)
	for _, c := range b {
		switch {
		case c == '\\' || c == q:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\t':
			sb.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			hexEscape(&sb, 'x', uint32(c), 2)
		default:
			sb.WriteByte(c)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}

// fitStr is the longest prefix of s whose repr, quotes aside, prints in
// width characters or fewer: a character that repr escapes ("\x1b",
// "\u202e") takes 2 to 10 of them.
func fitStr(s string, width int) string {
	if utf8.RuneCountInString(strRepr(s))-2 <= width {
		return s
	}
	w := 0
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		if w += utf8.RuneCountInString(strRepr(s[i:i+size])) - 2; w > width {
			return s[:i]
		}
		i += size
	}
	return s
}

// fitBytes is fitStr for a bytes object's repr.
func fitBytes(b []byte, width int) []byte {
	if len(bytesRepr(b))-3 <= width {
		return b
	}
	w := 0
	for i := range b {
		if w += len(bytesRepr(b[i:i+1])) - 3; w > width {
			return b[:i]
		}
	}
	return b
}

// strRepr renders s as Python's repr does: single quotes unless the text has
// a single quote and no double one, and Python's escapes.
func strRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var sb strings.Builder
	sb.WriteByte(q)
	for i, r := range s {
		switch {
		case r == utf8.RuneError && invalidAt(s, i): // a byte str() kept from a surrogate escape
			hexEscape(&sb, 'u', 0xdc00|uint32(s[i]), 4)
		case r == '\\' || r == rune(q):
			sb.WriteByte('\\')
			sb.WriteRune(r)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			hexEscape(&sb, 'x', uint32(r), 2)
		case r < 0x7f || unicode.IsPrint(r):
			sb.WriteRune(r)
		case r <= 0xff:
			hexEscape(&sb, 'x', uint32(r), 2)
		case r <= 0xffff:
			hexEscape(&sb, 'u', uint32(r), 4)
		default:
			hexEscape(&sb, 'U', uint32(r), 8)
		}
	}
	sb.WriteByte(q)
	return sb.String()
}

// invalidAt reports whether s holds, at i, a byte that begins no UTF-8
// character.
func invalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1 && s[i] >= 0x80
}

// hexEscape writes \<kind> and v in digits lower-case hex digits (reprs of
// hostile strings escape every character: no fmt on that path).
func hexEscape(sb *strings.Builder, kind byte, v uint32, digits int) {
	const hex = "0123456789abcdef"
	sb.WriteByte('\\')
	sb.WriteByte(kind)
	for i := digits - 1; i >= 0; i-- {
		sb.WriteByte(hex[v>>(4*uint(i))&15])
	}
}

// set writes a set or frozenset as Python does: {1, 2}, frozenset({1}),
// set(), reading its hash table a slice at a time until enough items are
// shown. A slot holds an item when its key is set and its hash is not -1
// (a deleted item's dummy).
func (r *reprer) set(v uint64, tn string, depth int, other func(error)) {
	p := r.p
	used, err1 := p.r.i64(v + setUsed)
	mask, err2 := p.r.i64(v + setMask)
	table, err3 := p.r.u64(v + setTable)
	if err := cmp.Or(err1, err2, err3); err != nil || mask < 0 || mask+1 > maxSetSlots || (mask+1)&mask != 0 || used < 0 || used > mask+1 {
		other(err)
		return
	}
	open, close := "{", "}"
	if tn == "frozenset" {
		open, close = "frozenset({", "})"
	}
	switch {
	case used == 0:
		r.write(tn + "()")
		return
	case depth >= r.lim.Depth:
		r.cut.Collapsed++
		r.write(fmt.Sprintf("%s…(%d items)%s", open, used, close))
		return
	}
	r.write(open)
	shown := 0
	const slice = 256 // slots read at a time
	full := false
	for i := int64(0); i <= mask && !full && shown < int(used); i += slice {
		at := table + uint64(i*setEntry)
		raw, err := p.r.bytes(at, int(min(slice, mask+1-i))*setEntry)
		if err != nil {
			if r.unreadable(err) {
				// The items left are not cut but lost: say so, not "…(N more)".
				if shown > 0 {
					r.write(", ")
				}
				n, s := int(used)-shown, "s"
				if n == 1 {
					s = ""
				}
				r.write(fmt.Sprintf("<%d unreadable item%s at %#x>", n, s, at))
				r.write(close)
				return
			}
			break
		}
		for j := 0; j < len(raw); j += setEntry {
			key, hash := le64(raw[j:]), int64(le64(raw[j+8:]))
			if key == 0 || hash == -1 {
				continue
			}
			if !r.room(shown) {
				full = true
				break
			}
			if shown > 0 {
				r.write(", ")
			}
			r.repr(key, depth+1)
			shown++
		}
	}
	r.more(int(used), shown)
	r.write(close)
}

// className is a class's name as Python's repr of it spells it: its
// tp_name for a type C defines ("int", "collections.OrderedDict"); for a
// class a class statement made, __module__ and its qualified name
// ("__main__.Outer.Job").
func (r *reprer) className(t uint64) (string, bool) {
	p := r.p
	name, err := p.typeNameOfType(t)
	if err != nil {
		return "", false
	}
	flags, err := p.r.u64(t + tpFlags)
	if err != nil || flags&flagHeapType == 0 {
		return name, true
	}
	if off := p.Layout.HeapTypeQualname; off > 0 {
		if q, err := p.r.u64(t + uint64(off)); err == nil {
			if s, err := p.str(q, maxNameLen); err == nil {
				name = s
			}
		}
	}
	d, err := p.r.u64(t + tpDict)
	if err != nil || d == 0 {
		return name, true
	}
	if m, ok := p.dictGet(d, "__module__"); ok {
		if s, err := p.str(m, maxNameLen); err == nil && s != "builtins" {
			return s + "." + name, true
		}
	}
	return name, true
}

// complexRepr is Python's repr of a complex: 2j, (1+2j), (-0-1.5j),
// (1+nanj). Its parts are written as floats are, without a ".0".
func complexRepr(re, im float64) string {
	part := func(f float64) string { return strings.TrimSuffix(formatFloat(f), ".0") }
	i := part(im)
	if re == 0 && !math.Signbit(re) {
		return i + "j"
	}
	if !strings.HasPrefix(i, "-") {
		i = "+" + i
	}
	return "(" + part(re) + i + "j)"
}
