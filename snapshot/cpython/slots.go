package cpython

// The attributes a class declares in __slots__ (a dataclass with
// slots=True too) live in the instance at fixed offsets, not in a __dict__:
// each class lists its own in tp_members, an array of PyMemberDef
// {name, type, offset, flags, doc} ended by a NULL name, the same from 3.8
// to 3.14, and a subclass's instance keeps its bases' slots where they
// put them. The same table gives the object fields of a C type:
// functools.partial's func, args and keywords. Without them, a lock in
// self.lock of a slotted class had no name, and a queue held only by a
// partial was referred to by nobody.

const (
	tpMembers     = 240 // PyTypeObject.tp_members
	memberDefSize = 40  // sizeof(PyMemberDef)
	memberType    = 8   // PyMemberDef.type
	memberOffset  = 16  // PyMemberDef.offset
	// memberObject and memberObjectEx are the member types that hold an
	// object: Py_T_OBJECT (a C type's field) and Py_T_OBJECT_EX (a slot).
	memberObject   = 6
	memberObjectEx = 16
	// maxMembers bounds the members read of one type, maxMemberBases the
	// types of its base chain read (the type itself first).
	maxMembers     = 64
	maxMemberBases = 16
)

// slotMember is a member of a type that holds an object: its name and its
// offset in an instance.
type slotMember struct {
	name   string
	offset uint64
}

// slotMembers returns the object members of type t and of its bases, the
// type's own first, each name once; nil when there are none. They are
// cached by type: every instance of a class has the same.
func (p *Process) slotMembers(t uint64) []slotMember {
	if m, ok := p.members[t]; ok {
		return m
	}
	var out []slotMember
	size, err := p.r.i64(t + tpBasicsize)
	if err == nil && size > 0 && size <= 1<<16 {
		seen := map[string]bool{}
		for b, n := t, 0; b != 0 && n < maxMemberBases; n++ {
			out = p.membersOf(b, uint64(size), seen, out)
			if b, err = p.r.u64(b + tpBase); err != nil {
				break
			}
		}
	}
	p.members[t] = out
	return out
}

// membersOf appends to out the object members type b declares that lie
// inside an instance of size bytes, but the names already seen.
func (p *Process) membersOf(b, size uint64, seen map[string]bool, out []slotMember) []slotMember {
	arr, err := p.r.u64(b + tpMembers)
	if err != nil || arr == 0 {
		return out
	}
	for i := range uint64(maxMembers) {
		e := arr + i*memberDefSize
		name, err := p.r.u64(e)
		if err != nil || name == 0 {
			break
		}
		typ, err := p.r.i32(e + memberType)
		if err != nil || typ != memberObject && typ != memberObjectEx {
			continue
		}
		off, err := p.r.i64(e + memberOffset)
		// Past the object header, inside the instance: a hostile table
		// points nowhere else.
		if err != nil || off < 16 || uint64(off)+8 > size {
			continue
		}
		s, err := p.r.cstring(name, maxNameLen)
		if err != nil || s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, slotMember{name: s, offset: uint64(off)})
	}
	return out
}

// slotAttrs adds to attrs the members of obj's type t that are set, a slot
// before an item of the same name in obj's __dict__, as Python looks them
// up; attrs may be nil. It returns attrs.
func (p *Process) slotAttrs(obj, t uint64, attrs map[string]uint64) map[string]uint64 {
	for _, m := range p.slotMembers(t) {
		v, err := p.r.u64(obj + m.offset)
		if err != nil || v == 0 {
			continue // an unset slot
		}
		if attrs == nil {
			attrs = map[string]uint64{}
		}
		attrs[m.name] = v
	}
	return attrs
}
