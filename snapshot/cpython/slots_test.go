package cpython

import (
	"encoding/binary"
	"maps"
	"slices"
	"testing"
)

// memberDef is one PyMemberDef of a hand-written table.
type memberDef struct {
	name   string
	typ    uint32
	offset int64
}

// members writes a PyMemberDef table ended by a NULL name and returns its
// address.
func (h *heap) members(defs ...memberDef) uint64 {
	arr := h.alloc((len(defs) + 1) * memberDefSize)
	for i, d := range defs {
		e := arr + uint64(i*memberDefSize)
		h.put64(e, h.cstr(d.name))
		binary.LittleEndian.PutUint32(h.data[e+memberType-heapBase:], d.typ)
		h.put64(e+memberOffset, uint64(d.offset))
	}
	return arr
}

func TestSlotAttrs(t *testing.T) {
	h := newHeap()
	p := &Process{Target: heapTarget{h}, r: newReader(heapTarget{h}), members: map[uint64][]slotMember{}}
	// class Base: __slots__ = ("lock",); class Bus(Base): __slots__ = ("jobs", "spare")
	base := h.typ("Base", 0)
	h.put64(base+tpMembers, h.members(memberDef{name: "lock", typ: memberObjectEx, offset: 16}))
	bus := h.typ("Bus", base)
	h.put64(bus+tpBasicsize, 48)
	h.put64(bus+tpMembers, h.members(
		memberDef{name: "jobs", typ: memberObjectEx, offset: 24},
		memberDef{name: "spare", typ: memberObjectEx, offset: 32},
		memberDef{name: "count", typ: 1 /* Py_T_INT: not an object */, offset: 40},
		memberDef{name: "outside", typ: memberObject, offset: 48}, // past the instance
		memberDef{name: "header", typ: memberObject, offset: 8},   // ob_type
		memberDef{name: "lock", typ: memberObjectEx, offset: 40},  // the subclass's own comes first
	))
	o := h.obj(bus, 48)
	h.put64(o+16, 0x111) // lock, in Base's slot
	h.put64(o+24, 0x222) // jobs
	h.put64(o+40, 0x333) // what Bus names lock
	// spare (o+32) is unset: NULL
	// A base chain that loops on itself is read a bounded number of times.
	loop := h.typ("Loop", 0)
	h.put64(loop+tpBase, loop)
	h.put64(loop+tpBasicsize, 32)
	h.put64(loop+tpMembers, h.members(memberDef{name: "x", typ: memberObjectEx, offset: 16}))
	// A type whose size is absurd has none.
	huge := h.typ("Huge", 0)
	h.put64(huge+tpBasicsize, 1<<40)
	h.put64(huge+tpMembers, h.members(memberDef{name: "x", typ: memberObjectEx, offset: 16}))
	// The reader keeps the pages it read: the memory is written before.

	got := p.slotAttrs(o, bus, nil)
	want := map[string]uint64{"jobs": 0x222, "lock": 0x333}
	if !maps.Equal(got, want) {
		t.Errorf("slotAttrs = %#v, want %#v", got, want)
	}
	names := []string{}
	for _, m := range p.slotMembers(bus) {
		names = append(names, m.name)
	}
	if want := []string{"jobs", "spare", "lock"}; !slices.Equal(names, want) {
		t.Errorf("slotMembers names = %q, want %q", names, want)
	}

	if m := p.slotMembers(loop); len(m) != 1 {
		t.Errorf("slotMembers of a looping base chain = %v, want the one member once", m)
	}
	if m := p.slotMembers(huge); m != nil {
		t.Errorf("slotMembers with tp_basicsize 1<<40 = %v, want none", m)
	}
}
