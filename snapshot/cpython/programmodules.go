package cpython

import (
	"path/filepath"
	"strings"
)

// ProgramModule returns the dict of the module object v when the module is
// one of the program's own: loaded from a file outside the interpreter's
// standard library and outside site-packages and dist-packages. It returns
// 0 for anything else, and when the standard library's directory is not
// known. A frame's module that imports such a module (`import state`) can
// reach its globals (`state.shutdown`) as it reaches its own.
func (p *Process) ProgramModule(v uint64) uint64 {
	if n, err := p.typeName(v); err != nil || n != "module" {
		return 0
	}
	if d, ok := p.ownModuleDicts[v]; ok {
		return d // a module's __file__ is looked up in a dict of hundreds
	}
	dict, err := p.r.u64(v + moduleDict)
	if err != nil || dict == 0 {
		return 0
	}
	if f, ok := p.dictGet(dict, "__file__"); !ok || !p.ProgramFileOf(f) {
		dict = 0 // built in, a namespace package, or not the program's
	}
	if p.ownModuleDicts == nil {
		p.ownModuleDicts = map[uint64]uint64{}
	}
	p.ownModuleDicts[v] = dict
	return dict
}

// programFile says whether a module file is the program's own.
func (p *Process) programFile(path string) bool {
	if strings.Contains(path, "/site-packages/") || strings.Contains(path, "/dist-packages/") {
		return false
	}
	lib := p.stdlibDir()
	return lib != "" && !strings.HasPrefix(path, lib)
}

// stdlibDir is the directory of the standard library, with a trailing
// slash: the directory of the os module's file ("" when it is not known).
func (p *Process) stdlibDir() string {
	if !p.stdlibRead {
		p.stdlibRead = true
		if d, err := p.Module("os"); err == nil {
			if f, ok := p.dictGet(d, "__file__"); ok {
				if s, err := p.str(f, maxPathLen); err == nil && filepath.IsAbs(s) {
					p.stdlib = filepath.Dir(s) + "/"
				}
			}
		}
	}
	return p.stdlib
}

// flagTypeSubclass is Py_TPFLAGS_TYPE_SUBCLASS: the type's instances are
// types (type itself, and every metaclass).
const flagTypeSubclass = 1 << 31

// ClassDict returns the dict of the class v when v is a class made by a
// class statement in the module named mod (its __module__), or in another
// module of the program's own (imported from it), and 0 for anything else:
// its attributes (Pipeline.jobs) are reached from anywhere in the program,
// as the module's globals are.
func (p *Process) ClassDict(v uint64, mod string) uint64 {
	if mod == "" {
		return 0
	}
	meta, err := p.typeOf(v)
	if err != nil {
		return 0
	}
	if f, err := p.r.u64(meta + tpFlags); err != nil || f&flagTypeSubclass == 0 {
		return 0
	}
	if f, err := p.r.u64(v + tpFlags); err != nil || f&flagHeapType == 0 {
		return 0
	}
	if cm := p.typeModule(v); cm != mod && !p.programModuleNamed(cm) {
		return 0
	}
	d, err := p.r.u64(v + tpDict)
	if err != nil {
		return 0
	}
	return d
}

// programModuleNamed says whether the module of that name in sys.modules is
// one of the program's own (ProgramModule).
func (p *Process) programModuleNamed(name string) bool {
	if name == "" {
		return false
	}
	if own, ok := p.ownModules[name]; ok {
		return own
	}
	own := false
	if d, err := p.Module(name); err == nil {
		f, ok := p.dictGet(d, "__file__")
		own = ok && p.ProgramFileOf(f)
	}
	if p.ownModules == nil {
		p.ownModules = map[string]bool{}
	}
	p.ownModules[name] = own
	return own
}

// Container says which of dict, list and tuple v is, its type or a subclass
// of it (a namedtuple is a tuple), and "" for anything else.
func (p *Process) Container(v uint64) string {
	t, err := p.typeOf(v)
	if err != nil {
		return ""
	}
	f, err := p.r.u64(t + tpFlags)
	if err != nil {
		return ""
	}
	switch {
	case f&flagDictSubclass != 0:
		return "dict"
	case f&flagListSubclass != 0:
		return "list"
	case f&flagTupleSubclass != 0:
		return "tuple"
	}
	return ""
}

// The tp_flags that mark the subclasses of the built-in containers (and
// the containers themselves).
const (
	flagListSubclass  = 1 << 25
	flagTupleSubclass = 1 << 26
	flagDictSubclass  = 1 << 29
)

// Items returns up to max items of v, a list or a tuple (or a subclass of
// either) as Container says; nil for anything else.
func (p *Process) Items(v uint64, max int) []uint64 {
	var items []uint64
	var err error
	switch p.Container(v) {
	case "list":
		items, _, err = p.listItems(v, max)
	case "tuple":
		items, err = p.tupleItems(v, max)
	}
	if err != nil {
		return nil
	}
	return items
}

// Walkable says whether v may lead to objects of interest: a dict, a list
// or a tuple (or a subclass), a module, a class or an instance of one, a
// types.SimpleNamespace, a bound method (to its object), a
// functools.partial. Anything else (a number, a string, a function)
// leads nowhere a walk follows.
func (p *Process) Walkable(v uint64) bool {
	t, err := p.typeOf(v)
	if err != nil {
		return false
	}
	if w, ok := p.walkTypes[t]; ok {
		return w
	}
	f, err := p.r.u64(t + tpFlags)
	w := false
	if err == nil {
		if f&(flagDictSubclass|flagListSubclass|flagTupleSubclass|flagHeapType|flagTypeSubclass) != 0 {
			w = true
		} else if n, err := p.typeNameOfType(t); err == nil {
			w = n == "module" || n == "types.SimpleNamespace" || n == "method" || n == "functools.partial"
		}
	}
	p.walkTypes[t] = w
	return w
}

// ProgramFileOf says whether the str object v names a file of the program's
// own (a module's __file__): outside the standard library and outside
// site-packages and dist-packages.
func (p *Process) ProgramFileOf(v uint64) bool {
	path, ok := p.Str(v, maxPathLen)
	return ok && p.programFile(path)
}
