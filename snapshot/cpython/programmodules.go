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
	dict, err := p.r.u64(v + moduleDict)
	if err != nil || dict == 0 {
		return 0
	}
	f, ok := p.dictGet(dict, "__file__")
	if !ok {
		return 0 // built in, or a namespace package
	}
	path, err := p.str(f, maxPathLen)
	if err != nil || !p.programFile(path) {
		return 0
	}
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
// class statement in the module named mod (its __module__), and 0 for
// anything else: its attributes (Pipeline.jobs) are reached from anywhere
// in the program, as the module's globals are.
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
	if p.typeModule(v) != mod {
		return 0
	}
	d, err := p.r.u64(v + tpDict)
	if err != nil {
		return 0
	}
	return d
}
