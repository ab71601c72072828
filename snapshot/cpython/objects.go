package cpython

import (
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"
)

// Offsets shared by every supported version (PyObject, PyVarObject, PyTypeObject).
const (
	obType        = 8
	obSize        = 16
	tpName        = 24
	tpBasicsize   = 32
	tpFlags       = 168
	tpDict        = 264
	tpDictoffset  = 288
	floatValue    = 16
	complexReal   = 16 // PyComplexObject.cval
	complexImag   = 24
	bytesSval     = 32
	listItems     = 24
	moduleDict    = 16
	dictUsed      = 16
	dictKeys      = 32
	dictValues    = 40
	strLength     = 16
	strState      = 32
	maxNameLen    = 4096 // function, file and attribute names
	maxDictItems  = 1 << 16
	maxTypeName   = 256
	flagManaged11 = 1 << 4 // Py_TPFLAGS_MANAGED_DICT (3.11: MANAGED_DICT, 3.12+ too)
	flagInline13  = 1 << 2 // Py_TPFLAGS_INLINE_VALUES (3.13+)
)

var errNotStr = errors.New("not a str")

// typeOf returns the address of obj's type.
func (p *Process) typeOf(obj uint64) (uint64, error) { return p.r.u64(obj + obType) }

// typeName returns tp_name of obj's type ("int", "_thread.lock", "Condition").
func (p *Process) typeName(obj uint64) (string, error) {
	t, err := p.typeOf(obj)
	if err != nil {
		return "", err
	}
	return p.typeNameOfType(t)
}

func (p *Process) typeNameOfType(t uint64) (string, error) {
	e := &p.recentTypes[(t/16)%recentTypes]
	if e.addr == t && t != 0 {
		return e.name, nil
	}
	if n, ok := p.typeNames[t]; ok {
		e.addr, e.name = t, n
		return n, nil
	}
	np, err := p.r.u64(t + tpName)
	if err != nil {
		return "", fmt.Errorf("type at %#x: %w", t, err)
	}
	n, err := p.r.cstring(np, maxTypeName)
	if err != nil {
		return "", fmt.Errorf("type name at %#x: %w", np, err)
	}
	p.typeNames[t] = n
	e.addr, e.name = t, n
	return n, nil
}

// recentTypes is how many type names Process.recentTypes holds: a decode
// asks the type of every local, and the same few types recur.
const recentTypes = 64

// recentType is a type's name and its address (0: none).
type recentType struct {
	addr uint64
	name string
}

// str decodes a str object (compact strings; the legacy non-compact strings of
// ≤3.11 are never used for code and attribute names), at most max characters,
// with "…" appended when it was longer.
func (p *Process) str(obj uint64, max int) (string, error) {
	s, n, err := p.strTotal(obj, max)
	if err == nil && n > max {
		s += "…"
	}
	return s, err
}

// strTotal decodes at most max characters of a str object and returns them
// with the string's full length in characters.
func (p *Process) strTotal(obj uint64, max int) (string, int, error) {
	n, err := p.r.i64(obj + strLength)
	if err != nil {
		return "", 0, err
	}
	state, err := p.r.u32(obj + strState)
	if err != nil {
		return "", 0, err
	}
	kind := int(state >> 2 & 7)
	compact, ascii := state>>5&1 == 1, state>>6&1 == 1
	if n < 0 || !compact || (kind != 1 && kind != 2 && kind != 4) {
		return "", 0, fmt.Errorf("str at %#x (length %d, state %#x): %w", obj, n, state, errNotStr)
	}
	total := int(n)
	if max < 0 {
		max = 0
	}
	if n > int64(max) {
		n = int64(max)
	}
	if ascii {
		b, err := p.r.bytes(obj+uint64(p.Layout.StrASCIIData), int(n))
		if err != nil {
			return "", 0, err
		}
		if err := p.r.spend(int(n)); err != nil { // the string
			return "", 0, err
		}
		return string(b), total, nil
	}
	b, err := p.r.bytes(obj+uint64(p.Layout.StrCompactData), int(n)*kind)
	if err != nil {
		return "", 0, err
	}
	if err := p.r.spend(8 * int(n)); err != nil { // the runes and their UTF-8
		return "", 0, err
	}
	out := make([]byte, 0, int(n)*kind)
	for i := 0; i < int(n); i++ {
		var r rune
		switch kind {
		case 1:
			r = rune(b[i])
		case 2:
			r = rune(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		case 4:
			r = rune(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		}
		switch {
		case r >= 0xdc80 && r <= 0xdcff:
			// A byte that was not UTF-8, kept by the surrogateescape
			// error handler (os.fsdecode: a file or directory name):
			// the byte itself, so that the file opens and the text
			// output shows it as \xNN.
			out = append(out, byte(r-0xdc00))
		case !utf8.ValidRune(r):
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			out = utf8.AppendRune(out, r)
		}
	}
	return string(out), total, nil
}

// bytesObj decodes a bytes object (at most max bytes).
func (p *Process) bytesObj(obj uint64, max int) ([]byte, bool, error) {
	n, err := p.r.i64(obj + obSize)
	if err != nil {
		return nil, false, err
	}
	if n < 0 || n > maxBlob {
		return nil, false, fmt.Errorf("bytes at %#x: implausible size %d", obj, n)
	}
	cut := false
	if n > int64(max) {
		n, cut = int64(max), true
	}
	b, err := p.r.bytes(obj+bytesSval, int(n))
	return b, cut, err
}

// intObj decodes an int (bool is an int too).
func (p *Process) intObj(obj uint64) (*big.Int, error) {
	if v, ok, err := p.shortInt(obj); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return big.NewInt(v), nil
	}
	return p.longInt(obj)
}

// shortInt decodes an int of at most two 30-bit digits, the ints a
// snapshot meets (ids, counts, file descriptors) without building a big.Int;
// ok is false for a longer one.
func (p *Process) shortInt(obj uint64) (v int64, ok bool, err error) {
	var ndigits int64
	neg := false
	if p.Layout.IntNewLayout {
		tag, err := p.r.u64(obj + obSize)
		if err != nil {
			return 0, false, err
		}
		ndigits, neg = int64(tag>>3), tag&3 == 2
		if tag&3 == 1 {
			return 0, true, nil
		}
	} else {
		n, err := p.r.i64(obj + obSize)
		if err != nil {
			return 0, false, err
		}
		ndigits, neg = n, n < 0
		if neg {
			ndigits = -n
		}
	}
	if ndigits > 2 {
		return 0, false, nil
	}
	for i := ndigits - 1; i >= 0; i-- {
		d, err := p.r.u32(obj + 24 + 4*uint64(i))
		if err != nil {
			return 0, false, err
		}
		v = v<<30 | int64(d&(1<<30-1))
	}
	if neg {
		v = -v
	}
	return v, true, nil
}

// longInt decodes any int.
func (p *Process) longInt(obj uint64) (*big.Int, error) {
	var ndigits int64
	neg := false
	if p.Layout.IntNewLayout {
		tag, err := p.r.u64(obj + obSize)
		if err != nil {
			return nil, err
		}
		ndigits = int64(tag >> 3)
		switch tag & 3 {
		case 1:
			return new(big.Int), nil
		case 2:
			neg = true
		}
	} else {
		n, err := p.r.i64(obj + obSize)
		if err != nil {
			return nil, err
		}
		ndigits, neg = n, n < 0
		if neg {
			ndigits = -n
		}
	}
	if ndigits > 1000 {
		return nil, fmt.Errorf("int at %#x: %d digits is implausible", obj, ndigits)
	}
	raw, err := p.r.bytes(obj+24, int(ndigits)*4)
	if err != nil {
		return nil, err
	}
	v := new(big.Int)
	for i := int(ndigits) - 1; i >= 0; i-- {
		d := uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24
		v.Lsh(v, 30)
		v.Or(v, big.NewInt(int64(d&(1<<30-1))))
	}
	if neg {
		v.Neg(v)
	}
	return v, nil
}

// smallInt decodes an int that must fit in int64.
func (p *Process) smallInt(obj uint64) (int64, error) {
	if v, ok, err := p.shortInt(obj); err != nil || ok {
		return v, err
	}
	v, err := p.longInt(obj)
	if err != nil {
		return 0, err
	}
	if !v.IsInt64() {
		return 0, fmt.Errorf("int at %#x does not fit 64 bits", obj)
	}
	return v.Int64(), nil
}

// tupleItems returns the item pointers of a tuple (at most max).
func (p *Process) tupleItems(obj uint64, max int) ([]uint64, error) {
	n, err := p.r.i64(obj + obSize)
	if err != nil {
		return nil, err
	}
	return p.ptrArray(obj+uint64(p.Layout.TupleItems), n, max, obj)
}

// listItems returns the item pointers of a list (at most max).
func (p *Process) listItems(obj uint64, max int) ([]uint64, int64, error) {
	n, err := p.r.i64(obj + obSize)
	if err != nil {
		return nil, 0, err
	}
	items, err := p.r.u64(obj + listItems)
	if err != nil {
		return nil, 0, err
	}
	ptrs, err := p.ptrArray(items, n, max, obj)
	return ptrs, n, err
}

func (p *Process) ptrArray(at uint64, n int64, max int, obj uint64) ([]uint64, error) {
	if n < 0 || n > 1<<28 {
		return nil, fmt.Errorf("sequence at %#x: implausible size %d", obj, n)
	}
	if n > int64(max) {
		n = int64(max)
	}
	raw, err := p.r.view(at, int(n)*8)
	if err != nil {
		return nil, err
	}
	if err := p.r.spend(int(n) * costItem); err != nil {
		return nil, err
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = le64(raw[8*i:])
	}
	return out, nil
}

func le64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// dictItem is one key/value pair of a dict.
type dictItem struct{ Key, Value uint64 }

// dictItems returns up to max items of a dict, in storage order.
func (p *Process) dictItems(dict uint64, max int) ([]dictItem, error) {
	keys, err := p.r.u64(dict + dictKeys)
	if err != nil {
		return nil, err
	}
	values, err := p.r.u64(dict + dictValues)
	if err != nil {
		return nil, err
	}
	return p.keysItems(keys, values, max)
}

// keysItems walks a PyDictKeysObject; values, when not 0, is the split
// table's value array (PyDictValues).
func (p *Process) keysItems(keys, values uint64, max int) ([]dictItem, error) {
	var nentries int64
	var entries uint64
	entrySize := uint64(24)
	keyOff, valOff := uint64(8), uint64(16)
	if p.Layout.DictNew {
		hdr, err := p.r.bytes(keys, 32)
		if err != nil {
			return nil, fmt.Errorf("dict keys at %#x: %w", keys, err)
		}
		log2Index, kind := hdr[9], hdr[10]
		nentries = int64(le64(hdr[24:]))
		if log2Index > 40 {
			return nil, fmt.Errorf("dict keys at %#x: bad index size 2^%d", keys, log2Index)
		}
		entries = keys + 32 + 1<<log2Index
		if kind != 0 { // unicode or split: {key, value}
			entrySize, keyOff, valOff = 16, 0, 8
		}
	} else {
		hdr, err := p.r.bytes(keys, 40)
		if err != nil {
			return nil, fmt.Errorf("dict keys at %#x: %w", keys, err)
		}
		size := int64(le64(hdr[8:]))
		nentries = int64(le64(hdr[32:]))
		if size <= 0 || size > 1<<30 || size&(size-1) != 0 {
			return nil, fmt.Errorf("dict keys at %#x: bad size %d", keys, size)
		}
		ix := uint64(8)
		switch {
		case size <= 0xff:
			ix = 1
		case size <= 0xffff:
			ix = 2
		case size <= 0xffffffff:
			ix = 4
		}
		entries = keys + 40 + uint64(size)*ix
	}
	if nentries < 0 || nentries > maxDictItems*4 {
		return nil, fmt.Errorf("dict keys at %#x: implausible %d entries", keys, nentries)
	}
	raw, err := p.r.bytes(entries, int(nentries)*int(entrySize))
	if err != nil {
		return nil, fmt.Errorf("dict entries at %#x: %w", entries, err)
	}
	var vals []byte
	if values != 0 {
		if vals, err = p.r.bytes(values+uint64(p.Layout.ValuesHeader), int(nentries)*8); err != nil {
			return nil, fmt.Errorf("dict values at %#x: %w", values, err)
		}
	}
	var out []dictItem
	for i := int64(0); i < nentries && len(out) < max; i++ {
		if err := p.r.spend(costItem); err != nil {
			return out, err
		}
		e := raw[uint64(i)*entrySize:]
		k := le64(e[keyOff:])
		var v uint64
		if vals != nil {
			v = le64(vals[8*i:])
		} else {
			v = le64(e[valOff:])
		}
		if k != 0 && v != 0 {
			out = append(out, dictItem{k, v})
		}
	}
	return out, nil
}

// dictGetFirst is how many of a dict's first items dictGet looks at before
// it reads every key.
const dictGetFirst = 12

// dictGet looks up a str key by value (linear: dicts read here are small or
// looked up once).
func (p *Process) dictGet(dict uint64, key string) (uint64, bool) {
	// A key looked up is often among a dict's first: a module's __file__
	// comes fifth or so in a dict of hundreds of globals.
	first, err := p.dictItems(dict, dictGetFirst)
	if err != nil {
		return 0, false
	}
	for _, it := range first {
		if s, err := p.str(it.Key, len(key)+1); err == nil && s == key {
			return it.Value, true
		}
	}
	if len(first) < dictGetFirst {
		return 0, false // that was all of it
	}
	items, err := p.dictItems(dict, maxDictItems)
	if err != nil {
		return 0, false
	}
	// Every key is read until the one asked for: read ahead together, as
	// sys.modules's keys took 67 reads of their own (102 threads, 3.12).
	keys := make([]uint64, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	p.r.prefetch(keys, 0)
	for _, it := range items {
		if s, err := p.str(it.Key, len(key)+1); err == nil && s == key {
			return it.Value, true
		}
	}
	return 0, false
}

// instanceAttrs returns the attribute name → value pointers of a Python-level
// instance, wherever this version keeps its __dict__.
func (p *Process) instanceAttrs(obj uint64, max int) (map[string]uint64, error) {
	t, err := p.typeOf(obj)
	if err != nil {
		return nil, err
	}
	flags, err := p.r.u64(t + tpFlags)
	if err != nil {
		return nil, err
	}
	var dict, values uint64
	switch {
	case p.Layout.ManagedDict == 11 && flags&flagManaged11 != 0:
		values, _ = p.r.u64(obj - 32)
		dict, _ = p.r.u64(obj - 24)
	case p.Layout.ManagedDict == 12 && flags&flagManaged11 != 0:
		v, err := p.r.u64(obj - 24)
		if err != nil {
			return nil, err
		}
		if v&1 == 1 {
			values = v + 1
		} else {
			dict = v
		}
	case p.Layout.ManagedDict == 13 && flags&flagManaged11 != 0:
		dict, _ = p.r.u64(obj - 24)
		if dict == 0 && flags&flagInline13 != 0 {
			bs, err := p.r.i64(t + tpBasicsize)
			if err != nil || bs <= 0 || bs > 1<<16 {
				return nil, fmt.Errorf("type at %#x: bad tp_basicsize", t)
			}
			values = obj + uint64(bs)
		}
	default:
		off, err := p.r.i64(t + tpDictoffset)
		if err != nil {
			return nil, err
		}
		switch {
		case off == 0: // no __dict__: __slots__ alone, or a C type's fields
			if out := p.slotAttrs(obj, t, nil); out != nil {
				return out, nil
			}
			return nil, fmt.Errorf("object at %#x has no instance dict", obj)
		case off < 0 || off > 1<<16:
			return nil, fmt.Errorf("object at %#x has no instance dict", obj)
		}
		if dict, err = p.r.u64(obj + uint64(off)); err != nil {
			return nil, err
		}
	}
	var items []dictItem
	switch {
	case dict != 0:
		items, err = p.dictItems(dict, max)
	case values != 0:
		keys, kerr := p.r.u64(t + uint64(p.Layout.HeapTypeCachedKeys))
		if kerr != nil || keys == 0 {
			return nil, fmt.Errorf("type at %#x: no cached keys for inline values", t)
		}
		items, err = p.keysItems(keys, values, max)
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(items))
	for _, it := range items {
		if s, err := p.str(it.Key, maxNameLen); err == nil {
			out[s] = it.Value
		}
	}
	return p.slotAttrs(obj, t, out), nil
}

// typeModule returns __module__ of a heap type, "" when it has none.
func (p *Process) typeModule(t uint64) string {
	d, err := p.r.u64(t + tpDict)
	if err != nil || d == 0 {
		return ""
	}
	v, ok := p.dictGet(d, "__module__")
	if !ok {
		return ""
	}
	s, _ := p.str(v, maxNameLen)
	return s
}
