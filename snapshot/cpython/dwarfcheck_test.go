package cpython

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"strings"
)

// dwarfTypes indexes the named types of one ELF file's DWARF, so that member
// offsets can be computed the way the compiler laid them out. Only the
// top-level entries of each compilation unit are visited: every type pyhang
// needs is declared at file scope, and skipping function bodies keeps loading
// libpython's 20 MB of .debug_info to a second or two.
type dwarfTypes struct {
	path    string
	data    *dwarf.Data
	structs map[string]dwarf.Offset // struct/union tag name → first complete definition
	typedef map[string]dwarf.Offset // typedef name → first typedef seen
	enums   map[string]int64        // enumerator name → value
	params  map[string][]string     // function name → its parameters' types (see paramFuncs)
}

// paramFuncs are the functions whose parameter types the checks read.
var paramFuncs = map[string]bool{"_PyEval_EvalFrameDefault": true}

// errNoType says a type name is absent from the DWARF (the module that defines
// it is not compiled into this file).
var errNoType = errors.New("type not in DWARF")

// loadDWARF reads path's DWARF. debug/elf and debug/dwarf can panic on
// malformed input; that becomes an error.
func loadDWARF(path string) (dt *dwarfTypes, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading DWARF of %s: panic: %v", path, r)
		}
	}()
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading ELF %s: %w", path, err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return nil, fmt.Errorf("reading DWARF of %s: %w", path, err)
	}
	dt = &dwarfTypes{
		path: path, data: d,
		structs: map[string]dwarf.Offset{}, typedef: map[string]dwarf.Offset{}, enums: map[string]int64{},
		params: map[string][]string{},
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("reading DWARF of %s: %w", path, err)
		}
		if e == nil {
			return dt, nil
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == dwarf.TagPartialUnit {
			continue // its children are the top-level entries
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		switch e.Tag {
		case dwarf.TagStructType, dwarf.TagUnionType:
			if decl, _ := e.Val(dwarf.AttrDeclaration).(bool); name != "" && !decl {
				if _, ok := dt.structs[name]; !ok {
					dt.structs[name] = e.Offset
				}
			}
		case dwarf.TagTypedef:
			if _, ok := dt.typedef[name]; name != "" && !ok {
				dt.typedef[name] = e.Offset
			}
		case dwarf.TagEnumerationType:
			if e.Children {
				if err := dt.readEnumerators(r); err != nil {
					return nil, err
				}
				continue
			}
		case dwarf.TagSubprogram:
			if _, done := dt.params[name]; paramFuncs[name] && e.Children && !done {
				if err := dt.readParams(r, name); err != nil {
					return nil, err
				}
				continue
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
}

// readEnumerators records the enumerators that follow an enumeration entry,
// up to the end of its children.
func (dt *dwarfTypes) readEnumerators(r *dwarf.Reader) error {
	for range 1 << 16 {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("reading DWARF of %s: %w", dt.path, err)
		}
		if e == nil || e.Tag == 0 {
			return nil
		}
		if e.Tag == dwarf.TagEnumerator {
			name, _ := e.Val(dwarf.AttrName).(string)
			if _, ok := dt.enums[name]; name != "" && !ok {
				switch v := e.Val(dwarf.AttrConstValue).(type) {
				case int64:
					dt.enums[name] = v
				case uint64:
					dt.enums[name] = int64(v)
				}
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	return fmt.Errorf("reading DWARF of %s: enumeration with more than 65536 entries", dt.path)
}

// readParams records the types of the formal parameters that follow a
// subprogram entry, up to the end of its children. An entry whose parameters
// carry no type (an out-of-line copy pointing at its abstract origin) records
// nothing.
func (dt *dwarfTypes) readParams(r *dwarf.Reader, fn string) error {
	var types []string
	for range 1 << 20 {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("reading DWARF of %s: %w", dt.path, err)
		}
		if e == nil || e.Tag == 0 {
			if len(types) > 0 {
				dt.params[fn] = types
			}
			return nil
		}
		if e.Tag == dwarf.TagFormalParameter {
			if off, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
				if t, err := dt.data.Type(off); err == nil {
					types = append(types, t.String())
				}
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	return fmt.Errorf("reading DWARF of %s: subprogram %s with too many children", dt.path, fn)
}

// lookup returns the complete struct or union named name (a tag name such as
// "_ts" or a typedef name such as "PyThreadState").
func (dt *dwarfTypes) lookup(name string) (*dwarf.StructType, error) {
	if off, ok := dt.structs[name]; ok {
		return dt.structAt(off, name)
	}
	if off, ok := dt.typedef[name]; ok {
		return dt.structAt(off, name)
	}
	return nil, fmt.Errorf("%s: %w", name, errNoType)
}

func (dt *dwarfTypes) structAt(off dwarf.Offset, name string) (st *dwarf.StructType, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("type %s at DWARF offset %#x: panic: %v", name, off, r)
		}
	}()
	t, err := dt.data.Type(off)
	if err != nil {
		return nil, fmt.Errorf("type %s at DWARF offset %#x: %w", name, off, err)
	}
	return dt.complete(t, name)
}

// complete strips typedefs and qualifiers down to a struct or union; a
// forward declaration (a typedef seen in a unit that only declares the
// struct) is replaced by the complete definition of the same tag.
func (dt *dwarfTypes) complete(t dwarf.Type, name string) (*dwarf.StructType, error) {
	t = strip(t)
	st, ok := t.(*dwarf.StructType)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a struct or union", name, t)
	}
	if !st.Incomplete {
		return st, nil
	}
	off, ok := dt.structs[st.StructName]
	if !ok || st.StructName == "" {
		return nil, fmt.Errorf("%s: only a declaration of struct %q: %w", name, st.StructName, errNoType)
	}
	t2, err := dt.data.Type(off)
	if err != nil {
		return nil, fmt.Errorf("struct %s at DWARF offset %#x: %w", st.StructName, off, err)
	}
	if st2, ok := strip(t2).(*dwarf.StructType); ok && !st2.Incomplete {
		return st2, nil
	}
	return nil, fmt.Errorf("%s: struct %q has no complete definition: %w", name, st.StructName, errNoType)
}

// strip removes typedefs and const/volatile/restrict qualifiers.
func strip(t dwarf.Type) dwarf.Type {
	for range 64 {
		switch tt := t.(type) {
		case *dwarf.TypedefType:
			t = tt.Type
		case *dwarf.QualType:
			t = tt.Type
		default:
			return t
		}
	}
	return t
}

// member is what DWARF says about one (possibly nested) member.
type member struct {
	Off  int64 // bytes from the start of the outer struct
	Size int64 // bytes (the storage unit for a bit-field)
	Bit  int64 // for a bit-field: bits from the start of the outer struct; else -1
	Bits int64 // bit-field width, 0 if not a bit-field
	Type string
}

// memberOf resolves a dotted path ("interpreters.head", "ceval.gil") from
// struct typ. Members of anonymous structs and unions are found through them,
// as C allows. The path "#size" is the struct's own size (sizeof).
func (dt *dwarfTypes) memberOf(typ, path string) (member, error) {
	st, err := dt.lookup(typ)
	if err != nil {
		return member{}, err
	}
	if path == sizeOf {
		return member{Size: st.ByteSize, Bit: -1, Type: typ}, nil
	}
	var off int64
	var f *dwarf.StructField
	for _, name := range strings.Split(path, ".") {
		if f != nil {
			if st, err = dt.complete(f.Type, typ+"."+path); err != nil {
				return member{}, err
			}
		}
		var rel int64
		f, rel = findField(st, name, 0)
		if f == nil {
			return member{}, fmt.Errorf("%s has no member %q (looking for %s.%s)", st, name, typ, path)
		}
		off += rel
	}
	m := member{Off: off, Size: f.Type.Size(), Bit: -1, Type: f.Type.String()}
	if f.BitSize > 0 {
		m.Bits = f.BitSize
		if f.ByteSize == 0 {
			// DWARF 4+: data_bit_offset counts from the start of the innermost
			// struct, in which f's ByteOffset (already in off) is 0.
			m.Bit = off*8 + f.DataBitOffset
			m.Off = m.Bit / 8
		} else {
			// DWARF 2/3: bit_offset counts from the most significant bit of
			// the storage unit at ByteOffset (little-endian target).
			m.Bit = off*8 + f.ByteSize*8 - f.BitOffset - f.BitSize
			m.Size = f.ByteSize
		}
	}
	return m, nil
}

// sizeOf as a member path asks for the struct's size.
const sizeOf = "#size"

// findField returns the member called name of st and its offset, looking
// inside anonymous struct and union members too (depth-limited).
func findField(st *dwarf.StructType, name string, depth int) (*dwarf.StructField, int64) {
	for _, f := range st.Field {
		if f.Name == name {
			return f, f.ByteOffset
		}
	}
	if depth > 8 {
		return nil, 0
	}
	for _, f := range st.Field {
		if f.Name != "" {
			continue
		}
		if inner, ok := strip(f.Type).(*dwarf.StructType); ok {
			if g, rel := findField(inner, name, depth+1); g != nil {
				return g, f.ByteOffset + rel
			}
		}
	}
	return nil, 0
}
